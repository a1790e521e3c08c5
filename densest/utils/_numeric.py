"""Numerics shared by the families."""

import numpy as np
from scipy import linalg


# Below this many columns, column_reduce reduces a 2-D array column by column.
FEW_COLUMNS = 16


def column_reduce(func, X):
    """``func(X, axis=0)`` for a 2-D array X, e.g. ``np.max``, without a copy.

    numpy reduces axis 0 of a C-ordered array row by row, about 20 ns a row
    whatever the width: with fewer than FEW_COLUMNS columns, one strided
    reduction per column measured 10-35 times faster (n = 10 000, d = 2 to 8).

    Parameters
    ----------
    func : callable
        A reduction taking an array and an ``axis`` keyword.
    X : ndarray of shape (n_samples, n_features)
        The values.

    Returns
    -------
    ndarray of shape (n_features,)

    Examples
    --------
    >>> column_reduce(np.max, np.array([[1.0, 5.0], [3.0, 2.0]]))
    array([3., 5.])
    """
    if X.shape[1] < FEW_COLUMNS and X.shape[0] > 0:
        return np.array([func(X[:, f], axis=0) for f in range(X.shape[1])])
    return func(X, axis=0)


def column_means(X):
    """Float64 mean of each column of a 2-D array (see column_reduce).

    Examples
    --------
    >>> column_means(np.array([[1.0, 4.0], [3.0, 2.0]]))
    array([2., 3.])
    """
    return column_reduce(lambda v, axis: np.mean(v, axis=axis, dtype=np.float64), X)


def feature_std(X):
    """Standard deviation of each column of X, exact in scale near the float64 limits.

    Each column is centred and divided by a power of two near its largest
    deviation (exactly) before it is squared, so that columns around 1e-200 or
    1e200, whose squares underflow or overflow, keep their spread, also beside
    columns of another scale.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite data.

    Returns
    -------
    std : ndarray of shape (n_features,)
        Population standard deviations (zero for a constant column).

    Examples
    --------
    >>> X = np.array([[1.0, 2.0], [3.0, 2.0]]) * 1e-200
    >>> feature_std(X) * 1e200
    array([1., 0.])
    """
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    centred = X - column_means(X)
    exponents = np.frexp(column_reduce(np.max, np.abs(centred)))[1]
    return np.ldexp(np.sqrt(column_means(np.ldexp(centred, -exponents) ** 2)), exponents)


def total_std(X):
    """Square root of the summed variances of the columns of X (of the trace of its
    covariance), exact in scale near the float64 limits: :func:`feature_std`, then
    BLAS's norm, which scales before squaring.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Finite data.

    Returns
    -------
    std : float

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [6.0, 8.0]]) * 1e200
    >>> round(total_std(X) / 1e200, 12)
    5.0
    """
    return float(linalg.norm(feature_std(X)))


# Squares and sums of squares of values beyond this (or of a spread below its
# inverse) leave the float64 range: fits would return NaN or infinities, or take
# data at a tiny scale for constant data.
MAX_MAGNITUDE = 1e140


def check_magnitude(values, name, hint, centred=False):
    """Raise a clear ValueError when finite values are too large, or vary too little,
    for float64 sums of squares.

    Parameters
    ----------
    values : ndarray
        The values (NaN and inf are ignored: other checks handle them).
    name : str
        Their name in the message.
    hint : str
        Why rescaling is harmless, for the message.
    centred : bool, default=False
        Check the columns of a finite 2-D array less their means (found from
        column extremes, without a copy of the array).

    Examples
    --------
    >>> check_magnitude(np.array([1.0, 2.0]), "y", "")
    >>> check_magnitude(np.array([1e150, 2.0]), "y", "units do not matter")
    Traceback (most recent call last):
    ...
    ValueError: y has values up to 1e+150 in absolute value, spread over 1e+150: ...
    """
    if centred:
        mean = column_means(values)
        hi, lo = column_reduce(np.max, values) - mean, column_reduce(np.min, values) - mean
        top = max(np.abs(hi).max(initial=0.0), np.abs(lo).max(initial=0.0))
        spread = hi.max(initial=0.0) - lo.min(initial=0.0)
    else:
        finite = np.isfinite(values)
        lo = np.min(values, initial=np.inf, where=finite)
        if lo == np.inf:
            return
        hi = np.max(values, initial=-np.inf, where=finite)
        top, spread = max(abs(lo), abs(hi)), hi - lo
    if top > MAX_MAGNITUDE or 0.0 < spread < 1.0 / MAX_MAGNITUDE:
        raise ValueError(
            f"{name} has values up to {top:.3g} in absolute value, spread over {spread:.3g}: sums of "
            f"squares leave the float64 range beyond {MAX_MAGNITUDE:.0e} or below a spread of "
            f"{1.0 / MAX_MAGNITUDE:.0e}; rescale it ({hint})."
        )
