"""Bandwidth rules for isotropic kernels, scaled by the data's spread.

Every rule takes the (already scaled) data ``X`` and optional positive
``sample_weight`` and returns one bandwidth ``h`` in the units of ``X``. All of
them are scale-equivariant: ``rule(c * X) == c * rule(X)`` (scikit-learn's
'scott' and 'silverman' are not; scikit-learn issue #26658).

- :func:`scott_bandwidth`, :func:`silverman_bandwidth`: classical rules of thumb,
  ``h = s * n_eff^(-1/(d+4))`` (times ``((d+2)/4)^(-1/(d+4))`` for Silverman),
  ``s`` the root-mean-square per-feature standard deviation.
- :func:`nn_bandwidth`: ``h^2 = mean_i min_{j != i} |x_i - x_j|^2 / d``, which
  tracks the KL-optimal bandwidth in large dimension (condensed regime).
- :func:`gaussian_kl_bandwidth`: the leading-order KL-optimal bandwidth of
  Biroli & Mezard for Gaussian data with the data's per-feature variances.
- :func:`loo_bandwidth`: maximises the exact leave-one-out log-likelihood over a
  grid of bandwidths, all evaluated in one pass over the pairwise distances
  (:func:`loo_log_likelihood`); a grid of doubling chains (:func:`chain_grid`)
  needs one exponential per pair instead of one per bandwidth.
- :func:`auto_bandwidth` (the default of :class:`~densest.kde.KernelDensity`):
  ``max(nn, silverman)``, right in both limits: Silverman's rule is near-optimal
  in low dimension and undersmooths in high dimension, where the nearest-neighbour
  rule is near-optimal.

For more than ``max_queries`` points, the nearest-neighbour and leave-one-out
rules average over a subset of ``max_queries`` query points (against all points as
reference), chosen by a hash of the rows, so the result does not depend on the
row order.
"""

import math
import warnings

import numpy as np
from sklearn.utils import check_array

from densest.kde._engine import (
    log_kernel_norm,
    log_sum_exp_chains,
    log_sum_exp_terms,
    nearest_sq_distances,
    one_blas_thread,
    row_chunks,
)
from densest.kde.regimes import gaussian_regimes
from densest.utils._numeric import check_magnitude, column_means
from densest.utils.validation import check_n_samples

MAX_QUERIES = 2000
SCALE_HINT = "the KDE of c X is that of X with log-densities shifted by -d log c"
# Bandwidths (in the units of the scaled data) beyond these make h^2 or 1 / (2 h^2)
# leave the float64 range.
MIN_BANDWIDTH, MAX_BANDWIDTH = 1e-150, 1e150


def check_bandwidths(bandwidths, name="bandwidths"):
    """Bandwidths as a float64 array, or a clear ValueError.

    Parameters
    ----------
    bandwidths : float or array-like
        Bandwidths in the units of the (scaled) data.
    name : str, default="bandwidths"
        Their name in the message.

    Returns
    -------
    bandwidths : ndarray of shape (k,)
        Positive, finite and within [MIN_BANDWIDTH, MAX_BANDWIDTH], where ``h^2``
        and ``1 / (2 h^2)`` stay in the float64 range.

    Examples
    --------
    >>> check_bandwidths([0.5, 2])
    array([0.5, 2. ])
    >>> check_bandwidths(1e-300)
    Traceback (most recent call last):
    ...
    ValueError: bandwidths must lie in [1e-150, 1e+150] ...
    """
    values = np.asarray(bandwidths, dtype=np.float64).ravel()
    if values.size == 0:
        raise ValueError(f"{name} must not be empty.")
    if not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"{name} must be positive finite, got {bandwidths!r}.")
    if np.any(values < MIN_BANDWIDTH) or np.any(values > MAX_BANDWIDTH):
        raise ValueError(
            f"{name} must lie in [{MIN_BANDWIDTH:.0e}, {MAX_BANDWIDTH:.0e}] in the units of the "
            f"scaled data, where h^2 and 1 / (2 h^2) stay in the float64 range; got "
            f"{bandwidths!r}. Choose another bandwidth or rescale the data ({SCALE_HINT})."
        )
    return values


