"""Cost of exact leave-one-out likelihood over a 30-value grid vs one score_samples pass.

For N(0, I_d) data with n points, every point held out (max_queries = n), times:
one ``KernelDensity.score_samples`` pass over the training set (n x n pairs) at the
bandwidth of ``--rule``; the same pass with every tile visited (``prune=False``:
at d <= 8 the engine otherwise skips tiles that add nothing); the LOO likelihood on
the 30-value ``chain_grid`` that ``loo_bandwidth`` starts from, 4 h down (3 doubling
chains of 10: one exponential per pair for all 30), and on a 30-value ``np.linspace``
grid over the same range (one exponential per pair and bandwidth). Also the whole
``loo_bandwidth`` rule with its default 2000 held-out points. One process, all
cores (or ``--n-jobs``); the one pass, the every-tile pass and the chain grid take
turns for ``--rounds`` rounds after a warm-up; the table gives the best time of each,
the chain grid's best over the one pass's best, and the median over rounds of the
ratio within a round, which this shared machine's drifts move less (the linspace
grid and the rule: best of 3).

Usage: python benchmarks/kde_loo.py [--n 10000] [--d 2 16 64 256] [--rounds 9] [--n-jobs -1]
       [--rule auto]
"""

import argparse
import os
import time

import numpy as np

from densest.kde import KernelDensity, bandwidth
from densest.kde._engine import log_sum_exp_terms
from densest.utils._machine import describe_cpu


def timed(funcs, repeats=5):
    """Times of each function in each round, shape (repeats, len(funcs)), after a
    warm-up; the functions take turns in each round so that all see the same state
    of this shared machine."""
    for func in funcs:
        func()
    times = np.empty((repeats, len(funcs)))
    for i in range(repeats):
        for j, func in enumerate(funcs):
            t0 = time.perf_counter()
            func()
            times[i, j] = time.perf_counter() - t0
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, nargs="+", default=[2, 16, 64, 256])
    parser.add_argument("--rounds", type=int, default=9,
                        help="rounds of the one pass, every-tile pass and chain grid")
    parser.add_argument("--n-jobs", type=int, default=-1, help="threads (-1: all cores)")
    parser.add_argument("--rule", default="auto", choices=sorted(bandwidth.RULES),
                        help="bandwidth of the one pass; the grid starts at 4 times it")  # fmt: skip
    args = parser.parse_args()
    print(f"machine: {describe_cpu()}, {os.cpu_count()} cores; "
          f"densest n_jobs={args.n_jobs}; n = {args.n}, every point held out; h = {args.rule} rule")  # fmt: skip
    print("| d | h | one pass (s) | all tiles (s) | LOO chain grid (s) | × one pass "
          "| × one pass, median round | × all tiles | LOO linspace grid (s) | × one pass "
          "| loo_bandwidth (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d in args.d:
        X = rng.standard_normal((args.n, d))
        h = bandwidth.RULES[args.rule](X)
        kde = KernelDensity(bandwidth=h, n_jobs=args.n_jobs).fit(X)
        Z = kde.reference_
        chain = bandwidth.chain_grid(4 * h)
        plain = np.linspace(chain[-1], chain[0], 30)
        rounds = timed([
            lambda: kde.score_samples(X),
            lambda: log_sum_exp_terms(Z, Z, kde._ref_sq, kde._log_weights, np.array([h]),
                                      "gaussian", n_jobs=args.n_jobs, prune=False),
            lambda: bandwidth.loo_log_likelihood(X, chain, max_queries=args.n, n_jobs=args.n_jobs),
        ], args.rounds)  # fmt: skip
        t_one, t_all, t_chain = rounds.min(axis=0)
        per_round = np.median(rounds[:, 2] / rounds[:, 0])
        t_plain, t_rule = timed([
            lambda: bandwidth.loo_log_likelihood(X, plain, max_queries=args.n, n_jobs=args.n_jobs),
            lambda: bandwidth.loo_bandwidth(X, n_jobs=args.n_jobs),
        ], repeats=3).min(axis=0)  # fmt: skip
        print(f"| {d} | {h:.3g} | {t_one:.3f} | {t_all:.3f} | {t_chain:.3f} | {t_chain / t_one:.2f} "
              f"| {per_round:.2f} | {t_chain / t_all:.2f} | {t_plain:.3f} | {t_plain / t_one:.2f} "
              f"| {t_rule:.3f} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
