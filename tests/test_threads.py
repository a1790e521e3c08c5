"""Parallel kernels called from several Python threads at once, under every threading layer."""

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import numpy as np
    from concurrent.futures import ThreadPoolExecutor
    import numba
    from densest.ar import LeastSquaresAR
    from densest.eeg import embedding
    from densest.kde import KernelDensity

    X = np.random.default_rng(0).standard_normal((2000, 3))
    kde = KernelDensity(bandwidth=0.5, n_jobs=2).fit(X)
    y = np.random.default_rng(1).standard_normal(3000)
    E = np.random.default_rng(2).standard_normal((2, 2, 200))
    expected = (kde.score_samples(X), LeastSquaresAR(order=3, n_jobs=2).fit(y).coef_,
                embedding.cao_statistics(E, lag=1, max_order=3)[0])

    def work(i):
        got = (kde.score_samples(X), LeastSquaresAR(order=3, n_jobs=2).fit(y).coef_,
               embedding.cao_statistics(E, lag=1, max_order=3)[0])
        return all(np.array_equal(a, b) for a, b in zip(got, expected))

    with ThreadPoolExecutor(4) as pool:
        print(numba.threading_layer(), all(pool.map(work, range(12))))
""")


@pytest.mark.slow
@pytest.mark.parametrize("layer", ["workqueue", "default"])
def test_concurrent_threads_get_exact_results(layer):
    # Under the workqueue layer (Numba's fallback without OpenMP or TBB), two threads
    # launching parallel kernels at once aborted the whole process.
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=900)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    name, exact = done.stdout.split()
    assert exact == "True"
    if layer == "workqueue":
        assert name == "workqueue"