def _weights(X, sample_weight):
    """The weights as float64, checked (one finite positive value per row of X) and
    divided by the largest: no rule depends on their scale, and sums of weights
    near the ends of the float64 range would overflow or underflow."""
    if sample_weight is None:
        return np.ones(X.shape[0])
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.shape != (X.shape[0],):
        raise ValueError(f"sample_weight must have shape ({X.shape[0]},), got {w.shape}.")
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError("sample_weight must be finite and positive.")
    return w / w.max()


def _check(X, sample_weight):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {X.shape}.")
    if X.shape[0] < 2:
        raise ValueError(
            f"A bandwidth rule needs at least 2 samples, got {X.shape[0]} sample(s)."
        )
    # as scikit-learn reads X: booleans and object arrays of numbers as floats, complex
    # or non-numeric values refused
    X = check_array(X, dtype=[np.float64, np.float32], ensure_all_finite=False, input_name="X")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite: it contains NaN or infinity.")
    check_magnitude(X, "X (centred)", SCALE_HINT, centred=True)
    return X, _weights(X, sample_weight)


def effective_n(sample_weight):
    """Kish's effective sample size (sum w)^2 / sum w^2.

    Parameters
    ----------
    sample_weight : ndarray of shape (n,)
        Positive weights.

    Returns
    -------
    n_eff : float
        Equal to n for equal weights.

    Examples
    --------
    >>> effective_n(np.ones(5))
    5.0
    """
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim != 1 or not np.all(np.isfinite(w) & (w >= 0)) or not np.any(w > 0):
        raise ValueError("sample_weight must be a 1-D array of finite non-negative weights, one positive.")
    w = w / w.max()  # scale-free; unscaled, the squares of tiny or huge weights leave the float64 range
    return float(w.sum() ** 2 / np.dot(w, w))


def feature_variances(X, sample_weight=None):
    """Weighted per-feature variances (unbiased for equal weights).

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Data.
    sample_weight : ndarray of shape (n,), optional
        Positive weights.

    Returns
    -------
    variances : ndarray of shape (d,)
        Variance of each feature.

    Examples
    --------
    >>> feature_variances(np.array([[0.0], [2.0]]))
    array([2.])
    """
    X, w = _check(X, sample_weight)
    w = w / w.sum()
    with one_blas_thread():  # no BLAS threads left spinning beside the engine's
        mean = w @ X
        centred = np.asarray(X, dtype=np.float64) - mean
        return w @ (centred * centred) / (1.0 - np.dot(w, w))


def _spread(X, w):
    spread = math.sqrt(float(np.mean(feature_variances(X, w))))
    if spread == 0.0:
        raise ValueError("All samples are identical: the data have no spread to scale a bandwidth.")
    return spread


def scott_bandwidth(X, sample_weight=None):
    """Scott's rule ``s * n_eff^(-1/(d+4))``, ``s`` the RMS feature standard deviation.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Data.
    sample_weight : array-like of shape (n,), optional
        Positive weights; ``n_eff`` is Kish's effective sample size.

    Returns
    -------
    h : float
        The bandwidth.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((1000, 2))
    >>> round(scott_bandwidth(X), 2)
    0.32
    """
    X, w = _check(X, sample_weight)
    d = X.shape[1]
    return _spread(X, w) * effective_n(w) ** (-1.0 / (d + 4))


def silverman_bandwidth(X, sample_weight=None):
    """Silverman's rule ``s * (n_eff (d+2) / 4)^(-1/(d+4))``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Data.
    sample_weight : array-like of shape (n,), optional
        Positive weights.

    Returns
    -------
    h : float
        The bandwidth.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((1000, 2))
    >>> round(silverman_bandwidth(X), 2)
    0.32
    """
    X, w = _check(X, sample_weight)
    d = X.shape[1]
    return _spread(X, w) * (effective_n(w) * (d + 2) / 4.0) ** (-1.0 / (d + 4))


