"""Numerics shared by the families."""

import math

import numpy as np


def feature_std(X):
    """Standard deviation of each column of X, exact in scale near the float64 limits.

    The columns are centred and divided by a power of two (exactly) before they
    are squared, so that data around 1e-200 or 1e200, whose squares underflow or
    overflow, keep their spread.

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
    centred = X - X.mean(axis=0, dtype=np.float64)
    top = float(np.abs(centred).max()) if centred.size else 0.0
    if not top > 0.0:
        return np.zeros(X.shape[1])
    exponent = math.frexp(top)[1]
    return np.ldexp(np.sqrt(np.mean(np.ldexp(centred, -exponent) ** 2, axis=0)), exponent)
