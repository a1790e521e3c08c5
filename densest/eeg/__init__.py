"""Augmented-covariance Riemannian EEG classifiers (Carrara & Papadopoulo 2023).

The augmented covariance matrix (ACM) of an epoch is the covariance of its
delay embedding: the block-Toeplitz Yule-Walker matrix of a vector
autoregression. :class:`AugmentedCovariances` computes it,
:func:`make_acm_pipeline` builds pyRiemann classifiers on it,
:class:`ACMSearchCV` searches its order and lag reusing one covariance per
lag, :func:`nested_cross_validate` runs the paper's nested protocol,
:func:`riemann_mean` computes the Riemannian mean by Newton's method, and
:mod:`densest.eeg.embedding` chooses the lag and order from data.
Requires the ``eeg`` extra (pyRiemann, MNE).
"""

from densest.eeg import embedding
from densest.eeg._augmented import AugmentedCovariances
from densest.eeg._pipelines import ACMSearchCV, make_acm_pipeline, moabb_pipelines, nested_cross_validate
from densest.eeg._riemann import riemann_mean

__all__ = [
    "ACMSearchCV",
    "AugmentedCovariances",
    "embedding",
    "make_acm_pipeline",
    "moabb_pipelines",
    "nested_cross_validate",
    "riemann_mean",
]
