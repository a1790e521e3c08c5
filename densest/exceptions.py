"""Exceptions and warnings raised by densest.

:class:`sklearn.exceptions.NotFittedError` is re-exported so that users can
catch every densest error from one module.
"""

from sklearn.exceptions import NotFittedError

__all__ = ["DensestWarning", "NotFittedError", "NotPositiveDefiniteError"]


class DensestWarning(UserWarning):
    """Warning about a result that is valid but probably not what was meant."""


class NotPositiveDefiniteError(ValueError):
    """A matrix that must be symmetric positive definite is not.

    The message names the remedy (a shrinkage estimator, a smaller model).
    """
