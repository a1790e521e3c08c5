"""Thread control for Numba kernels and a robust ``cache=True`` decorator."""

import contextlib

import numba
from joblib import effective_n_jobs


def effective_n_threads(n_jobs):
    """Number of Numba threads to use for ``n_jobs`` (sklearn semantics).

    ``None`` means 1 unless inside ``joblib.parallel_config(n_jobs=...)``;
    negative values count back from the number of CPUs.  The result is capped at
    ``numba.config.NUMBA_NUM_THREADS``.

    Parameters
    ----------
    n_jobs : int or None
        Requested number of jobs.

    Returns
    -------
    n_threads : int
        A count in ``[1, NUMBA_NUM_THREADS]``.

    Examples
    --------
    >>> effective_n_threads(1)
    1
    """
    return max(1, min(effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS))


@contextlib.contextmanager
def numba_threads(n_jobs):
    """Set Numba's thread count for the block, and restore it afterwards.

    The count is restored in a ``finally`` clause, so an exception inside the
    block leaves the global setting as it was.  Numba's setting is per calling
    thread, so this is safe under joblib or dask threads.

    Parameters
    ----------
    n_jobs : int or None
        Requested number of jobs (see :func:`effective_n_threads`).

    Yields
    ------
    n_threads : int
        The thread count in force inside the block.

    Examples
    --------
    >>> import numba
    >>> before = numba.get_num_threads()
    >>> with numba_threads(1) as n:
    ...     n, numba.get_num_threads()
    (1, 1)
    >>> numba.get_num_threads() == before
    True
    """
    n_threads = effective_n_threads(n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        yield n_threads
    finally:
        numba.set_num_threads(previous)


def jit_cached(signature=None, **options):
    """``numba.njit(cache=True)`` that falls back to no caching when needed.

    Numba raises RuntimeError at decoration time when no cache directory is
    writable (read-only installs, zipped packages).  Importing densest must not
    fail then, so the kernel is compiled without a cache instead.

    Parameters
    ----------
    signature : str, list or None
        Explicit Numba signature(s), compiled eagerly when given.
    **options
        Other options passed to :func:`numba.njit`.

    Returns
    -------
    decorator : callable
        A decorator that returns the compiled dispatcher.

    Examples
    --------
    >>> @jit_cached()
    ... def twice(x):
    ...     return 2 * x
    >>> twice(3)
    6
    """

    def decorate(func):
        args = () if signature is None else (signature,)
        try:
            return numba.njit(*args, cache=True, **options)(func)
        except RuntimeError:
            return numba.njit(*args, cache=False, **options)(func)

    return decorate
