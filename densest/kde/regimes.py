"""Regimes of Gaussian KDE in large dimension (Biroli & Mezard, 2024).

For n points drawn from N(0, diag(sigma^2)) in d dimensions and a Gaussian kernel
of bandwidth h, with alpha = log(n) / d fixed as n, d grow, the KDE at a typical
point is

- a self-averaging (CLT) sum for h > h_CLT(alpha);
- a heavy-tailed, alpha-stable sum for h_G < h < h_CLT;
- condensed (extreme-value statistics: a few nearest points carry the sum) for
  h < h_G, where the expected inverse participation ratio is 1 - h^2 / h_G^2.

The KL-optimal bandwidth h_opt lies below h_G. The formulas below come from a
large-deviation (random energy model) analysis re-derived and Monte-Carlo checked
for densest (the paper's body could not be consulted): with
u_k(beta) = 1 / (1 + 2 beta sigma_k^2) and F(u) = (u^2 - u - log u) / 2, h_G solves
(1/d) sum_k F(u_k(1 / (2 h_G^2))) = alpha, h_CLT = sqrt(2) h_G, and
h_opt^2 = (1/d) sum_k sigma_k^2 (u_k + u_k^2) at beta = 1 / (2 h_G^2). For
sigma = 1 these reduce to h_G^2 = u*/(1 - u*) and h_opt^2 = u*(1 + u*), with u*
the root in (0, 1) of u^2 - u - log u = 2 alpha. They are leading order in d;
finite-d corrections are O(log d / d).
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.optimize import brentq


def _check_variances(variances):
    variances = np.atleast_1d(np.asarray(variances, dtype=np.float64))
    if variances.ndim != 1 or variances.size == 0 or not np.all(np.isfinite(variances)):
        raise ValueError("variances must be a non-empty 1-D array of finite values.")
    if np.any(variances <= 0):
        raise ValueError("variances must be positive.")
    return variances


def _f(u):
    return 0.5 * (u * u - u - np.log(u))


# The root's bracket in log beta widens by this step up to this limit (exp stays finite).
_BRACKET_STEP, _BRACKET_LIMIT = 60.0, 660.0


def _beta_g(alpha, variances):
    # I(beta) = mean F(u_k) increases from 0 (beta = 0) to infinity: one root.
    def excess(log_beta):
        with np.errstate(over="ignore", divide="ignore"):
            u = 1.0 / (1.0 + 2.0 * math.exp(log_beta) * variances)
            return float(np.mean(_f(u))) - alpha

    lo, hi = -_BRACKET_STEP, _BRACKET_STEP
    while excess(lo) > 0 and lo > -_BRACKET_LIMIT:
        lo -= _BRACKET_STEP
    while excess(hi) < 0 and hi < _BRACKET_LIMIT:
        hi += _BRACKET_STEP
    if not excess(lo) <= 0 <= excess(hi):
        raise ValueError(f"alpha = log(n_samples) / d = {alpha:.3g}, with variances spanning a factor "
                         f"{variances.max() / variances.min():.3g}, puts h_G beyond the float64 range.")  # fmt: skip
    return math.exp(brentq(excess, lo, hi, xtol=1e-14, rtol=1e-14))


def _check_bandwidth(bandwidth):
    h = np.asarray(bandwidth, dtype=np.float64)
    if h.size == 0 or not np.all(np.isfinite(h) & (h > 0)):
        raise ValueError(f"bandwidth must be positive finite, got {bandwidth!r}.")
    return h


@dataclass(frozen=True)
class GaussianRegimes:
    """Thresholds for a Gaussian reference law (see :func:`gaussian_regimes`).

    Examples
    --------
    >>> r = gaussian_regimes(n_samples=1e4, variances=[1.0] * 64)
    >>> r.regime(0.5 * r.h_g), r.regime(1.2 * r.h_g), r.regime(2.0 * r.h_clt)
    ('condensed', 'heavy-tailed', 'CLT')
    """

    alpha: float
    h_g: float
    h_clt: float
    h_opt: float
    kl_min_per_dim: float

    def regime(self, bandwidth):
        """Name the regime of ``bandwidth``: 'condensed', 'heavy-tailed' or 'CLT'."""
        bandwidth = float(_check_bandwidth(bandwidth))
        if bandwidth < self.h_g:
            return "condensed"
        if bandwidth < self.h_clt:
            return "heavy-tailed"
        return "CLT"


def gaussian_regimes(n_samples, variances):
    """Regime thresholds of a Gaussian-kernel KDE for N(0, diag(variances)) data.

    Parameters
    ----------
    n_samples : float
        Number of reference points (an effective number with weights).
    variances : array-like of shape (d,)
        Per-dimension variances of the data (in the units of the bandwidth).

    Returns
    -------
    regimes : GaussianRegimes
        ``alpha = log(n)/d``, ``h_g``, ``h_clt = sqrt(2) h_g``, the KL-optimal
        ``h_opt`` and the leading-order minimal KL divergence per dimension.

    Examples
    --------
    >>> r = gaussian_regimes(n_samples=math.exp(0.1 * 100), variances=[1.0] * 100)
    >>> round(r.alpha, 3), round(r.h_g, 4), round(r.h_opt, 4)
    (0.1, 1.3708, 1.0386)
    """
    variances = _check_variances(variances)
    if not 1 < n_samples < math.inf:
        raise ValueError(f"n_samples must be finite and > 1, got {n_samples}.")
    d = variances.size
    alpha = math.log(n_samples) / d
    # In units where the variances' geometric mean is 1 (the thresholds scale with
    # it), so that data of any scale keep the root's bracket.
    unit = math.exp(float(np.mean(np.log(variances))))
    v = variances / unit
    beta = _beta_g(alpha, v)
    u = 1.0 / (1.0 + 2.0 * beta * v)
    h_opt_sq = float(np.mean(v * (u + u * u)))
    kl_min = 0.5 * math.log(h_opt_sq) - 0.5 * float(np.mean(np.log(v))) + alpha
    h_g = math.sqrt(0.5 * unit / beta)
    return GaussianRegimes(alpha, h_g, math.sqrt(2.0) * h_g, math.sqrt(h_opt_sq * unit), kl_min)


def gaussian_kl_per_dim(bandwidth, n_samples, variances):
    """Leading-order KL(p || KDE) / d for N(0, diag(variances)) data, Gaussian kernel.

    Above h_G the annealed (mean-field) value holds; below it, the condensed value
    where the nearest points carry the sum. Finite-d values lie above this curve
    by O(log d / d) in the condensed phase.

    Parameters
    ----------
    bandwidth : float or array-like
        Bandwidth(s).
    n_samples : float
        Number of reference points.
    variances : array-like of shape (d,)
        Per-dimension variances.

    Returns
    -------
    kl : float or ndarray
        KL divergence per dimension (nats).

    Examples
    --------
    >>> round(float(gaussian_kl_per_dim(10.0, 1e4, [1.0] * 64)), 4)
    1.8125
    """
    variances = _check_variances(variances)
    regimes = gaussian_regimes(n_samples, variances)
    h = _check_bandwidth(bandwidth)
    # In logs, so that no square leaves the float64 range: log(v + h^2) and v / (v + h^2).
    log_h2, log_v = 2.0 * np.log(h)[..., None], np.log(variances)
    entropy = 0.5 * np.mean(np.log(2 * math.pi * math.e * variances))
    annealed = np.mean(0.5 * (math.log(2 * math.pi) + np.logaddexp(log_v, log_h2)) +
                       0.5 * special.expit(log_v - log_h2), axis=-1) - entropy  # fmt: skip
    with np.errstate(over="ignore"):  # (h_opt / h)^2 -> inf as h -> 0: KL -> inf
        condensed = (0.5 * math.log(2 * math.pi) + np.log(h) + 0.5 * (regimes.h_opt / h) ** 2 +
                     regimes.alpha - entropy)  # fmt: skip
    out = np.where(h >= regimes.h_g, annealed, condensed)
    return float(out) if out.ndim == 0 else out
