"""Deep generative likelihoods with instance noise (Chae, Kim, Kim & Lin, JMLR 2023).

:class:`DeepGenerativeDensity` fits X = g(Z) + sigma eps (a generator network
on a low-dimensional latent, learned isotropic noise) by an importance-weighted
likelihood bound, after perturbing the data with instance noise, which makes
maximum likelihood consistent for data on a low-dimensional manifold.
:class:`FlowDensity` fits a normalising flow (zuko) by exact likelihood with
the same instance noise, and denoises its samples by Tweedie's formula.
:func:`wasserstein2` and :func:`mmd_squared` compare samples. Requires torch
(and zuko for the flow: the ``deep`` extra).
"""

from densest.deep._flow import FlowDensity
from densest.deep._generative import DeepGenerativeDensity
from densest.deep._metrics import mmd_squared, wasserstein2
from densest.deep._noise import auto_instance_noise

__all__ = [
    "DeepGenerativeDensity",
    "FlowDensity",
    "auto_instance_noise",
    "mmd_squared",
    "wasserstein2",
]
