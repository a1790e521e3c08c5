"""Synthetic data with known densities."""

import numpy as np
from scipy.special import logsumexp
from sklearn.utils import check_random_state

from densest.utils.validation import check_n_samples


def make_gaussian_mixture(n_samples=1000, n_features=2, *, n_components=3, separation=3.0,
                          scale=1.0, random_state=None):  # fmt: skip
    """Draw from an isotropic Gaussian mixture with random, well-separated means.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of points.
    n_features : int, default=2
        Dimension.
    n_components : int, default=3
        Number of equally weighted components.
    separation : float, default=3.0
        Standard deviation of the component means around the origin (in units of
        ``scale``).
    scale : float, default=1.0
        Standard deviation of each component along every axis.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The points.
    y : ndarray of shape (n_samples,)
        Component labels.
    params : dict
        ``means`` (n_components, n_features), ``scale`` and ``weights``, to pass to
        :func:`gaussian_mixture_log_density`.

    Examples
    --------
    >>> X, y, params = make_gaussian_mixture(100, 5, random_state=0)
    >>> X.shape, gaussian_mixture_log_density(X, params).shape
    ((100, 5), (100,))
    """
    n_samples = check_n_samples(n_samples)
    n_features = check_n_samples(n_features, "n_features")
    n_components = check_n_samples(n_components, "n_components")
    if not (0 < scale < np.inf and 0 <= separation < np.inf):
        raise ValueError("scale must be positive and separation non-negative, both finite.")
    rng = check_random_state(random_state)
    means = rng.standard_normal((n_components, n_features)) * separation * scale
    y = rng.randint(n_components, size=n_samples)
    X = means[y] + scale * rng.standard_normal((n_samples, n_features))
    params = {"means": means, "scale": float(scale),
              "weights": np.full(n_components, 1.0 / n_components)}  # fmt: skip
    return X, y, params


def _component_terms(X, params, noise):
    X = np.asarray(X, dtype=np.float64)
    d = params["means"].shape[1]
    if X.ndim != 2 or X.shape[1] != d or not np.all(np.isfinite(X)):
        raise ValueError(f"X must be a finite array of shape (n_samples, {d}) for this mixture; got shape {X.shape}.")
    noise = np.asarray(noise, dtype=np.float64)
    if noise.ndim > 1 or noise.size not in (1, d) or not np.all(np.isfinite(noise) & (noise >= 0)):
        raise ValueError(f"noise must be a non-negative number or {d} of them; got {noise!r}.")
    var = params["scale"] ** 2 + np.broadcast_to(noise**2, (d,))
    diff = X[:, None, :] - params["means"][None]
    log_comp = -0.5 * (diff**2 / var).sum(-1) - 0.5 * np.log(2 * np.pi * var).sum()
    return diff, var, log_comp + np.log(params["weights"])[None, :]


def gaussian_mixture_log_density(X, params, noise=0.0):
    """Exact log-density of the mixture returned by :func:`make_gaussian_mixture`.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points.
    params : dict
        As returned by :func:`make_gaussian_mixture`.
    noise : float or array-like of shape (n_features,), default=0.0
        Standard deviation of independent Gaussian noise added to each
        feature: the density of X + noise (every component widened), e.g. the
        smoothed density p_sigma that a denoising auto-encoder estimates.

    Returns
    -------
    log_density : ndarray of shape (n_samples,)
        Finite even where the density underflows.

    Examples
    --------
    >>> params = {"means": np.zeros((1, 1)), "scale": 1.0, "weights": np.ones(1)}
    >>> round(float(gaussian_mixture_log_density([[0.0]], params)[0]), 4)
    -0.9189
    """
    return logsumexp(_component_terms(X, params, noise)[2], axis=1)


def gaussian_mixture_score(X, params, noise=0.0):
    """Exact gradient of :func:`gaussian_mixture_log_density` with respect to X.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Points.
    params : dict
        As returned by :func:`make_gaussian_mixture`.
    noise : float or array-like of shape (n_features,), default=0.0
        As in :func:`gaussian_mixture_log_density`.

    Returns
    -------
    score : ndarray of shape (n_samples, n_features)

    Examples
    --------
    >>> params = {"means": np.zeros((1, 2)), "scale": 2.0, "weights": np.ones(1)}
    >>> gaussian_mixture_score([[4.0, -2.0]], params)  # -x / scale^2
    array([[-1. ,  0.5]])
    """
    diff, var, log_comp = _component_terms(X, params, noise)
    resp = np.exp(log_comp - logsumexp(log_comp, axis=1, keepdims=True))
    return (resp[:, :, None] * (-diff / var)).sum(axis=1)
