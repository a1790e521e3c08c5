"""Exceptions and warnings raised by densest.

:class:`sklearn.exceptions.NotFittedError` is re-exported so that users can
catch every densest error from one module.
"""

from sklearn.exceptions import NotFittedError

__all__ = ["DensestWarning", "NotFittedError", "NotPositiveDefiniteError"]


class DensestWarning(UserWarning):
    """Warning about a result that is valid but probably not what was meant.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", DensestWarning)  # make them errors, e.g. in tests
    ...     issubclass(DensestWarning, UserWarning)
    True
    """


class NotPositiveDefiniteError(ValueError):
    """A matrix that must be symmetric positive definite is not.

    The message names the remedy (a shrinkage estimator, a smaller model). It is
    a ValueError, so code that catches bad input catches it too.

    Examples
    --------
    >>> import numpy as np
    >>> from densest.eeg import AugmentedCovariances
    >>> flat = np.ones((2, 2, 50))  # constant channels: singular covariances
    >>> try:
    ...     AugmentedCovariances(order=2).fit_transform(flat)
    ... except NotPositiveDefiniteError as error:
    ...     print(type(error).__name__, isinstance(error, ValueError))
    NotPositiveDefiniteError True
    """
