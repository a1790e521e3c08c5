"""Synthetic data generators shared by tests, examples and benchmarks, and data loaders."""

from densest.datasets._eegbci import eegbci_files, load_eegbci, load_eegbci_sample
from densest.datasets._manifolds import make_manifold, manifold_embedding
from densest.datasets._ar import is_stationary, make_ar_process, random_ar_coefficients
from densest.datasets._synthetic import gaussian_mixture_log_density, gaussian_mixture_score, make_gaussian_mixture

__all__ = [
    "eegbci_files",
    "load_eegbci",
    "load_eegbci_sample",
    "gaussian_mixture_log_density",
    "gaussian_mixture_score",
    "is_stationary",
    "make_ar_process",
    "make_gaussian_mixture",
    "make_manifold",
    "manifold_embedding",
    "random_ar_coefficients",
]
