"""ScoreAutoEncoder: a regularised auto-encoder as a score estimator (Alain & Bengio 2014)."""

import math
from numbers import Integral, Real

import numpy as np
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if

from densest.base import DensityMixin
from densest.score import _nets, _samplers
from densest.utils import import_optional
from densest.utils._numeric import feature_std
from densest.utils._torch import cpu_state, progress_bar, resolve_device
from densest.utils.validation import (
    Interval,
    StrOptions,
    TorchDevice,
    check_is_fitted,
    check_n_samples,
    fit_context,
    validate_data,
)

# Largest dimension for the exact Jacobian (RCAE loss, Hessian) and for normalising the energy.
MAX_EXACT_JACOBIAN, MAX_GRID, MAX_IMPORTANCE = 8, 3, 12
GRID_POINTS = {1: 4001, 2: 301, 3: 81}
N_IMPORTANCE = 2**16
CHUNK = 65536
DEFAULT_STEP = {"mh": 0.25, "mala": 0.15, "langevin": 0.05}


def _is_energy(estimator):
    return estimator.parameterization == "energy"


class ScoreAutoEncoder(DensityMixin, BaseEstimator):
    """Score (gradient of the log-density) estimated by a regularised auto-encoder.

    The reconstruction is ``r(x) = x + sigma^2 s(x)`` with ``s`` a neural
    network, trained by the denoising criterion ``E ||r(x + sigma e) - x||^2``
    (``criterion="dae"``; denoising score matching) or the
    reconstruction-contractive criterion ``E ||r(x) - x||^2 + sigma^2
    ||dr/dx||_F^2`` (``"rcae"``). Alain & Bengio showed that the optimum has
    ``(r(x) - x) / sigma^2 -> grad log p(x)`` and ``(dr/dx - I) / sigma^2 ->
    Hessian of log p`` as sigma -> 0; for the DAE, exactly for every sigma,
    ``r*(x) = x + sigma^2 grad log p_sigma(x)`` with ``p_sigma`` the data
    density smoothed by N(0, sigma^2 I) (Tweedie). So what is estimated is
    **the score of the smoothed density**: a small sigma has little smoothing
    bias but a noisier regression, a large sigma the reverse.

    Inputs are standardised per feature; ``sigma`` is relative to that scale
    (the noise in original units is ``sigma * scale_``) and every output is in
    original units.

    Parameters
    ----------
    sigma : float, default=0.1
        Noise level relative to each feature's standard deviation.
    criterion : {"dae", "rcae"}, default="dae"
        Denoising, or reconstruction-contractive with the Jacobian penalty
        computed exactly for d <= 8 and by Hutchinson's estimator above.
    parameterization : {"residual", "energy"}, default="residual"
        "residual": s is an MLP with d outputs. "energy": s = -grad E with E
        a scalar MLP: a conservative field, which gives an (approximate)
        ``score_samples`` and exact energy differences in ``sample``.
    hidden_layer_sizes : tuple of int, default=(64, 64)
        Hidden layers (SiLU).
    max_iter : int, default=3000
        Adam steps (one mini-batch each, fresh noise every step).
    batch_size : int, default=512
        Rows per step, drawn with replacement.
    learning_rate : float, default=1e-2
        Peak learning rate, annealed by a cosine to 0.
    device : str or torch.device, default="auto"
        Torch device; "auto" is CUDA when available, else the CPU.
    random_state : int, RandomState or None, default=None
        Seed of the initial weights, mini-batches, noise and sampling.
    verbose : bool, default=False
        Show a progress bar (tqdm when installed).

    Attributes
    ----------
    mean_, scale_ : ndarray of shape (n_features,)
        Standardisation of the inputs.
    network_ : torch.nn.Module
        The trained network (on the CPU after pickling).
    loss_curve_ : list of float
        Training loss per step (scaled by 1 / sigma^4).
    log_normalizer_ : float
        Energy parameterisation with d <= 12: log of the integral of
        exp(-E) over standardised space (grid quadrature for d <= 3, else
        importance sampling).
    log_normalizer_se_ : float
        Its standard error (0 for the grid).
    device_ : torch.device
        Device of the fit.
    n_features_in_ : int
        Number of features.

    Examples
    --------
    >>> import numpy as np
    >>> from densest.score import ScoreAutoEncoder
    >>> X = np.random.default_rng(0).standard_normal((2000, 2))
    >>> sae = ScoreAutoEncoder(max_iter=300, device="cpu", random_state=0).fit(X)
    >>> s = sae.score_function(np.array([[1.0, 0.0]]))  # about -x / (1 + sigma^2)
    >>> bool(abs(s[0, 0] + 1.0) < 0.25 and abs(s[0, 1]) < 0.25)
    True
    """

    _parameter_constraints = {
        "sigma": [Interval(Real, 0, None, closed="neither")],
        "criterion": [StrOptions({"dae", "rcae"})],
        "parameterization": [StrOptions({"residual", "energy"})],
        "hidden_layer_sizes": ["array-like"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "device": [str, TorchDevice()],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(self, sigma=0.1, *, criterion="dae", parameterization="residual", hidden_layer_sizes=(64, 64),
                 max_iter=3000, batch_size=512, learning_rate=1e-2, device="auto", random_state=None,
                 verbose=False):  # fmt: skip
        self.sigma = sigma
        self.criterion = criterion
        self.parameterization = parameterization
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Standardise X and train the auto-encoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (at least 2 rows, no constant column).
        y : None
            Ignored.

        Returns
        -------
        self : ScoreAutoEncoder
        """
        torch = import_optional("torch", "deep")
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        hidden = tuple(int(h) for h in np.atleast_1d(self.hidden_layer_sizes))
        if not hidden or min(hidden) < 1:
            raise ValueError(f"hidden_layer_sizes must be positive integers; got {self.hidden_layer_sizes!r}.")
        self.mean_ = X.mean(axis=0, dtype=np.float64)
        self.scale_ = feature_std(X)
        if not (self.scale_ > 0).all():
            raise ValueError(f"Feature(s) {np.flatnonzero(~(self.scale_ > 0)).tolist()} of X are constant; "
                             "the score of a degenerate density is not defined.")  # fmt: skip
        self.device_ = resolve_device(torch, self.device)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        d = X.shape[1]
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            n_out = 1 if _is_energy(self) else d
            self.network_ = _nets.make_zero_output_mlp(torch, d, hidden, n_out).to(self.device_)
        z = torch.as_tensor((X - self.mean_) / self.scale_, dtype=torch.float32, device=self.device_)
        progress = progress_bar() if self.verbose else None
        self.loss_curve_ = _nets.train(
            torch, self._net(), z, sigma=float(self.sigma), criterion=self.criterion,
            exact_jacobian=d <= MAX_EXACT_JACOBIAN, max_iter=self.max_iter, batch_size=self.batch_size,
            learning_rate=float(self.learning_rate), seed=seed, progress=progress,
        )  # fmt: skip
        if not np.isfinite(self.loss_curve_).all():
            raise ValueError("Training diverged (non-finite loss): lower learning_rate or raise sigma.")
        if _is_energy(self) and d <= MAX_IMPORTANCE:
            self.log_normalizer_, self.log_normalizer_se_ = self._log_normalizer(torch, z, seed)
        return self

    def _net(self):
        return _nets.ScoreNet(self.network_, _is_energy(self), float(self.sigma))

    def _standardised(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return (X - self.mean_) / self.scale_

    def _apply(self, func, Z, width):
        """func on chunks of standardised rows (float32 on the device), float64 numpy out."""
        import torch

        out = np.empty((len(Z), width))
        for start in range(0, len(Z), CHUNK):
            chunk = torch.as_tensor(Z[start : start + CHUNK], dtype=torch.float32, device=self.device_)
            with torch.no_grad():
                out[start : start + CHUNK] = func(chunk).reshape(len(chunk), width).double().cpu().numpy()
        bad = ~np.isfinite(out).all(axis=1)
        if bad.any():
            raise ValueError(
                f"The network gives NaN or infinity at {int(bad.sum())} row(s), whose standardised values reach "
                f"{np.abs(Z[bad]).max():.3g}: too far from the training data for its float32 arithmetic."
            )
        return out

    def score_function(self, X):
        """Estimated gradient of the log-density of p_sigma, in original units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        score : ndarray of shape (n_samples, n_features)
            ``(r(x) - x) / (sigma^2 scale^2)`` per feature.
        """
        Z = self._standardised(X)
        return self._apply(self._net().score, Z, Z.shape[1]) / self.scale_

    def reconstruct(self, X):
        """The auto-encoder's reconstruction r(x), in original units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        r : ndarray of shape (n_samples, n_features)
        """
        Z = self._standardised(X)
        s = self._apply(self._net().score, Z, Z.shape[1])
        return self.mean_ + self.scale_ * (Z + self.sigma**2 * s)

    def hessian_log_density(self, X):
        """Estimated Hessian of log p_sigma, ``(dr/dx - I) / sigma^2`` in original units.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points (d at most 8: the Jacobian takes d backward passes).

        Returns
        -------
        hessian : ndarray of shape (n_samples, n_features, n_features)
        """
        Z = self._standardised(X)
        d = Z.shape[1]
        if d > MAX_EXACT_JACOBIAN:
            raise ValueError(f"hessian_log_density computes the full Jacobian; it is limited to "
                             f"{MAX_EXACT_JACOBIAN} features, X has {d}.")  # fmt: skip
        import torch

        net = self._net()
        H = self._apply(lambda z: _nets.jacobian(torch, net, z), Z, d * d).reshape(-1, d, d)
        return H / np.outer(self.scale_, self.scale_)

    @available_if(_is_energy)
    def score_samples(self, X):
        """Approximate log-density of p_sigma (energy parameterisation, d <= 12).

        ``log p(x) = -E(z) - log Z - sum(log scale_)`` with the normaliser Z
        computed at fit time (see ``log_normalizer_``). Approximate: E is a
        learned energy and Z a quadrature or importance-sampling estimate.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        Z = self._standardised(X)
        if not hasattr(self, "log_normalizer_"):
            raise ValueError(f"score_samples normalises the energy by quadrature or importance sampling, "
                             f"which is not reliable beyond {MAX_IMPORTANCE} features; X has {Z.shape[1]}.")  # fmt: skip
        energy = self._apply(self._net().energy_of, Z, 1)[:, 0]
        return -energy - self.log_normalizer_ - np.log(self.scale_).sum()

    @available_if(_is_energy)
    def score(self, X, y=None):
        """Mean approximate log-density of X (energy parameterisation).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.
        y : None
            Ignored.

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def _log_normalizer(self, torch, z, seed):
        """log of the integral of exp(-E) over standardised space, and its standard error."""
        net, d = self._net(), z.shape[1]
        low, high = z.min(dim=0).values.double().cpu().numpy(), z.max(dim=0).values.double().cpu().numpy()
        pad = np.maximum(4.0 * self.sigma, 0.25 * (high - low))
        if d <= MAX_GRID:
            axes = [np.linspace(a - p, b + p, GRID_POINTS[d]) for a, b, p in zip(low, high, pad)]
            grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, d)
            log_cell = sum(np.log(ax[1] - ax[0]) for ax in axes)
            values = -self._apply(net.energy_of, grid, 1)[:, 0]
            return float(logsumexp(values) + log_cell), 0.0
        rng = np.random.default_rng(seed)
        cov = np.cov(z.double().cpu().numpy(), rowvar=False) * 1.5**2 + self.sigma**2 * np.eye(d)
        chol = np.linalg.cholesky(cov)
        draws = rng.standard_normal((N_IMPORTANCE, d))
        points = draws @ chol.T
        log_q = -0.5 * (draws**2).sum(axis=1) - np.log(np.diag(chol)).sum() - 0.5 * d * math.log(2 * math.pi)
        log_w = -self._apply(net.energy_of, points, 1)[:, 0] - log_q
        log_mean = logsumexp(log_w) - math.log(N_IMPORTANCE)
        ratio = np.exp(log_w - log_mean)
        return float(log_mean), float(ratio.std() / math.sqrt(N_IMPORTANCE))

    def sample(self, n_samples=1, *, method="mh", n_steps=1000, step_size=None, n_path=5, init=None,
               random_state=None, return_acceptance=False):  # fmt: skip
        """Draw from p_sigma by MCMC on the learned score.

        Chains start at ``init``, or at N(0, I) in standardised space (the
        training data's mean and spread), and run ``n_steps`` steps in
        standardised space. "mh" is Alain & Bengio's
        Metropolis-Hastings with a random-walk proposal and the energy
        difference integrated along the straight path from the score (exact
        with the energy parameterisation); "mala" adds the score drift and its
        MH correction; "langevin" is the unadjusted Langevin chain.

        Parameters
        ----------
        n_samples : int, default=1
            Number of chains (one sample each).
        method : {"mh", "mala", "langevin"}, default="mh"
            The chain.
        n_steps : int, default=1000
            Steps per chain.
        step_size : float or None, default=None
            Proposal scale in standardised units; None: 0.25 (mh), 0.15
            (mala), 0.05 (langevin).
        n_path : int, default=5
            Points of the path integral (mh and mala, residual
            parameterisation).
        init : array-like of shape (n_samples, n_features) or None, default=None
            Starting points in original units, one per chain.
        random_state : int, RandomState or None, default=None
            Seed of the chains.
        return_acceptance : bool, default=False
            Also return the acceptance rate.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Samples in original units.
        acceptance : float
            Only with ``return_acceptance``.
        """
        check_is_fitted(self)
        n_samples = check_n_samples(n_samples)
        if method not in _samplers.METHODS:
            raise ValueError(f"method must be one of {_samplers.METHODS}; got {method!r}.")
        if isinstance(n_steps, bool) or not isinstance(n_steps, Integral) or n_steps < 0:
            raise ValueError(f"n_steps must be a non-negative integer; got {n_steps!r}.")
        step = DEFAULT_STEP[method] if step_size is None else float(step_size)
        if not step > 0:
            raise ValueError(f"step_size must be positive; got {step_size!r}.")
        import torch

        seed = int(check_random_state(random_state).randint(2**31 - 1))
        generator = torch.Generator(device=self.device_).manual_seed(seed)
        if init is None:
            start = torch.randn((n_samples, len(self.mean_)), generator=generator, device=self.device_)
        else:
            init = validate_data(self, init, dtype=[np.float64, np.float32], reset=False)
            if len(init) != n_samples:
                raise ValueError(f"init has {len(init)} rows but n_samples={n_samples}; give one start per chain.")
            start = torch.as_tensor((init - self.mean_) / self.scale_, dtype=torch.float32, device=self.device_)
        net = self._net()
        with torch.no_grad():
            z, acceptance = _samplers.run_chain(
                torch, net.score, start, method=method, n_steps=int(n_steps), step_size=step,
                generator=generator, energy=net.energy_of if _is_energy(self) else None, n_path=int(n_path),
            )  # fmt: skip
        X = self.mean_ + self.scale_ * z.double().cpu().numpy()
        if not np.isfinite(X).all():
            hint = " or method='mala' (corrected by Metropolis-Hastings)" if method == "langevin" else ""
            raise ValueError(f"The {method!r} chains diverged (non-finite samples): use a smaller "
                             f"step_size{hint}.")  # fmt: skip
        return (X, acceptance) if return_acceptance else X

    def __getstate__(self):
        return cpu_state(self.__dict__, "network_")
