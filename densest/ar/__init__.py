"""Least-squares autoregression and AR-Net.

Not yet available: this family is planned (project issue 4) and exports no
estimator yet.  ``densest demo`` lists it as not yet available.
"""

__all__ = []
