"""Exact autoregression without a lag matrix: structured Gram, solvers, Yule-Walker, Burg.

Functions here take validated float64 series (NaN marks missing values) and
return plain arrays; the estimators validate and wrap them.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg, signal

from densest.ar import _kernels


@dataclass
class CrossProducts:
    """Sufficient statistics of the conditional least-squares AR(p) problem.

    Over the sample rows t (every window z[t-p .. t] free of NaN), with lag
    columns x_t = (z[t-1], ..., z[t-p]): ``gram`` = sum x x', ``xy`` = sum x z[t],
    ``yy`` = sum z[t]^2, ``x_sum`` = sum x, ``y_sum`` = sum z[t], ``n_obs``.
    """

    gram: np.ndarray
    xy: np.ndarray
    yy: float
    x_sum: np.ndarray
    y_sum: float
    n_obs: int
    segments: list


def finite_segments(z, order):
    """(start, stop) of each maximal NaN-free run long enough for one window."""
    finite = np.isfinite(z)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
    runs = edges.reshape(-1, 2)
    return [(int(a), int(b)) for a, b in runs if b - a >= order + 1]


def cross_products(z, order, hold_back=None):
    """Lag-matrix-free cross products of an AR(order) regression on series z.

    Parameters
    ----------
    z : ndarray of shape (n,)
        Series, NaN for missing values; windows containing a NaN are dropped.
    order : int
        Number of lags p.
    hold_back : int, optional
        Number of initial observations of each segment not used as targets
        (default p; statsmodels' ``hold_back``, at least p).

    Returns
    -------
    CrossProducts
    """
    hold_back = order if hold_back is None else max(int(hold_back), order)
    gram = np.zeros((order, order))
    xy = np.zeros(order)
    x_sum = np.zeros(order)
    yy = y_sum = 0.0
    n_obs = 0
    segments = []
    row = np.empty(order)
    dots = np.empty(order + 1)
    part = np.empty((order, order))
    for start, stop in finite_segments(z, order):
        lo = start + hold_back
        if lo >= stop:
            continue
        seg = np.ascontiguousarray(z[start:stop])
        lo_s, n_s = lo - start, stop - start
        if order:
            _kernels.lagged_dots(seg, seg, lo_s - 1, n_s - 1, row)
            part[0] = row
            _kernels.fill_lag_gram(seg, lo_s - 1, n_s - 2, part)
            gram += part
        _kernels.lagged_dots(seg, seg, lo_s, n_s, dots)
        xy += dots[1:]
        yy += dots[0]
        csum = np.concatenate([[0.0], np.cumsum(seg)])
        lags = np.arange(1, order + 1)
        x_sum += csum[n_s - lags] - csum[lo_s - lags]
        y_sum += csum[n_s] - csum[lo_s]
        n_obs += n_s - lo_s
        segments.append((start, stop, lo))
    return CrossProducts(gram, xy, yy, x_sum, y_sum, n_obs, segments)


def embedding_cross_products(X, y):
    """CrossProducts of an explicit lag embedding X (n, p) and its targets y."""
    return CrossProducts(X.T @ X, X.T @ y, float(y @ y), X.sum(0), float(y.sum()), len(y), [])


def constant(cp, coef, trend):
    """Least-squares intercept for ``coef``: mean target minus coef . mean lags (0 for "n")."""
    if trend == "n":
        return 0.0
    return cp.y_sum / cp.n_obs - (cp.x_sum / cp.n_obs) @ coef


def _centred(cp, trend):
    """Gram, right-hand side and target sum of squares, centred when there is a constant."""
    if trend == "n":
        return cp.gram, cp.xy, cp.yy
    m = cp.x_sum / cp.n_obs
    y_mean = cp.y_sum / cp.n_obs
    gram = cp.gram - cp.n_obs * np.outer(m, m)
    return gram, cp.xy - cp.n_obs * m * y_mean, cp.yy - cp.n_obs * y_mean**2


def _residuals(z, segment, coef, const):
    """Residuals z[t] - const - coef . (z[t-1], ..., z[t-p]) of one segment (0 before its sample)."""
    start, stop, lo = segment
    seg = np.ascontiguousarray(z[start:stop])
    e = signal.oaconvolve(seg, np.concatenate([[1.0], -coef]))[: len(seg)] - const
    e[: lo - start] = 0.0
    return seg, e


def _residual_gradient(z, cp, coef, const):
    """(sum_t x_t e_t, sum_t e_t): the least-squares gradient, computed from the series."""
    xe = np.zeros(len(coef))
    e_sum = 0.0
    dots = np.empty(len(coef) + 1)
    for segment in cp.segments:
        seg, e = _residuals(z, segment, coef, const)
        _kernels.lagged_dots(e, seg, segment[2] - segment[0], len(seg), dots)
        xe += dots[1:]
        e_sum += e.sum()
    return xe, e_sum


def residual_sum_of_squares(z, cp, coef, const):
    """Sum of squared residuals over the sample, from the series (no cancellation)."""
    return float(sum(e @ e for _, e in (_residuals(z, s, coef, const) for s in cp.segments)))


def solve_least_squares(z, cp, trend, refine="auto"):
    """Conditional least-squares AR coefficients by Cholesky with iterative refinement.

    Parameters
    ----------
    z : ndarray
        The series the cross products came from (centred for a constant trend).
    cp : CrossProducts
    trend : {"n", "c"}
    refine : int or "auto"
        Refinement steps; each recomputes the gradient X'e from the series, where
        it has no cancellation. "auto": 2 when the Gram's condition number, as
        estimated from the Cholesky diagonal, exceeds 1e4, else 0.

    Returns
    -------
    coef : ndarray of shape (p,)
    const : float
        Intercept in the units of z (0 for trend "n").
    chol : tuple
        The Cholesky factor of the (centred) Gram, for covariances.

    Raises
    ------
    numpy.linalg.LinAlgError
        If the Gram is not positive definite (collinear lags).
    """
    gram, rhs, _ = _centred(cp, trend)
    chol = linalg.cho_factor(gram, lower=True, check_finite=False)
    coef = linalg.cho_solve(chol, rhs, check_finite=False)
    if refine == "auto":
        diag = np.abs(np.diag(chol[0]))
        refine = 2 if (diag.max() / diag.min()) ** 2 > 1e4 else 0
    for _ in range(refine):
        xe, e_sum = _residual_gradient(z, cp, coef, constant(cp, coef, trend))
        if trend == "c":
            xe = xe - cp.x_sum / cp.n_obs * e_sum
        coef = coef + linalg.cho_solve(chol, xe, check_finite=False)
    return coef, constant(cp, coef, trend), chol


def nested_rss(cp, trend):
    """Residual sum of squares of every nested order 0..p on the common sample.

    One Cholesky factorisation of the bordered matrix [[G, b], [b', y'y]] gives
    RSS_k = L[p, p]^2 + sum_{j >= k} L[p, j]^2 for the lags 1..k.

    Returns
    -------
    rss : ndarray of shape (p + 1,)
    """
    gram, rhs, yy = _centred(cp, trend)
    p = len(rhs)
    bordered = np.empty((p + 1, p + 1))
    bordered[:p, :p] = gram
    bordered[:p, p] = bordered[p, :p] = rhs
    bordered[p, p] = yy
    try:
        chol = linalg.cholesky(bordered, lower=True, check_finite=False)
    except np.linalg.LinAlgError:  # collinear lags or an exact fit: order by order
        return np.array([_rss_lstsq(gram[:k, :k], rhs[:k], yy) for k in range(p + 1)])
    tail = chol[p, :p] ** 2
    rss = chol[p, p] ** 2 + np.concatenate([np.cumsum(tail[::-1])[::-1], [0.0]])
    return rss


def _rss_lstsq(gram, rhs, yy):
    if len(rhs) == 0:
        return yy
    coef = linalg.lstsq(gram, rhs, check_finite=False)[0]
    return max(yy - rhs @ coef, 0.0)


def information_criteria(rss, n_obs, n_params):
    """AIC, BIC and HQIC of Gaussian conditional likelihoods, statsmodels' convention.

    ``-2 llf + penalty * (n_params + 1)`` with llf = -n/2 (log(2 pi rss / n) + 1);
    the +1 counts the variance.
    """
    sigma2 = rss / n_obs
    llf = -0.5 * n_obs * (np.log(2.0 * np.pi * sigma2) + 1.0)
    k = np.asarray(n_params) + 1
    return {
        "aic": -2.0 * llf + 2.0 * k,
        "bic": -2.0 * llf + math.log(n_obs) * k,
        "hqic": -2.0 * llf + 2.0 * math.log(math.log(n_obs)) * k,
    }, llf


def autocovariances(z, max_lag):
    """sum_{t=k}^{n-1} z[t] z[t-k] for k = 0..max_lag (no normalisation), O(n p)."""
    n = len(z)
    z = np.ascontiguousarray(z, dtype=np.float64)
    out = np.empty(max_lag + 1)
    _kernels.lagged_dots(z, z, max_lag, n, out)
    for k in range(max_lag + 1):
        out[k] += z[k:max_lag] @ z[: max_lag - k]
    return out


def yule_walker(z, order, method="adjusted"):
    """Yule-Walker AR coefficients and innovation variance (z already demeaned).

    ``method="adjusted"`` divides the lag-k sum by n - k, ``"mle"`` by n; the
    Toeplitz system is solved by Levinson recursion.
    """
    n = len(z)
    r = autocovariances(z, order)
    r = r / (n - np.arange(order + 1)) if method == "adjusted" else r / n
    coef = linalg.solve_toeplitz(r[:order], r[1:], check_finite=False)
    return coef, float(r[0] - coef @ r[1:])


def burg(z, order):
    """Burg's AR coefficients and innovation variance (z already demeaned).

    Reflection coefficients minimise the summed forward and backward prediction
    error powers stage by stage; the variance is their mean square at the last
    stage, over the 2 (n - p) errors.
    """
    n = len(z)
    forward = np.array(z, dtype=np.float64)
    backward = forward.copy()
    coef = np.zeros(0)
    for m in range(1, order + 1):
        f = forward[m:]
        b = backward[m - 1 : n - 1]
        k = 2.0 * (f @ b) / (f @ f + b @ b)
        forward[m:], backward[m:] = f - k * b, b - k * f
        coef = np.concatenate([coef - k * coef[::-1], [k]])
    errors = forward[order:] @ forward[order:] + backward[order:] @ backward[order:]
    return coef, float(errors / (2.0 * (n - order)))


@dataclass
class LassoPath:
    """Adaptive-lasso solutions along a decreasing grid of penalties."""

    alphas: np.ndarray
    coefs: np.ndarray
    rss: np.ndarray
    n_nonzero: np.ndarray


def adaptive_lasso_path(cp, trend, *, gamma=1.0, alphas=None, n_alphas=60, ratio=1e-4, tol=1e-12,
                        max_sweeps=100_000):  # fmt: skip
    """Adaptive lasso on the (centred) Gram, warm-started along decreasing penalties.

    Minimises ``(1/(2n)) RSS(c) + alpha sum_j w_j |c_j|`` with ``w_j = 1 / |c_ols_j|^gamma``
    (gamma = 0: the plain lasso), by coordinate descent on X'X and X'y only.

    Returns
    -------
    LassoPath
    """
    gram, rhs, yy = _centred(cp, trend)
    n = cp.n_obs
    if gamma > 0:
        ols = linalg.lstsq(gram, rhs, check_finite=False)[0]
        weights = 1.0 / np.maximum(np.abs(ols), 1e-300) ** gamma  # an exact 0 stays 0
    else:
        weights = np.ones(len(rhs))
    if alphas is None:
        alpha_max = float(np.max(np.abs(rhs) / (n * weights))) if len(rhs) else 1.0
        if not alpha_max > 0:
            raise ValueError("No lag is correlated with the target (a constant series?): "
                             "the penalty path is empty.")  # fmt: skip
        alphas = np.geomspace(alpha_max, alpha_max * ratio, n_alphas)
    alphas = np.asarray(alphas, dtype=np.float64)
    gram = np.ascontiguousarray(gram)
    diag = np.ascontiguousarray(np.diag(gram))
    coef = np.zeros(len(rhs))
    grad = rhs.astype(np.float64).copy()
    coefs, rss = np.empty((len(alphas), len(rhs))), np.empty(len(alphas))
    for i, alpha in enumerate(alphas):
        _kernels.lasso_gram_cd(gram, diag, alpha * weights, float(n), coef, grad, tol, max_sweeps)
        coefs[i] = coef
        rss[i] = max(yy - coef @ rhs - coef @ grad, 0.0)
    return LassoPath(alphas, coefs, rss, np.count_nonzero(coefs, axis=1))


def refit_on_support(cp, trend, support):
    """Least-squares coefficients on the lags in ``support`` (zero elsewhere) and the RSS."""
    gram, rhs, yy = _centred(cp, trend)
    coef = np.zeros(len(rhs))
    if len(support):
        sub = gram[np.ix_(support, support)]
        coef[support] = linalg.solve(sub, rhs[support], assume_a="pos", check_finite=False)
    return coef, max(yy - 2.0 * coef @ rhs + coef @ gram @ coef, 0.0)
