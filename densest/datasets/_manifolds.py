"""Distributions on low-dimensional manifolds embedded isometrically in R^D (singular targets)."""

import numpy as np
from sklearn.utils import check_random_state

from densest.utils.validation import check_n_samples

# name -> (native ambient dimension, intrinsic dimension)
MANIFOLDS = {"circle": (2, 1), "curve": (5, 1), "sphere": (3, 2)}


def _circle(rng, n, concentration):
    angle = rng.vonmises(0.0, concentration, n) if concentration > 0 else rng.uniform(-np.pi, np.pi, n)
    return np.column_stack([np.cos(angle), np.sin(angle)])


def _curve(rng, n, concentration):
    t = rng.beta(2.0, 5.0, n)
    a = 2.0 * np.pi * t
    return np.column_stack([np.cos(a), np.sin(a), 0.5 * np.cos(2 * a), 0.5 * np.sin(2 * a), 2.0 * t - 1.0])


def _sphere(rng, n, concentration):
    """Von Mises-Fisher on S^2 about (0, 0, 1), by inverting the law of the polar cosine."""
    u = rng.uniform(size=n)
    if concentration > 0:
        w = 1.0 + np.log(u + (1.0 - u) * np.exp(-2.0 * concentration)) / concentration
    else:
        w = 2.0 * u - 1.0
    phi = rng.uniform(-np.pi, np.pi, n)
    r = np.sqrt(np.clip(1.0 - w**2, 0.0, None))
    return np.column_stack([r * np.cos(phi), r * np.sin(phi), w])


SAMPLERS = {"circle": _circle, "curve": _curve, "sphere": _sphere}


def manifold_embedding(name, ambient_dim=None, embedding_seed=0):
    """The isometric embedding used by :func:`make_manifold`: a matrix with orthonormal columns.

    Parameters
    ----------
    name : {"circle", "curve", "sphere"}
        The manifold.
    ambient_dim : int or None, default=None
        D; None is the manifold's native dimension (2, 5 and 3), where the
        embedding is the identity.
    embedding_seed : int, default=0
        Seed of the random rotation when D is larger than the native dimension.

    Returns
    -------
    Q : ndarray of shape (ambient_dim, native_dim)
        ``Q.T @ Q`` is the identity, so distances are preserved.

    Examples
    --------
    >>> Q = manifold_embedding("circle", 20)
    >>> Q.shape, bool(np.allclose(Q.T @ Q, np.eye(2)))
    ((20, 2), True)
    """
    if name not in MANIFOLDS:
        raise ValueError(f"name must be one of {sorted(MANIFOLDS)}; got {name!r}.")
    native = MANIFOLDS[name][0]
    D = native if ambient_dim is None else check_n_samples(ambient_dim, "ambient_dim")
    if D < native:
        raise ValueError(f"ambient_dim={D} is smaller than the {name}'s native dimension {native}.")
    if D == native:
        return np.eye(native)
    Q, R = np.linalg.qr(np.random.default_rng(embedding_seed).standard_normal((D, native)))
    return Q * np.sign(np.diag(R))


def make_manifold(name, n_samples=1000, *, ambient_dim=None, noise=0.0, concentration=1.0, embedding_seed=0,
                  random_state=None):  # fmt: skip
    """Draw exactly from a distribution on a manifold, embedded isometrically in R^D, plus optional noise.

    - ``"circle"``: the unit circle in R^2, angle ~ von Mises(0, concentration)
      (uniform when the concentration is 0). Intrinsic dimension 1.
    - ``"curve"``: a = 2 pi t with t ~ Beta(2, 5), x = (cos a, sin a,
      cos(2a) / 2, sin(2a) / 2, 2t - 1) in R^5. Intrinsic dimension 1.
    - ``"sphere"``: the unit sphere in R^3, von Mises-Fisher about (0, 0, 1)
      with the given concentration (uniform when 0). Intrinsic dimension 2.

    Calls with the same ``name``, ``ambient_dim`` and ``embedding_seed`` draw
    from the same distribution, so a second call with another
    ``random_state`` gives fresh true samples (e.g. for Wasserstein
    distances of a fitted model).

    Parameters
    ----------
    name : {"circle", "curve", "sphere"}
        The manifold.
    n_samples : int, default=1000
        Number of points.
    ambient_dim : int or None, default=None
        D; None is the native dimension. Larger D embeds the points by
        :func:`manifold_embedding` (a random rotation seeded by
        ``embedding_seed``).
    noise : float, default=0.0
        Standard deviation of isotropic Gaussian noise added in R^D (0: the
        points lie exactly on the manifold).
    concentration : float, default=1.0
        Concentration of the circle's von Mises and the sphere's von
        Mises-Fisher law (ignored by the curve).
    embedding_seed : int, default=0
        Seed of the embedding.
    random_state : int, RandomState instance or None, default=None
        Seed of the points and the noise.

    Returns
    -------
    X : ndarray of shape (n_samples, ambient_dim)

    Examples
    --------
    >>> X = make_manifold("circle", 5, random_state=0)
    >>> bool(np.allclose(np.linalg.norm(X, axis=1), 1.0))
    True
    >>> make_manifold("sphere", 5, ambient_dim=20, random_state=0).shape
    (5, 20)
    """
    n_samples = check_n_samples(n_samples)
    Q = manifold_embedding(name, ambient_dim, embedding_seed)
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a non-negative number; got {noise!r}.")
    if not (np.isfinite(concentration) and concentration >= 0):
        raise ValueError(f"concentration must be a non-negative number; got {concentration!r}.")
    rng = check_random_state(random_state)
    X = SAMPLERS[name](rng, n_samples, float(concentration)) @ Q.T
    if noise > 0:
        X += noise * rng.standard_normal(X.shape)
    return X
