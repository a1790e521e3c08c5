"""Synthetic data generators shared by tests, examples and benchmarks, and data loaders."""

from densest.datasets._synthetic import gaussian_mixture_log_density, make_gaussian_mixture

__all__ = ["gaussian_mixture_log_density", "make_gaussian_mixture"]
