"""Deep generative likelihoods with instance noise.

Not yet available: this family is planned (project issue 7) and exports no
estimator yet.  ``densest demo`` lists it as not yet available.
"""

__all__ = []
