"""Accuracy of KernelDensity.score_samples against brute force, by dimension, bandwidth and dtype.

For data N(0, diag(s^2)) with s uniform in [0.5, 2] (n points), three kinds of queries:
fresh draws of the same law, points next to the data (the first data points moved
by 0.1 h in a random direction, as when scoring the training set), and points where
log K is steep: the first data points moved by h sqrt(1 - g) (next to the edge of a
compact kernel's support) or, for the exponential and linear kernels, by h g (next
to the data point, where log K has an infinite slope in the squared distance), g
log-uniform in [1e-4, 1e-2]: log(1 - t^2) has the condition number t^2 / g, so the
reference's own error, its distances' rounding (about log2(d) u) over g, stays
below about 2e-11 there. Each log-density is
compared with an exact reference: explicit differences in float64 and scipy's
logsumexp (for float32 storage, on the points rounded to float32, so the table shows
the engine's own error). The column "GEMM bound" is 2 c sqrt(d) u (max|q|^2 +
max|y|^2) over both kinds of queries, with c = 1 / (2 h^2) and u the storage type's
unit roundoff: the rounding that distances from a GEMM can carry into a log-density.
Above d = 8 the engine checks it per call (``gemm_inexact``): float32 products give
way to float64 ones past 2e-4, and float64 ones to explicit differences past 1e-10.
The last column gives the largest |log p|: float64 itself rounds such values by
about 1e-16 of them.

Usage: python benchmarks/kde_accuracy.py [--n 2000] [--m 200] [--d 16 64 256]
       [--h 0.01 0.1 0.3 1.0] [--kernels gaussian exponential]
       (kernels: any of gaussian, tophat, epanechnikov, exponential, linear, cosine)
"""

import argparse
import math

import numpy as np
from scipy.special import logsumexp

from densest.kde import KernelDensity
from densest.kde._engine import log_kernel_norm
from densest.utils._machine import describe_cpu


def log_kernel(r, kernel):
    """log K at r = |q - y| / h, -inf outside a compact support."""
    inside = r < 1
    t = np.minimum(r, 1)
    with np.errstate(divide="ignore"):
        return {
            "gaussian": lambda: -0.5 * r**2,
            "tophat": lambda: np.where(inside, 0.0, -np.inf),
            "epanechnikov": lambda: np.where(inside, np.log1p(-(t**2)), -np.inf),
            "exponential": lambda: -r,
            "linear": lambda: np.where(inside, np.log1p(-t), -np.inf),
            "cosine": lambda: np.where(inside, np.log(np.cos(0.5 * np.pi * t)), -np.inf),
        }[kernel]()


def exact_log_density(X, Q, h, kernel):
    """Float64 explicit differences, chunked over the queries."""
    out = np.empty(len(Q))
    for start in range(0, len(Q), 50):
        q = Q[start : start + 50]
        r = np.sqrt(((q[:, None, :] - X[None, :, :]) ** 2).sum(-1)) / h
        out[start : start + 50] = logsumexp(log_kernel(r, kernel), axis=1)
    return out - math.log(len(X)) - log_kernel_norm(kernel, X.shape[1], h)


def steep_queries(X, step, h, kernel, rng):
    """The first data points moved to where log K is steep (see the module's docstring)."""
    g = 10.0 ** rng.uniform(-4, -2, (len(step), 1))
    reach = h * g if kernel in ("exponential", "linear") else h * np.sqrt(1 - g)
    return X[: len(step)] + reach * step


def max_error(got, ref):
    if not np.array_equal(np.isfinite(got), np.isfinite(ref)):
        return "non-finite"
    fin = np.isfinite(ref)
    if not fin.any():
        return "(all -inf)"
    return f"{np.max(np.abs(got[fin] - ref[fin])):.1e}"


def gemm_bound(Xs, Qs, h, dtype):
    u = np.finfo(dtype).eps / 2
    size = (Qs**2).sum(1).max() + (Xs**2).sum(1).max()
    return 2.0 * (0.5 / h**2) * math.sqrt(Xs.shape[1]) * u * size


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--m", type=int, default=200)
    parser.add_argument("--d", type=int, nargs="+", default=[16, 64, 256])
    parser.add_argument("--h", type=float, nargs="+", default=[0.01, 0.1, 0.3, 1.0])
    parser.add_argument("--kernels", nargs="+", default=["gaussian", "exponential"])
    args = parser.parse_args()
    print(f"machine: {describe_cpu()}; n = {args.n}, m = {args.m} queries of each kind")
    print("| kernel | d | h | dtype | GEMM bound | max error, fresh queries | max error, next to data "
          "| max error, log K steep | max abs log p |")
    print("|---|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d in args.d:
        X = rng.standard_normal((args.n, d)) * rng.uniform(0.5, 2.0, d)
        fresh = rng.standard_normal((args.m, d)) * X.std(0)
        step = rng.standard_normal((args.m, d))
        step /= np.linalg.norm(step, axis=1, keepdims=True)
        for kernel in args.kernels:
            for h in args.h:
                near = X[: args.m] + 0.1 * h * step
                steep = steep_queries(X, step, h, kernel, rng)
                for dtype in ("float64", "float32"):
                    kde = KernelDensity(bandwidth=h, kernel=kernel, dtype=dtype).fit(X)
                    Xs = (X - kde.location_).astype(dtype).astype(np.float64)
                    errors, size = [], 0.0
                    for Q in (fresh, near, steep):
                        Qs = (Q - kde.location_).astype(dtype).astype(np.float64)
                        got = kde.score_samples(Q)
                        errors.append(max_error(got, exact_log_density(Xs, Qs, h, kernel)))
                        size = max(size, np.max(np.abs(got[np.isfinite(got)]), initial=0.0))
                    bound = gemm_bound(Xs, np.vstack([fresh, near, steep]) - kde.location_, h, dtype)
                    print(f"| {kernel} | {d} | {h:g} | {dtype} | {bound:.1e} | {' | '.join(errors)} "
                          f"| {size:.3g} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
