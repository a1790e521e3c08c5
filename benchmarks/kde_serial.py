"""The serial twins (``n_jobs=None``, the default) against the parallel kernels on one thread.

With ``n_jobs=None`` densest runs the serial twin of each kernel, which never enters
Numba's threading layer (see ``densest.utils._parallel.jit_twins``). Both twins are
compiled from the same code, so on one thread they should take the same time. For
N(0, I_d) data with n points and m = n queries, this times ``score_samples`` at
the ``auto`` rule's bandwidth h (the one pass) and the leave-one-out likelihood
over the 30-value ``chain_grid`` from 4 h down (every point held out), and the
nearest-neighbour rule ``nn_bandwidth`` on every point, each
- with ``n_jobs=None`` (the serial twin),
- with the parallel kernel put in the serial twin's place, on one thread (a
  reference: what one thread can do),
- with ``n_jobs=-1`` (all cores),
taking turns within each round; the table gives the best of ``--rounds`` rounds.

Usage: python benchmarks/kde_serial.py [--n 10000] [--d 2 16 64] [--rounds 7]
"""

import argparse
import os
import time

import numpy as np

from densest.kde import KernelDensity, _kernels, bandwidth
from densest.utils._machine import describe_cpu


def best_times(funcs, rounds):
    """Best time of each function over the rounds, after a warm-up; the
    functions take turns in each round."""
    for func in funcs:
        func()
    times = np.full(len(funcs), np.inf)
    for _ in range(rounds):
        for j, func in enumerate(funcs):
            t0 = time.perf_counter()
            func()
            times[j] = min(times[j], time.perf_counter() - t0)
    return times


def with_parallel_kernels(func):
    """func, run with the parallel kernels in place of the serial twins."""
    serial = _kernels.tile_sums, _kernels.nearest_sq, _kernels.chain_sums

    def run():
        _kernels.tile_sums = lambda parallel, dtype: serial[0](True, dtype)
        _kernels.nearest_sq = lambda parallel: serial[1](True)
        _kernels.chain_sums = lambda parallel, equal_weights: serial[2](True, equal_weights)
        try:
            return func()
        finally:
            _kernels.tile_sums, _kernels.nearest_sq, _kernels.chain_sums = serial

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, nargs="+", default=[2, 16, 64])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {describe_cpu()}, {os.cpu_count()} cores; n = m = {args.n}; best of {args.rounds} rounds")
    print("| d | task | serial twin (s) | parallel kernel, 1 thread (s) | serial / parallel | all cores (s) |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d in args.d:
        X = rng.standard_normal((args.n, d))
        h = bandwidth.RULES["auto"](X)
        grid = bandwidth.chain_grid(4 * h)
        one = KernelDensity(bandwidth=h).fit(X)
        every = KernelDensity(bandwidth=h, n_jobs=-1).fit(X)
        tasks = {
            "score_samples": (lambda: one.score_samples(X), lambda: every.score_samples(X)),
            "LOO, 30 values": (lambda: bandwidth.loo_log_likelihood(X, grid, max_queries=args.n),
                               lambda: bandwidth.loo_log_likelihood(X, grid, max_queries=args.n, n_jobs=-1)),
        }  # fmt: skip
        tasks["nn rule"] = (lambda: bandwidth.nn_bandwidth(X, max_queries=args.n),
                            lambda: bandwidth.nn_bandwidth(X, max_queries=args.n, n_jobs=-1))
        for name, (serial, all_cores) in tasks.items():
            t_serial, t_parallel, t_all = best_times([serial, with_parallel_kernels(serial), all_cores], args.rounds)
            print(f"| {d} | {name} | {t_serial:.4f} | {t_parallel:.4f} | {t_serial / t_parallel:.2f} | {t_all:.4f} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
