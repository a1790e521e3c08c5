"""Thread control for Numba kernels and a robust ``cache=True`` decorator."""

import contextlib
import functools
import threading
import types

import numba
from joblib import effective_n_jobs

# Numba's workqueue threading layer (the fallback where neither OpenMP nor TBB is
# found) aborts the process when two Python threads run parallel kernels at once;
# launches then take this lock. TBB and OpenMP are thread-safe.
_LAUNCH_LOCK = threading.RLock()
_THREADSAFE_LAYERS = ("tbb", "omp")
_layer_threadsafe = None  # known after the first parallel launch
_granted = threading.local()  # n_threads of the innermost numba_threads block, per thread


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
    previous, previous_granted = numba.get_num_threads(), active_threads()
    numba.set_num_threads(n_threads)
    _granted.n_threads = n_threads
    try:
        yield n_threads
    finally:
        numba.set_num_threads(previous)
        _granted.n_threads = previous_granted


def active_threads():
    """Threads granted by the innermost :func:`numba_threads` block of the calling
    thread; 1 outside any block.

    Examples
    --------
    >>> with numba_threads(1):
    ...     active_threads()
    1
    """
    return getattr(_granted, "n_threads", 1)


def _threadsafe_layer():
    global _layer_threadsafe
    if _layer_threadsafe is None:
        try:
            _layer_threadsafe = numba.threading_layer() in _THREADSAFE_LAYERS
        except ValueError:  # no parallel kernel has run yet: the layer is not chosen
            return False
    return _layer_threadsafe


@contextlib.contextmanager
def parallel_section():
    """Run a parallel Numba kernel inside; one Python thread at a time where Numba's
    threading layer is not thread-safe (workqueue), concurrently otherwise.

    Examples
    --------
    >>> with parallel_section():
    ...     pass
    """
    if _threadsafe_layer():
        yield
        return
    with _LAUNCH_LOCK:
        yield


def _serialised(dispatcher):
    """A function calling the parallel ``dispatcher`` inside :func:`parallel_section`."""

    @functools.wraps(dispatcher.py_func)
    def call(*args):
        with parallel_section():
            return dispatcher(*args)

    call.py_func, call.dispatcher = dispatcher.py_func, dispatcher
    return call


def renamed(func, suffix, constants=None):
    """A copy of the function ``func`` named ``<name>_<suffix>``.

    Numba's on-disk cache is keyed by a function's qualified name, not by its
    compile options, so twins compiled with different options need their own names.
    ``constants`` (a dict) replaces module globals for the copy only: Numba reads
    globals as compile-time constants, so a twin can be specialised on one.
    """
    scope = func.__globals__ if not constants else {**func.__globals__, **constants}
    twin = types.FunctionType(func.__code__, scope, f"{func.__name__}_{suffix}",
                              func.__defaults__, func.__closure__)  # fmt: skip
    twin.__qualname__ = twin.__name__
    twin.__doc__, twin.__module__ = func.__doc__, func.__module__
    return twin


def jit_twins(signature=None, **options):
    """A parallel kernel and its serial twin, :func:`jit_cached`; the call runs the
    serial twin unless the innermost :func:`numba_threads` block grants more than
    one thread.

    The serial twin never enters Numba's threading layer. That layer is not
    fork-safe under GNU OpenMP: a process forked after its parent ran a parallel
    kernel (a multiprocessing worker on Linux) is terminated when it runs one
    itself. With the default ``n_jobs=None`` densest therefore stays out of it.

    Parameters
    ----------
    signature : str, list or None
        Explicit Numba signature(s).
    **options
        Other options passed to :func:`numba.njit` (not ``parallel``).

    Returns
    -------
    decorator : callable
        Returns a function with attributes ``parallel``, ``serial`` (the twins) and
        ``py_func``.

    Examples
    --------
    >>> @jit_twins()
    ... def total(x):
    ...     s = 0.0
    ...     for i in numba.prange(x.shape[0]):
    ...         s += x[i]
    ...     return s
    >>> import numpy as np
    >>> total(np.ones(4))
    4.0
    """

    def decorate(func):
        parallel = jit_cached(signature, parallel=True, **options)(renamed(func, "parallel"))
        serial = jit_cached(signature, parallel=False, **options)(renamed(func, "serial"))

        @functools.wraps(func)
        def call(*args):
            return parallel(*args) if active_threads() > 1 else serial(*args)

        call.parallel, call.serial, call.py_func = parallel, serial, func
        return call

    return decorate


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
        A decorator that returns the compiled dispatcher; with ``parallel=True``,
        a function that calls it inside :func:`parallel_section` (its
        ``dispatcher`` and ``py_func`` attributes give the dispatcher and the
        Python function).

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
            dispatcher = numba.njit(*args, cache=True, **options)(func)
        except RuntimeError:
            dispatcher = numba.njit(*args, cache=False, **options)(func)
        return _serialised(dispatcher) if options.get("parallel") else dispatcher

    return decorate
