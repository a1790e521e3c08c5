from contextlib import contextmanager

import pytest


@pytest.fixture
def engine_parts(monkeypatch):
    """Calls of the KDE kernels made through ``_engine._by_norm`` (the split by norm),
    recorded as (queries, reference points, explicit differences, points' dtype)."""
    from densest.kde import _engine

    calls = []
    real = _engine._by_norm

    def spy(run, *args):
        def recording(Q, qsq, tiles, index, direct):
            calls.append((len(Q), tiles.Y.shape[0], bool(direct), tiles.Y.dtype.name))
            return run(Q, qsq, tiles, index, direct)

        return real(recording, *args)

    monkeypatch.setattr(_engine, "_by_norm", spy)
    return calls


@pytest.fixture
def nrt_allocations():
    """A context manager that counts Numba's allocations within it: it yields a dict
    given, on exit, the numbers of buffers allocated and freed ("alloc", "free") and
    of their memory-info records ("mi_alloc", "mi_free")."""
    from numba.core.runtime import _nrt_python, rtsys

    @contextmanager
    def counting():
        counts = {}
        _nrt_python.memsys_enable_stats()
        try:
            before = rtsys.get_allocation_stats()
            yield counts
            after = rtsys.get_allocation_stats()
        finally:
            _nrt_python.memsys_disable_stats()
        counts.update({key: getattr(after, key) - getattr(before, key)
                       for key in ("alloc", "free", "mi_alloc", "mi_free")})  # fmt: skip

    return counting
