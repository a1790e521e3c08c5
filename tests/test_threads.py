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


FORK_SCRIPT = textwrap.dedent("""
    import multiprocessing as mp
    import numpy as np
    from densest.ar import LeastSquaresAR
    from densest.eeg import embedding
    from densest.kde import KernelDensity

    y = np.random.default_rng(1).standard_normal(3000)
    E = np.random.default_rng(2).standard_normal((2, 2, 200))
    X = np.random.default_rng(0).standard_normal((500, 3))
    # the parent runs every family's parallel kernels first
    expected = (LeastSquaresAR(order=3, n_jobs=2).fit(y).coef_,
                embedding.cao_statistics(E, lag=1, max_order=3, n_jobs=2)[0],
                KernelDensity(bandwidth=0.5, n_jobs=2).fit(X).score_samples(X))

    def work(i):
        got = (LeastSquaresAR(order=3).fit(y).coef_, embedding.cao_statistics(E, lag=1, max_order=3)[0],
               KernelDensity(bandwidth=0.5).fit(X).score_samples(X))
        return all(np.allclose(a, b, rtol=1e-12, atol=0) for a, b in zip(got, expected))

    if __name__ == "__main__":
        with mp.get_context("fork").Pool(2) as pool:
            print(all(pool.map_async(work, range(4)).get(timeout=300)))
""")


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_workers_run_after_the_parent_ran_parallel_kernels(tmp_path):
    # With GNU OpenMP, a process forked after its parent ran a parallel kernel is
    # terminated when it runs one itself: the AR and EEG kernels had no serial twin,
    # so multiprocessing workers (fork, Linux's default) died and the pool hung.
    script = tmp_path / "fork_check.py"
    script.write_text(FORK_SCRIPT)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["True"]
