"""Score-matching regularized auto-encoders.

Not yet available: this family is planned (project issue 6) and exports no
estimator yet.  ``densest demo`` lists it as not yet available.
"""

__all__ = []
