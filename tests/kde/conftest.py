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
