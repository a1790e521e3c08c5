"""Autoregressive series with known coefficients (Triebe et al., AR-Net, section 3.1)."""

import numpy as np
from scipy import signal
from sklearn.utils import check_random_state

from densest.utils.validation import check_n_samples


def _check_coef(coef):
    """coef as a 1-D float64 array, or a clear ValueError (complex values included)."""
    coef = np.atleast_1d(np.asarray(coef))
    real = not np.iscomplexobj(coef) and coef.ndim == 1
    try:
        coef = coef.astype(np.float64) if real else coef
    except (TypeError, ValueError):
        real = False
    if not real or not np.all(np.isfinite(coef)):
        raise ValueError("coef must be a finite 1-D array of real AR coefficients.")
    return coef


def is_stationary(coef):
    """Whether the AR polynomial 1 - sum_i coef[i] L^(i+1) has all roots outside the unit circle.

    Parameters
    ----------
    coef : array-like of shape (p,)
        AR coefficients, lag 1 first.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_stationary([0.5]), is_stationary([1.0]), is_stationary([0.2, 0.3, -0.5])
    (True, False, True)
    """
    coef = _check_coef(coef)
    if coef.size == 0:
        return True
    # Companion-matrix eigenvalues are the inverse roots of the AR polynomial.
    return bool(np.all(np.abs(np.roots(np.concatenate([[1.0], -coef]))) < 1.0))


def random_ar_coefficients(order, *, random_state=None, max_tries=100):
    """Random stationary AR coefficients, drawn as in the AR-Net paper.

    Draw ``a_i ~ U(-1, 1)``; if ``sum |a_i| > 1``, rescale to ``a / (sum |a| + 1e-5)`` times
    U(0.5, 1); centre (a - mean a); redraw until the process is stationary.

    Parameters
    ----------
    order : int
        Number of lags p >= 1.
    random_state : int, RandomState instance or None, default=None
        Seed.
    max_tries : int, default=100
        Draws before giving up.

    Returns
    -------
    coef : ndarray of shape (order,)
        Lag 1 first.

    Raises
    ------
    RuntimeError
        If no stationary draw was found in ``max_tries`` draws.

    Examples
    --------
    >>> coef = random_ar_coefficients(5, random_state=0)
    >>> coef.shape, is_stationary(coef)
    ((5,), True)
    """
    if int(order) != order or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}.")
    max_tries = check_n_samples(max_tries, "max_tries")
    rng = check_random_state(random_state)
    for _ in range(max_tries):
        coef = rng.uniform(-1.0, 1.0, int(order))
        total = np.abs(coef).sum()
        if total > 1.0:
            coef = coef / (total + 1e-5) * rng.uniform(0.5, 1.0)
        coef = coef - coef.mean()
        if is_stationary(coef):
            return coef
    raise RuntimeError(f"No stationary AR({order}) coefficients in {max_tries} draws.")


def make_ar_process(coef, n_samples=1000, *, noise=1.0, intercept=0.0, burn_in=None,
                    random_state=None):  # fmt: skip
    """Simulate y_t = intercept + sum_i coef[i] y_(t-i-1) + noise * e_t, e_t ~ N(0, 1).

    Parameters
    ----------
    coef : array-like of shape (p,)
        AR coefficients, lag 1 first (need not be stationary, but then the series
        grows).
    n_samples : int, default=1000
        Length of the returned series.
    noise : float, default=1.0
        Innovation standard deviation.
    intercept : float, default=0.0
        Constant term.
    burn_in : int or None, default=None
        Initial values simulated and dropped so the series starts near its
        stationary distribution; None: ``10 * p + 100``. 0 starts from zeros,
        as the AR-Net paper's generator does.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> y = make_ar_process([0.2, 0.3, -0.5], 5000, random_state=0)
    >>> y.shape, round(float(y.std()), 1)
    ((5000,), 1.2)
    """
    coef = _check_coef(coef)
    n_samples = check_n_samples(n_samples)
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a finite non-negative number, got {noise!r}.")
    if not np.isfinite(intercept):
        raise ValueError(f"intercept must be finite, got {intercept!r}.")
    burn_in = 10 * len(coef) + 100 if burn_in is None else int(burn_in)
    if burn_in < 0:
        raise ValueError(f"burn_in must be non-negative, got {burn_in}.")
    rng = check_random_state(random_state)
    shocks = intercept + noise * rng.standard_normal(n_samples + burn_in)
    y = signal.lfilter([1.0], np.concatenate([[1.0], -coef]), shocks)
    if not np.all(np.isfinite(y)):
        raise ValueError(f"The simulated series overflows float64 within {n_samples + burn_in} steps: "
                         "coef is far from stationary; use stationary coefficients or fewer samples.")  # fmt: skip
    return y[burn_in:]
