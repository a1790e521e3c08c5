"""Distances between samples, to compare a fitted model's samples with fresh true samples."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from sklearn.utils import check_array


def _pair(X, Y):
    X, Y = check_array(X, dtype=np.float64), check_array(Y, dtype=np.float64)
    if X.shape[1] != Y.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but Y has {Y.shape[1]}.")
    return X, Y


def wasserstein2(X, Y):
    """Exact 2-Wasserstein distance between two empirical distributions of equal size.

    The optimal matching of the two point sets (Hungarian algorithm on the
    squared Euclidean costs); O(n^3) time, so meant for n up to a few
    thousand.

    Parameters
    ----------
    X, Y : array-like of shape (n_samples, n_features)
        The two samples (same number of rows).

    Returns
    -------
    distance : float
        ``sqrt(min over permutations of mean ||x_i - y_pi(i)||^2)``.

    Examples
    --------
    >>> wasserstein2([[0.0], [1.0]], [[3.0], [0.0]])
    1.4142135623730951
    """
    X, Y = _pair(X, Y)
    if len(X) != len(Y):
        raise ValueError(f"wasserstein2 matches equal-size samples; got {len(X)} and {len(Y)} rows.")
    cost = cdist(X, Y, "sqeuclidean")
    rows, cols = linear_sum_assignment(cost)
    return float(np.sqrt(cost[rows, cols].mean()))


def mmd_squared(X, Y, bandwidth=None):
    """Unbiased squared maximum mean discrepancy with a Gaussian kernel.

    Parameters
    ----------
    X : array-like of shape (n, n_features)
        First sample (n >= 2).
    Y : array-like of shape (m, n_features)
        Second sample (m >= 2).
    bandwidth : float or None, default=None
        Kernel scale h in ``exp(-||x - y||^2 / (2 h^2))``; None is the median
        distance between the pooled points.

    Returns
    -------
    mmd2 : float
        The U-statistic (it can be slightly negative when the laws are equal).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> abs(mmd_squared(rng.normal(size=(500, 2)), rng.normal(size=(500, 2)))) < 0.01
    True
    """
    X, Y = _pair(X, Y)
    if len(X) < 2 or len(Y) < 2:
        raise ValueError("mmd_squared needs at least 2 points in each sample.")
    if bandwidth is None:
        pooled = np.vstack([X, Y])
        bandwidth = float(np.median(cdist(pooled, pooled)[np.triu_indices(len(pooled), 1)]))
    if not bandwidth > 0:
        raise ValueError(f"bandwidth must be positive; got {bandwidth!r}.")

    def mean_kernel(A, B, same):
        K = np.exp(-cdist(A, B, "sqeuclidean") / (2.0 * bandwidth**2))
        if same:
            return (K.sum() - np.trace(K)) / (len(A) * (len(A) - 1))
        return K.mean()

    return float(mean_kernel(X, X, True) + mean_kernel(Y, Y, True) - 2.0 * mean_kernel(X, Y, False))
