"""Augmented-covariance Riemannian EEG classifiers.

Not yet available: this family is planned (project issue 5) and exports no
estimator yet.  ``densest demo`` lists it as not yet available.
"""

__all__ = []
