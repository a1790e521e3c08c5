"""Find densest's estimators, skipping families whose extras are missing."""

import importlib
import importlib.util
import inspect

from sklearn.base import BaseEstimator

from densest._families import FAMILIES


def missing_requirements(family):
    """Names of the optional packages that ``family`` needs and that are absent.

    Parameters
    ----------
    family : densest._families.Family
        The family to check.

    Returns
    -------
    missing : list of str
        Import names that cannot be found; empty when the family can be used.

    Examples
    --------
    >>> from densest._families import FAMILIES
    >>> missing_requirements(FAMILIES[0])
    []
    """
    return [name for name in family.requires if importlib.util.find_spec(name) is None]


def all_estimators():
    """Return ``(name, class)`` for every public densest estimator available here.

    Each family exports its estimators from its package ``__all__``; a family
    whose optional dependencies are not installed is skipped, so the list grows
    automatically when a family lands or an extra is installed.

    Returns
    -------
    estimators : list of (str, type)
        Sorted by name.

    Examples
    --------
    >>> names = [name for name, _ in all_estimators()]
    >>> isinstance(names, list)
    True
    """
    found = {}
    for family in FAMILIES:
        if missing_requirements(family):
            continue
        module = importlib.import_module(f"densest.{family.name}")
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseEstimator):
                found[name] = obj
    return sorted(found.items())
