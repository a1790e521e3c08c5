"""score_samples time for each kernel: densest against scikit-learn's KernelDensity.

For N(0, I_d) data with n points and m fresh queries, h = sqrt(2 d) / 2 (the compact
supports reach about a third of the points), times densest (all cores, best of 3) and
scikit-learn's KernelDensity (its default kd_tree with atol = rtol = 0, once), in ns per
pair, with the ratio and each one's largest error against an exact float64 reference
(explicit differences, scipy's logsumexp) on the first 100 queries. One process.

Usage: python benchmarks/kde_kernels.py [--n 20000] [--m 2000] [--d 2 16]
"""

import argparse
import math
import os
import time

import numpy as np
from scipy.special import logsumexp
from sklearn.neighbors import KernelDensity as SkKDE

from densest.kde import KernelDensity
from densest.kde._engine import KERNELS, log_kernel_norm
from densest.utils._machine import describe_cpu


def exact(X, Q, h, kernel):
    """Exact log-densities: explicit differences in float64 and scipy's logsumexp."""
    r = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1)) / h
    inside = r < 1
    with np.errstate(divide="ignore", invalid="ignore"):
        log_k = {
            "gaussian": -0.5 * r**2,
            "tophat": np.where(inside, 0.0, -np.inf),
            "epanechnikov": np.where(inside, np.log1p(-np.minimum(r, 1) ** 2), -np.inf),
            "exponential": -r,
            "linear": np.where(inside, np.log1p(-np.minimum(r, 1)), -np.inf),
            "cosine": np.where(inside, np.log(np.cos(0.5 * np.pi * np.minimum(r, 1))), -np.inf),
        }[kernel]
    return logsumexp(log_k, axis=1) - math.log(len(X)) - log_kernel_norm(kernel, X.shape[1], h)


def best_of(repeats, func, *args):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = func(*args)
        times.append(time.perf_counter() - t0)
    return min(times), out


def max_error(values, ref):
    fin = np.isfinite(ref)
    if not np.array_equal(fin, np.isfinite(values)):
        return "non-finite"
    return f"{np.abs(values[fin] - ref[fin]).max():.1e}" if fin.any() else "0"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--m", type=int, default=2000)
    parser.add_argument("--d", type=int, nargs="+", default=[2, 16])
    args = parser.parse_args()
    print(f"machine: {describe_cpu()}, {os.cpu_count()} cores; densest n_jobs=-1, scikit-learn one thread")
    print("| d | kernel | densest (ns per pair) | sklearn (ns per pair) | sklearn / densest "
          "| densest max err | sklearn max err |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d in args.d:
        X = rng.standard_normal((args.n, d))
        Q = rng.standard_normal((args.m, d))
        h = math.sqrt(2 * d) / 2
        pairs = args.n * args.m
        for kernel in KERNELS:
            ref = exact(X, Q[:100], h, kernel)
            kde = KernelDensity(bandwidth=h, kernel=kernel, n_jobs=-1).fit(X)
            kde.score_samples(Q[:10])
            t_ours, ours = best_of(3, kde.score_samples, Q)
            sk = SkKDE(bandwidth=h, kernel=kernel).fit(X)
            t_sk, theirs = best_of(1, sk.score_samples, Q)
            print(f"| {d} | {kernel} | {t_ours / pairs * 1e9:.2f} | {t_sk / pairs * 1e9:.1f} "
                  f"| {t_sk / t_ours:.1f} | {max_error(ours[:100], ref)} | {max_error(theirs[:100], ref)} |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
