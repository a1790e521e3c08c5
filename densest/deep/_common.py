"""Steps shared by the estimators of the deep family: scaling, instance noise, perturbation."""

from numbers import Integral

import numpy as np

from densest.deep._noise import auto_instance_noise
from densest.utils._numeric import total_std


def fit_scaling(X):
    """Centre and one scalar scale (the root mean feature variance), so that isotropic noise stays isotropic."""
    mean = X.mean(axis=0, dtype=np.float64)
    scale = total_std(X) / np.sqrt(X.shape[1])
    if not scale > 0:
        raise ValueError("X is constant (every row is the same point); there is no distribution to fit.")
    return mean, scale


def resolve_noise(instance_noise, X):
    """The instance noise in data units: the number given, or the rule of :func:`auto_instance_noise`."""
    return auto_instance_noise(X) if instance_noise == "auto" else float(instance_noise)


def training_tensor(torch, X, mean, scale, noise, fixed, seed, device):
    """Standardised training data on the device, perturbed once by N(0, noise^2) when ``fixed``."""
    Z = (X - mean) / scale
    if fixed and noise > 0:
        Z = Z + (noise / scale) * np.random.default_rng(seed).standard_normal(Z.shape)
    return torch.as_tensor(Z, dtype=torch.float32, device=device)


def check_sizes(value, name):
    """A tuple of positive layer sizes (empty: a linear map)."""
    sizes = np.atleast_1d(np.asarray(value, dtype=object))
    if not all(isinstance(h, Integral) and not isinstance(h, bool) and h >= 1 for h in sizes):
        raise ValueError(f"{name} must be a tuple of positive integers; got {value!r}.")
    return tuple(int(h) for h in sizes)
