"""Scale-out helpers: blockwise scoring of dask arrays and split reference sets."""

import numpy as np
from scipy.special import logsumexp

from densest.utils import import_optional
from densest.utils.validation import check_is_fitted


def score_samples_dask(estimator, X):
    """Score the rows of a dask array block by block with a fitted estimator.

    ``score_samples`` is row-separable, so mapping it over row chunks is exact.
    The estimator is sent to the workers once per graph. Chunks along the
    feature axis are merged first.

    Parameters
    ----------
    estimator : fitted density estimator
        Anything with ``score_samples``, e.g. :class:`~densest.kde.KernelDensity`.
    X : dask.array.Array of shape (n_samples, n_features)
        Query points.

    Returns
    -------
    log_density : dask.array.Array of shape (n_samples,)
        Lazy log-densities; call ``.compute()``.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from densest.kde import KernelDensity
    >>> X = np.random.default_rng(0).standard_normal((200, 3))
    >>> kde = KernelDensity().fit(X)
    >>> lazy = score_samples_dask(kde, da.from_array(X, chunks=(50, 3)))
    >>> bool(np.allclose(lazy.compute(), kde.score_samples(X)))
    True
    """
    check_is_fitted(estimator)  # now, not when the graph is computed
    da = import_optional("dask.array", "dask")
    X = da.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D dask array, got {X.ndim} dimension(s).")
    X = X.rechunk({1: -1})
    return X.map_blocks(
        estimator.score_samples, drop_axis=1, dtype=np.float64, meta=np.empty((0,), np.float64)
    )


def combine_partial_log_densities(log_densities, weights):
    """Combine KDEs fitted on disjoint parts of a reference set, exactly.

    A KDE is a mixture of its parts: with part b holding total weight W_b (its
    number of points when unweighted), log p(x) = logsumexp_b(log W_b + log p_b(x))
    - log sum_b W_b. All parts must share the bandwidth, kernel and scaling.

    Parameters
    ----------
    log_densities : array-like of shape (n_parts, n_samples)
        ``score_samples`` of each part's KDE at the same queries.
    weights : array-like of shape (n_parts,)
        Total weight (or number of points) of each part.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        Log-density of the KDE on the union of the parts.

    Examples
    --------
    >>> import numpy as np
    >>> from densest.kde import KernelDensity
    >>> X = np.random.default_rng(0).standard_normal((100, 2))
    >>> parts = [KernelDensity(bandwidth=0.5).fit(p).score_samples(X) for p in (X[:30], X[30:])]
    >>> whole = KernelDensity(bandwidth=0.5).fit(X).score_samples(X)
    >>> bool(np.allclose(combine_partial_log_densities(parts, [30, 70]), whole))
    True
    """
    try:
        log_densities = np.asarray(log_densities, dtype=np.float64)
    except ValueError:
        raise ValueError("log_densities must be (n_parts, n_samples): the parts' lengths differ.") from None
    weights = np.asarray(weights, dtype=np.float64)
    if log_densities.ndim != 2 or weights.shape != (log_densities.shape[0],):
        raise ValueError("log_densities must be (n_parts, n_samples) and weights (n_parts,).")
    if np.any(weights <= 0) or not np.all(np.isfinite(weights)):
        raise ValueError("weights must be positive and finite.")
    if np.isnan(log_densities).any() or np.isposinf(log_densities).any():
        raise ValueError("log_densities must be finite or -inf (a zero density); they contain NaN or +inf.")
    log_w = np.log(weights)
    return logsumexp(log_densities + log_w[:, None], axis=0) - logsumexp(log_w)
