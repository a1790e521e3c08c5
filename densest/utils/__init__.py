"""Shared utilities: validation, Numba thread control, estimator discovery."""

from densest.utils._optional import MissingExtraError, import_optional
from densest.utils._parallel import effective_n_threads, jit_cached, jit_twins, numba_threads
from densest.utils.discovery import all_estimators

__all__ = [
    "MissingExtraError",
    "all_estimators",
    "effective_n_threads",
    "import_optional",
    "jit_cached",
    "jit_twins",
    "numba_threads",
]
