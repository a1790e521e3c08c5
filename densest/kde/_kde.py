"""The KernelDensity estimator."""

import math
from numbers import Integral, Real

import numpy as np
from scipy import linalg, special
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight

from densest.base import DensityMixin
from densest.kde import bandwidth as bw
from densest.kde._engine import (
    KERNELS,
    float64_if_needed,
    log_kernel_norm,
    log_sum_exp_terms,
    one_blas_thread,
    reference_tiles,
    row_chunks,
)
from densest.kde.regimes import gaussian_regimes
from densest.utils._numeric import check_magnitude
from densest.utils.validation import (
    Interval,
    StrOptions,
    check_is_fitted,
    check_n_samples,
    fit_context,
    validate_data,
)


# Rows used for the centre: a median of more would cost O(n d) more for nothing, since
# centring only has to keep the points' norms near their spread.
CENTRE_ROWS = 10_000


def _centre(X):
    """Per-feature median of up to CENTRE_ROWS evenly spaced rows of X, in float64."""
    step = -(-X.shape[0] // CENTRE_ROWS)
    return np.median(X[::step], axis=0).astype(np.float64)


class KernelDensity(DensityMixin, BaseEstimator):
    """Exact kernel density estimation that stays fast and finite in high dimension.

    Log-densities are computed exactly in log space by a blocked engine (one GEMM
    per tile, in float64 from densest's own register-blocked kernel (up to
    d = 2048 with AVX-512, up to d = 24 with AVX2), else from BLAS; then a fused,
    vectorised exponential and streaming log-sum-exp pass, in Numba, written in
    AVX-512 instructions where the CPU has them), so they stay
    finite where the density underflows (d in the hundreds or thousands) and memory
    stays bounded by the tiles. Up to d = 8 the points are visited in k-d tree
    order: a reference tile whose largest possible term is below e^-40 of every
    query's sum so far is skipped, so tight bandwidths and clustered data cost far
    less than all pairs, and each skip changes a log-density by less than 4e-18.
    There distances come from explicit differences, except that with AVX-512 tile
    products the Gaussian kernel on float64 points takes the GEMM from d = 3 on
    (1.1-1.5x faster at d = 3-8). Above d = 8 the distances come from the GEMM,
    ``|q|^2 + |y|^2 - 2 q.y``, except wherever that identity's rounding (about
    ``sqrt(d) u (|q|^2 + |y|^2)``, times ``1 / (2 h^2)`` in a log-density:
    bandwidths small beside the data's scale) could move a float64 log-density by
    1e-10: there explicit differences are used as well (1.3-3.4x slower at
    d = 16-256 with AVX-512, 1.2-2x with AVX2), for the pairs with a point far from
    the centre only (heavy tails keep the GEMM for the bulk). The other kernels'
    log K is steep next to the edge of their support (and, for the exponential and
    linear kernels, next to 0): the rare pairs whose GEMM distance lies there are
    recomputed from explicit differences.
    See ``dtype`` for float32.

    Parameters
    ----------
    bandwidth : float, {"auto", "nn", "scott", "silverman", "gauss-kl", "loo"} or callable, \
default="auto"
        Kernel bandwidth in the units of the scaled data (see ``scale``). A rule
        name selects a function of :mod:`densest.kde.bandwidth`; a callable is
        called as ``bandwidth(X_scaled, sample_weight)`` and returns a positive
        float. "auto" is ``max(nn, silverman)``, near the KL-optimal bandwidth in
        low and in high dimension.
    kernel : {"gaussian", "tophat", "epanechnikov", "exponential", "linear", \
"cosine"}, default="gaussian"
        Kernel shape, normalised in d dimensions (same kernels as scikit-learn).
    scale : {"none", "standardize", "whiten"}, default="none"
        Transformation applied before the isotropic kernel: none; each feature
        divided by its standard deviation; or full whitening by the data's
        covariance (then the kernel covariance is ``bandwidth_**2`` times the data
        covariance, as in :class:`scipy.stats.gaussian_kde`). The Jacobian is
        included, so densities are in the units of ``X``.
    dtype : {"float64", "float32"}, default="float64"
        Precision of the stored points and of the GEMM. "float32" halves memory
        and, where float32 products are accurate enough, roughly halves GEMM
        time; norms and all accumulation stay float64. Products in float32 put
        errors of up to about ``sqrt(d) 6e-8 (max|q|^2 + max|y|^2) / (2 h^2)`` into
        a log-density (above d = 8); where twice that exceeds 2e-4 only for the
        pairs with one of a few far points (heavy tails), those pairs take
        explicit differences, and where it does for more (small bandwidths, d in
        the hundreds) a call takes float64 copies of the points and float64
        products instead, as do the non-Gaussian kernels above d = 8 (next to
        their support's edge float32 products would leave too many pairs to
        recompute), so log-densities stay within 1e-4
        (``benchmarks/kde_accuracy.py``, ``benchmarks/kde_tails.py``).
    block_size : "auto" or int, default="auto"
        Query rows per tile (the reference tile is four times longer); memory per
        thread is O(block_size^2 + block_size * d). Results do not depend on it
        beyond rounding.
    n_jobs : int, default=None
        Numba threads; ``None`` means 1 unless in a ``joblib.parallel_config``
        context, -1 means all CPUs.
    progress : bool, default=False
        Show a tqdm progress bar while scoring and while ``bandwidth="loo"``
        cross-validates (needs ``densest[progress]``).

    Attributes
    ----------
    bandwidth_ : float
        The bandwidth used, in the units of the scaled data.
    kernel_covariance_ : ndarray of shape (n_features, n_features)
        Covariance-shaped kernel matrix in the units of ``X``: ``bandwidth_**2``
        times the inverse of ``scaling_ @ scaling_.T``.
    location_ : ndarray of shape (n_features,)
        Subtracted before scaling (numerical centring only): the per-feature
        median of up to ``CENTRE_ROWS`` rows, evenly spaced. Unlike a mean, a few
        points far out on one side do not move it away from the bulk, whose
        distances then stay on the GEMM path.
    scaling_ : ndarray of shape (n_features, n_features)
        Linear map applied to centred data: ``Z = (X - location_) @ scaling_``.
    log_det_scaling_ : float
        Log of the absolute determinant of ``scaling_``, the Jacobian term.
    reference_ : ndarray of shape (n_points, n_features)
        The scaled kernel centres (rows with zero weight are dropped).
    weights_ : ndarray of shape (n_points,)
        Their weights, divided by the largest (only ratios of weights matter).
    n_effective_ : float
        Kish's effective sample size of the weights.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features,)
        Feature names, when ``X`` has string column names.

    See Also
    --------
    sklearn.neighbors.KernelDensity : Tree-based KDE; inexact at d >= 16.
    scipy.stats.gaussian_kde : Exact, single-threaded Gaussian KDE.

    Notes
    -----
    ``score`` returns the **mean** log-likelihood per sample (scikit-learn's
    KernelDensity returns the sum). Compact kernels (tophat, epanechnikov,
    linear, cosine) give -inf where no centre lies within one bandwidth: the
    density is exactly zero there.

    Examples
    --------
    >>> import numpy as np
    >>> from densest.kde import KernelDensity
    >>> X = np.random.default_rng(0).standard_normal((500, 300))
    >>> kde = KernelDensity().fit(X)
    >>> logp = kde.score_samples(X[:3] + 1.0)
    >>> bool(np.all(np.isfinite(logp)))
    True
    """

    _parameter_constraints = {
        "bandwidth": [Interval(Real, 0, None, closed="neither"), StrOptions(set(bw.RULES)), callable],
        "kernel": [StrOptions(set(KERNELS))],
        "scale": [StrOptions({"none", "standardize", "whiten"})],
        "dtype": [StrOptions({"float64", "float32"})],
        "block_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "progress": ["boolean"],
    }

    def __init__(self, *, bandwidth="auto", kernel="gaussian", scale="none", dtype="float64",
                 block_size="auto", n_jobs=None, progress=False):  # fmt: skip
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.scale = scale
        self.dtype = dtype
        self.block_size = block_size
        self.n_jobs = n_jobs
        self.progress = progress

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Store the kernel centres and choose the bandwidth.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a row with zero weight is dropped, a positive
            integer weight equals repeating the row.

        Returns
        -------
        self : KernelDensity
            The fitted estimator.
        """
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C")
        w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not np.any(w > 0):
            raise ValueError("sample_weight must contain at least one positive weight.")
        keep = w > 0
        X, w = X[keep], w[keep] / w.max()
        check_magnitude(X, "X (centred)", bw.SCALE_HINT, centred=True)
        self.location_ = _centre(X)
        self.scaling_, self.log_det_scaling_ = self._scaling(X, w)
        Z = self._standardised(X)
        self.bandwidth_ = self._select_bandwidth(Z, w)
        self.reference_ = np.ascontiguousarray(Z, dtype=self.dtype)
        self._ref_sq = np.einsum("ij,ij->i", self.reference_, self.reference_, dtype=np.float64)
        self.weights_ = w
        self._log_weights = np.log(w)
        # arranged once here, not at every call (progress chunks, dask blocks)
        self._tiles = reference_tiles(self.reference_, self._ref_sq, self._log_weights,
                                      self.block_size)  # fmt: skip
        with one_blas_thread():  # as in _standardised: fit is often followed by scoring
            self.n_effective_ = bw.effective_n(w)
            inv = linalg.inv(self.scaling_)
            with np.errstate(over="ignore"):
                self.kernel_covariance_ = (self.bandwidth_ * inv.T) @ (self.bandwidth_ * inv)
        if not np.all(np.isfinite(self.kernel_covariance_)):
            raise ValueError(
                f"bandwidth_ = {self.bandwidth_:.3g} is too large for data on this scale: the "
                "kernel covariance overflows float64."
            )
        return self

    def _scaling(self, X, w):
        d = X.shape[1]
        if self.scale == "none":
            return np.eye(d), 0.0
        if X.shape[0] < 2:
            raise ValueError(f"scale={self.scale!r} needs at least 2 samples, got 1 sample.")
        if self.scale == "standardize":
            std = np.sqrt(bw.feature_variances(X, w))
            constant = np.ptp(X, axis=0) == 0
            if np.any(constant):
                bad = np.flatnonzero(constant).tolist()
                raise ValueError(
                    f"scale='standardize': feature(s) {bad} are constant; drop them or use "
                    "scale='none'."
                )
            return np.diag(1.0 / std), -float(np.sum(np.log(std)))
        cov = np.atleast_2d(np.cov(X, rowvar=False, aweights=w))
        std = np.sqrt(np.diag(cov))
        corr_eigs = np.linalg.eigvalsh(cov / np.outer(std, std)) if np.all(std > 0) else [0.0]
        if np.min(corr_eigs) <= 1e-10 * d:
            raise ValueError(
                "scale='whiten': the data covariance is singular (the data lie in a "
                "lower-dimensional subspace or n_samples <= n_features); use "
                "scale='standardize' or 'none'."
            )
        chol = linalg.cholesky(cov, lower=True)
        inv_chol = linalg.solve_triangular(chol, np.eye(d), lower=True)
        return inv_chol.T, -float(np.sum(np.log(np.diag(chol))))

    def _select_bandwidth(self, Z, w):
        if isinstance(self.bandwidth, str):
            rule = bw.RULES[self.bandwidth]
            kwargs = {"n_jobs": self.n_jobs} if self.bandwidth in ("auto", "nn", "loo") else {}
            if self.bandwidth == "loo":
                kwargs.update(kernel=self.kernel, progress=self.progress)
            h = rule(Z, w, **kwargs)
        elif callable(self.bandwidth):
            h = self.bandwidth(Z, w)
        else:
            h = self.bandwidth
        if not isinstance(h, Real):
            raise ValueError(f"The bandwidth must be a positive finite number, got {h!r}.")
        return float(bw.check_bandwidths(h, "The bandwidth")[0])

    def _transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], order="C", reset=False)
        return np.ascontiguousarray(self._standardised(X), dtype=self.dtype)

    def _standardised(self, X):
        """(X - location_) @ scaling_, with no BLAS call for diagonal scalings and a
        one-thread one for whitening: threads that a multi-threaded BLAS call leaves
        spinning slow the parallel engine that runs next (25 % at d = 16, m = 2048)."""
        Z = X - self.location_
        diagonal = np.diagonal(self.scaling_)
        if np.array_equal(self.scaling_, np.diag(diagonal)):
            return Z * diagonal
        with one_blas_thread():
            return Z @ self.scaling_

    def _lse(self, Z, bandwidths, want_s2=False):
        c_max = 0.5 / float(np.min(bandwidths)) ** 2
        qsq = np.einsum("ij,ij->i", Z, Z, dtype=np.float64)
        Z, tiles = float64_if_needed(Z, self._tiles.for_one_call(), self.kernel, c_max, qsq)
        kwargs = {"n_jobs": self.n_jobs, "block_size": self.block_size, "want_s2": want_s2,
                  "tiles": tiles}  # fmt: skip
        args = (self.reference_, self._ref_sq, self._log_weights, bandwidths, self.kernel)
        parts = [log_sum_exp_terms(Z[rows], *args, **kwargs) for rows in row_chunks(len(Z), self.progress, "KDE")]
        return parts[0] if len(parts) == 1 else tuple(np.concatenate(p) for p in zip(*parts))

    def score_samples(self, X):
        """Log-density of each row of X, exact in log space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points to evaluate.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            float64 log-densities; finite wherever the true density is positive.
        """
        Z = self._transform(X)
        M, S, _ = self._lse(Z, np.array([self.bandwidth_]))
        with np.errstate(divide="ignore"):
            log_s = np.log(S[:, 0])
        return M[:, 0] + log_s - self._log_norm()

    def _log_norm(self):
        d = self.n_features_in_
        return (math.log(self.weights_.sum()) + log_kernel_norm(self.kernel, d, self.bandwidth_)
                - self.log_det_scaling_)  # fmt: skip

    def sample(self, n_samples=1, random_state=None):
        """Draw samples from the fitted density.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples.
        random_state : int, RandomState instance or None, default=None
            Seed or generator for reproducible draws.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples, in the units of the training data.
        """
        check_is_fitted(self)
        n_samples = check_n_samples(n_samples)
        rng = check_random_state(random_state)
        centres = rng.choice(len(self.weights_), size=n_samples, p=self.weights_ / self.weights_.sum())
        d = self.n_features_in_
        Z = self.reference_[centres].astype(np.float64) + self.bandwidth_ * _kernel_noise(
            self.kernel, n_samples, d, rng
        )
        return Z @ linalg.inv(self.scaling_) + self.location_

    def diagnose(self, X):
        """Report which regime the bandwidth is in, measured on query points X.

        The effective number of contributing centres of each query is the inverse
        participation ratio of its kernel weights, ``(sum w)^2 / sum w^2``. Below
        the condensation bandwidth h_G only O(1) centres contribute (the KDE
        behaves as a nearest-neighbour estimator); in the heavy-tailed regime
        (h_G < h < h_CLT = sqrt(2) h_G) fluctuations are non-Gaussian; above
        h_CLT the density is a self-averaging sum. The thresholds are computed for
        a Gaussian reference with the training data's per-feature variances
        (Biroli & Mezard), and h_G is also estimated from the measured ratio.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query points, e.g. held-out data.

        Returns
        -------
        report : dict
            ``alpha`` (log n_eff / d), ``bandwidth``, ``h_g``, ``h_clt``, ``h_opt``
            (Gaussian reference), ``regime`` (from the Gaussian reference),
            ``n_effective_median``, ``n_effective_quantiles`` (10/50/90 %),
            ``participation_ratio_mean`` (mean of 1/N_eff), ``h_g_measured``
            (``h / sqrt(1 - mean 1/N_eff)``, valid in the condensed phase only)
            and ``regime_measured``: "condensed" when the mean inverse
            participation ratio is at least 1/2 (a few centres carry each
            density), else "spread".

        Examples
        --------
        >>> import numpy as np
        >>> X = np.random.default_rng(0).standard_normal((2000, 64))
        >>> report = KernelDensity(bandwidth="scott").fit(X).diagnose(X[:100] + 0.01)
        >>> report["regime"]
        'condensed'
        """
        if self.kernel != "gaussian":
            raise ValueError("diagnose() is defined for the Gaussian kernel only.")
        Z = self._transform(X)
        if not self.n_effective_ > 1:
            raise ValueError("diagnose() compares with a Gaussian reference law fitted to the training data, "
                             f"which needs more than one effective training point; n_effective_ = "
                             f"{self.n_effective_:.3g}.")  # fmt: skip
        _, S, S2 = self._lse(Z, np.array([self.bandwidth_]), want_s2=True)
        n_eff = S[:, 0] ** 2 / S2[:, 0]
        ipr = float(np.mean(1.0 / n_eff))
        h = self.bandwidth_
        reference = gaussian_regimes(self.n_effective_, bw.feature_variances(self.reference_, self.weights_))
        h_g_measured = h / math.sqrt(1.0 - ipr) if ipr < 1.0 else math.inf
        measured = "condensed" if ipr >= 0.5 else "spread"
        return {
            "alpha": reference.alpha,
            "bandwidth": h,
            "h_g": reference.h_g,
            "h_clt": reference.h_clt,
            "h_opt": reference.h_opt,
            "regime": reference.regime(h),
            "n_effective_median": float(np.median(n_eff)),
            "n_effective_quantiles": tuple(float(q) for q in np.quantile(n_eff, [0.1, 0.5, 0.9])),
            "participation_ratio_mean": ipr,
            "h_g_measured": h_g_measured,
            "regime_measured": measured,
        }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


def _kernel_noise(kernel, n, d, rng):
    """Draws from the kernel with unit bandwidth (radial law times a uniform direction)."""
    if kernel == "gaussian":
        return rng.standard_normal((n, d))
    direction = rng.standard_normal((n, d))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    return direction * _radius(kernel, n, d, rng)[:, None]


def _radius(kernel, n, d, rng):
    # Radial density proportional to k(r) r^(d-1) on the kernel's support.
    if kernel == "tophat":
        return rng.beta(d, 1, size=n)
    if kernel == "exponential":
        return rng.gamma(d, 1.0, size=n)
    if kernel == "linear":
        return rng.beta(d, 2, size=n)
    if kernel == "epanechnikov":
        return np.sqrt(rng.beta(0.5 * d, 2, size=n))
    # cosine: rejection from r^(d-1) with acceptance cos(pi r / 2)
    out = np.empty(0)
    accept_rate = max(math.exp(special.gammaln(d + 1) - special.gammaln(d + 2)), 1e-3)
    while out.size < n:
        r = rng.beta(d, 1, size=int(2 * (n - out.size) / accept_rate) + 16)
        out = np.concatenate([out, r[rng.uniform(size=r.size) < np.cos(0.5 * np.pi * r)]])
    return out[:n]