def query_subset(X, max_queries=MAX_QUERIES):
    """Indices of at most ``max_queries`` rows, chosen by a hash of their values.

    The choice depends on the rows' values, not their order, so rules that use it
    are invariant to permutations of the data.

    Parameters
    ----------
    X : ndarray of shape (n, d)
        Data.
    max_queries : int
        Largest subset size.

    Returns
    -------
    index : ndarray of int64
        Sorted row indices; all rows when ``n <= max_queries``.

    Examples
    --------
    >>> query_subset(np.zeros((5, 2)), max_queries=10)
    array([0, 1, 2, 3, 4])
    """
    max_queries = check_n_samples(max_queries, "max_queries")
    n, d = X.shape
    if n <= max_queries:
        return np.arange(n, dtype=np.int64)
    direction = np.random.default_rng(20241008).standard_normal(d)
    with one_blas_thread():  # no BLAS threads left spinning beside the engine's
        projection = np.asarray(X, dtype=np.float64) @ direction
    key = np.modf(np.abs(projection) * 1e6)[0]
    return np.sort(np.argsort(key, kind="stable")[:max_queries]).astype(np.int64)


def _prepare(X):
    X = np.asarray(X, dtype=np.float64)
    Y = np.ascontiguousarray(X - column_means(X))
    ysq = np.einsum("ij,ij->i", Y, Y, dtype=np.float64)
    return Y, ysq


def nn_bandwidth(X, sample_weight=None, *, max_queries=MAX_QUERIES, n_jobs=None):
    """Nearest-neighbour rule: ``h^2 = mean_i min_{j != i} |x_i - x_j|^2 / d``.

    In large dimension the KL-optimal bandwidth of a Gaussian KDE equals the
    typical nearest-neighbour distance over sqrt(d) (Biroli & Mezard's condensed
    regime); in simulation this rule came within 0.0005 nats/dim of the optimum
    for alpha = log(n)/d <= 0.2. It undersmooths in low dimension. Exact
    duplicates are ignored when looking for the nearest neighbour.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Data.
    sample_weight : array-like of shape (n,), optional
        Positive weights for the mean over query points.
    max_queries : int, default=2000
        Number of query points averaged over (see the module docstring).
    n_jobs : int or None
        Numba threads.

    Returns
    -------
    h : float
        The bandwidth.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((2000, 100))
    >>> round(nn_bandwidth(X), 2)
    1.12
    """
    X, w = _check(X, sample_weight)
    Y, ysq = _prepare(X)
    index = query_subset(Y, max_queries)
    d2 = nearest_sq_distances(np.ascontiguousarray(Y[index]), Y, ysq, self_index=index,
                              n_jobs=n_jobs)  # fmt: skip
    finite = np.isfinite(d2)
    if not finite.any():
        raise ValueError("All samples are identical: the nearest-neighbour rule is undefined.")
    return math.sqrt(np.average(d2[finite], weights=w[index][finite]) / X.shape[1])


def auto_bandwidth(X, sample_weight=None, *, max_queries=MAX_QUERIES, n_jobs=None):
    """Default rule: ``max(nn_bandwidth, silverman_bandwidth)``.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Data.
    sample_weight : array-like of shape (n,), optional
        Positive weights.
    max_queries : int, default=2000
        Passed to :func:`nn_bandwidth`.
    n_jobs : int or None
        Numba threads.

    Returns
    -------
    h : float
        The bandwidth.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((500, 2))
    >>> auto_bandwidth(X) == silverman_bandwidth(X)
    True
    """
    return max(
        nn_bandwidth(X, sample_weight, max_queries=max_queries, n_jobs=n_jobs),
        silverman_bandwidth(X, sample_weight),
    )


