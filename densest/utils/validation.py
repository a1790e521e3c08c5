"""Parameter and input validation.

This is the one module of densest that touches scikit-learn's private helpers
(``sklearn.utils._param_validation`` and ``sklearn.base._fit_context``).  When
scikit-learn moves them, only this file changes.
"""

import numbers

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    InvalidParameterError,
    Options,
    RealNotInt,
    StrOptions,
    validate_params,
)
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "HasMethods",
    "Hidden",
    "Interval",
    "InvalidParameterError",
    "Options",
    "RealNotInt",
    "StrOptions",
    "TorchDevice",
    "check_is_fitted",
    "check_n_samples",
    "fit_context",
    "validate_data",
    "validate_params",
]


class TorchDevice(HasMethods):
    """Parameter constraint satisfied by a ``torch.device``, without importing torch.

    (A ``HasMethods`` subclass: scikit-learn accepts only its own constraint
    classes.)

    Examples
    --------
    >>> TorchDevice().is_satisfied_by("cpu")
    False
    """

    def __init__(self):
        super().__init__([])

    def is_satisfied_by(self, val):
        kind = type(val)
        return kind.__module__ == "torch" and kind.__name__ == "device"

    def __str__(self):
        return "a torch.device"


def fit_context(*, prefer_skip_nested_validation=True):
    """Decorate ``fit``: validate ``self``'s parameters, then run the method.

    Parameters
    ----------
    prefer_skip_nested_validation : bool, default=True
        Whether estimators called inside ``fit`` may skip their own parameter
        validation (False when ``fit`` receives user-given estimators).

    Returns
    -------
    decorator : callable
        The decorator to apply to ``fit``.

    Examples
    --------
    >>> from sklearn.base import BaseEstimator
    >>> from numbers import Real
    >>> from densest.utils.validation import Interval, fit_context
    >>> class Model(BaseEstimator):
    ...     _parameter_constraints = {"alpha": [Interval(Real, 0, None, closed="left")]}
    ...     def __init__(self, *, alpha=1.0):
    ...         self.alpha = alpha
    ...     @fit_context()
    ...     def fit(self, X=None, y=None):
    ...         return self
    >>> Model(alpha=2.0).fit().alpha
    2.0
    """
    return _fit_context(prefer_skip_nested_validation=prefer_skip_nested_validation)


def check_n_samples(n_samples, name="n_samples"):
    """Return ``n_samples`` as a positive Python int, or raise ValueError.

    Parameters
    ----------
    n_samples : int
        Requested number of samples (numpy integers are accepted).
    name : str, default="n_samples"
        Name used in the error message.

    Returns
    -------
    n_samples : int
        The validated value.

    Examples
    --------
    >>> check_n_samples(3)
    3
    """
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(f"{name} must be a positive integer, got {n_samples!r}.")
    if n_samples < 1:
        raise ValueError(f"{name} must be a positive integer, got {n_samples}.")
    return int(n_samples)