def gaussian_kl_bandwidth(X, sample_weight=None):
    """Biroli-Mezard KL-optimal bandwidth for Gaussian data with X's variances.

    Leading order in large dimension; in low dimension (large log(n)/d) it tends to
    n^(-1/d) and undersmooths, so use it for d of several tens or more.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Data (approximately Gaussian).
    sample_weight : array-like of shape (n,), optional
        Positive weights.

    Returns
    -------
    h : float
        The bandwidth.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((5000, 64))
    >>> round(gaussian_kl_bandwidth(X), 2)
    0.99
    """
    X, w = _check(X, sample_weight)
    return gaussian_regimes(effective_n(w), feature_variances(X, w)).h_opt


# Each squaring doubles a term's relative rounding error, so chains stay short.
MAX_CHAIN_LEVELS = 10
# Chain members may differ from exact doubling by this relative amount (a few ulps
# of the h -> c round trip); the error in a log-density is then below 1e-12.
_CHAIN_RTOL = 4e-15


def chain_grid(h_max, n_grid=30, n_chains=3):
    """Decreasing bandwidths made of doubling chains in c = 1 / (2 h^2).

    With q chains, ``c = c_top (q + b) / q * 2^l`` for b < q and l < n_grid / q,
    where ``c_top = 1 / (2 h_max^2)``. Every c is twice another one (or starts a
    chain), and the chains' starts are the powers q, ..., 2q - 1 of one term
    ``exp(-c_top |x - y|^2 / q)``, so :func:`loo_log_likelihood` evaluates the
    whole grid with one exponential per pair, by multiplications and squarings.
    For three chains, consecutive bandwidths differ by the factors 1.155, 1.118 and
    1.095 in turn (2^(1/6) = 1.122 on average), and 30 values span a factor 29.2.

    Parameters
    ----------
    h_max : float
        Largest bandwidth.
    n_grid : int, default=30
        Number of values, a multiple of ``n_chains`` with at most 10 per chain.
    n_chains : int, default=3
        Number of chains.

    Returns
    -------
    grid : ndarray of shape (n_grid,)
        Bandwidths, decreasing from ``h_max``.

    Examples
    --------
    >>> grid = chain_grid(1.0, n_grid=6, n_chains=2)
    >>> np.round(grid, 3)
    array([1.   , 0.816, 0.707, 0.577, 0.5  , 0.408])
    """
    check_bandwidths(h_max, "h_max")
    if int(n_chains) != n_chains or n_chains < 1 or int(n_grid) != n_grid or n_grid < 1:
        raise ValueError(f"n_grid and n_chains must be positive integers, got {n_grid!r}, {n_chains!r}.")
    if n_grid % n_chains or n_grid // n_chains > MAX_CHAIN_LEVELS:
        raise ValueError(f"n_grid={n_grid} must be a multiple of n_chains={n_chains} "
                         f"with at most {MAX_CHAIN_LEVELS} values per chain.")  # fmt: skip
    starts = (n_chains + np.arange(n_chains)) / n_chains
    levels = 2.0 ** np.arange(n_grid // n_chains)
    c = 0.5 / h_max**2 * (levels[:, None] * starts[None, :]).ravel()
    return 1.0 / np.sqrt(2.0 * c)


def _as_chains(bandwidths):
    """(c_bases, n_levels, order) if the grid is a set of doubling chains, else None.

    ``order[b, l]`` is the position in ``bandwidths`` of ``c_bases[b] * 2^l``.
    """
    c = 0.5 / bandwidths**2
    order = np.argsort(c, kind="stable")
    c_sorted = c[order]
    n_chains = int(np.sum(c_sorted < 2.0 * c_sorted[0] * (1.0 - _CHAIN_RTOL)))
    if len(c) % n_chains or len(c) // n_chains > MAX_CHAIN_LEVELS:
        return None
    table = c_sorted.reshape(-1, n_chains).T  # table[b, l]
    bases = table[:, :1]
    expected = bases * 2.0 ** np.arange(table.shape[1])
    if not np.allclose(table, expected, rtol=_CHAIN_RTOL, atol=0.0):
        return None
    return np.ascontiguousarray(bases[:, 0]), table.shape[1], order.reshape(-1, n_chains).T


def _held_out_log_sums(Y, ysq, logw, index, bandwidths, kernel, n_jobs):
    """log sum_{j != i} w_j K_h(y_i - y_j) for each i in index and h in bandwidths."""
    Q = np.ascontiguousarray(Y[index])
    chains = _as_chains(bandwidths) if kernel == "gaussian" else None
    if chains is not None and np.ptp(logw) <= 100.0:
        c_bases, n_levels, order = chains
        log_sums = log_sum_exp_chains(Q, Y, ysq, logw, c_bases, n_levels, self_index=index,
                                      n_jobs=n_jobs)  # fmt: skip
        lse = np.empty((len(index), len(bandwidths)))
        lse[:, order.ravel()] = log_sums.reshape(len(index), -1)
        return lse
    M, S, _ = log_sum_exp_terms(Q, Y, ysq, logw, bandwidths, kernel, self_index=index, n_jobs=n_jobs)
    with np.errstate(divide="ignore"):
        return M + np.log(S)


def loo_log_likelihood(X, bandwidths, sample_weight=None, *, kernel="gaussian",
                       max_queries=MAX_QUERIES, n_jobs=None, progress=False):  # fmt: skip
    """Exact mean leave-one-out log-likelihood for each bandwidth, in one pass.

    The pairwise distances are computed once; only the exponential sweep is
    repeated per bandwidth, or, for a Gaussian grid of doubling chains
    (:func:`chain_grid`) and weights within a factor e^100 of each other, done
    once, the other values following by multiplications and squarings (other
    doubling chains: one exponential per chain). Each held-out point is left
    out of its own density exactly (its term is skipped, not subtracted).

    Parameters
    ----------
    X : array-like of shape (n, d)
        Data.
    bandwidths : array-like of shape (k,)
        Positive bandwidths.
    sample_weight : array-like of shape (n,), optional
        Positive weights (of the kernel centres and of the held-out points).
    kernel : str, default="gaussian"
        Kernel name.
    max_queries : int, default=2000
        Number of held-out points (see the module docstring).
    n_jobs : int or None
        Numba threads.
    progress : bool, default=False
        Show a tqdm progress bar over the held-out points (needs ``densest[progress]``).

    Returns
    -------
    loglik : ndarray of shape (k,)
        Weighted mean over held-out points of log p_{-i}(x_i); -inf where a compact
        kernel leaves a point with no neighbour.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((300, 2))
    >>> ll = loo_log_likelihood(X, [0.05, 0.4, 3.0])
    >>> int(np.argmax(ll))
    1
    """
    X, w = _check(X, sample_weight)
    bandwidths = check_bandwidths(bandwidths)
    Y, ysq = _prepare(X)
    index = query_subset(Y, max_queries)
    logw = np.log(w)
    lse = np.empty((len(index), len(bandwidths)))
    for rows in row_chunks(len(index), progress, "LOO"):
        lse[rows] = _held_out_log_sums(Y, ysq, logw, index[rows], bandwidths, kernel, n_jobs)
    # Weighted means of log p_{-i} = lse - log(rest of the weights) - log(norm), each
    # term averaged on its own (no (m, k) temporaries): -inf stays -inf.
    wq = w[index] / w[index].sum()
    log_rest = np.log(w.sum() - w[index])
    return wq @ lse - wq @ log_rest - log_kernel_norm(kernel, X.shape[1], bandwidths)


def loo_bandwidth(X, sample_weight=None, *, kernel="gaussian", n_grid=30, max_queries=MAX_QUERIES,
                  n_jobs=None, progress=False):  # fmt: skip
    """Bandwidth maximising the exact leave-one-out log-likelihood.

    A :func:`chain_grid` of ``n_grid`` values (steps of 10-15 %, spanning a
    factor 29.2) starts at four times the larger of the nearest-neighbour and Silverman
    rules; while the best value sits at an end, the grid moves that way (at most
    four times). It also moves up while a compact kernel leaves some held-out point
    without a neighbour (likelihood -inf) at every value. A
    parabola in log h through the best value and its neighbours refines it, and
    the better of the vertex and the best grid value is returned.

    Parameters
    ----------
    X : array-like of shape (n, d)
        Data.
    sample_weight : array-like of shape (n,), optional
        Positive weights.
    kernel : str, default="gaussian"
        Kernel name.
    n_grid : int, default=30
        Grid size, a multiple of 3 up to 30.
    max_queries : int, default=2000
        Number of held-out points.
    n_jobs : int or None
        Numba threads.
    progress : bool, default=False
        Show a tqdm progress bar for each grid (needs ``densest[progress]``).

    Returns
    -------
    h : float
        The bandwidth.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((500, 2))
    >>> 0.1 < loo_bandwidth(X) < 1.0
    True
    """
    X, w = _check(X, sample_weight)
    h_nn = nn_bandwidth(X, w, max_queries=max_queries, n_jobs=n_jobs)
    h_top = 4.0 * max(h_nn, silverman_bandwidth(X, w))

    def loglik(hs):
        return loo_log_likelihood(X, hs, w, kernel=kernel, max_queries=max_queries, n_jobs=n_jobs,
                                  progress=progress)  # fmt: skip

    for _ in range(_MAX_GRID_MOVES):
        grid = chain_grid(h_top, n_grid)
        ll = loglik(grid)
        best = int(np.argmax(ll))
        if best == len(grid) - 1:
            h_top = grid[-1]
        elif best == 0:  # also when a compact kernel isolates a point at every h of the grid
            h_top = grid[0] ** 2 / grid[-1]
        else:
            break
    if not np.isfinite(ll[best]):
        raise ValueError("The leave-one-out likelihood is -inf for every bandwidth tried.")
    if best in (0, len(grid) - 1):
        end, why = ("smallest", "repeated points make it grow without bound as h -> 0") if best else \
            ("largest", "is the data's scale extreme?")
        warnings.warn(f"The leave-one-out likelihood still rises at the {end} bandwidth of the last of "
                      f"{_MAX_GRID_MOVES} grids, {grid[best]:.3g}: it has no maximum there ({why}).",
                      UserWarning, stacklevel=2)  # fmt: skip
        return float(grid[best])
    if not np.all(np.isfinite(ll[best - 1:best + 2])):
        return float(grid[best])
    vertex = _parabola_vertex(np.log(grid[best - 1:best + 2]), ll[best - 1:best + 2])
    h_vertex = math.exp(vertex)
    return float(h_vertex) if loglik([h_vertex])[0] > ll[best] else float(grid[best])


_MAX_GRID_MOVES = 4


def _parabola_vertex(x, y):
    """Abscissa of the vertex of the parabola through three points (x[1] maximal)."""
    d1, d2 = x[0] - x[1], x[2] - x[1]
    f1, f2 = y[0] - y[1], y[2] - y[1]
    denom = d1 * f2 - d2 * f1
    if denom == 0.0:
        return x[1]
    offset = 0.5 * (d1 * d1 * f2 - d2 * d2 * f1) / denom
    return x[1] + min(max(offset, min(d1, d2)), max(d1, d2))


RULES = {
    "auto": auto_bandwidth,
    "nn": nn_bandwidth,
    "scott": scott_bandwidth,
    "silverman": silverman_bandwidth,
    "gauss-kl": gaussian_kl_bandwidth,
    "loo": loo_bandwidth,
}
