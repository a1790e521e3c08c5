"""score_samples on heavy-tailed data: GEMM products for most pairs, explicit differences for the far ones.

Above d = 8 the engine forms squared distances with a GEMM, |q|^2 + |y|^2 - 2 q.y,
whose rounding grows with the squared norms. Where the largest norms make it
inexact (``gemm_inexact``), only the pairs with a far query or a far reference
point (squared norm above half of ``gemm_norm_limit``) take explicit differences;
before session 15 the whole call did. Data: multivariate Student t with nu degrees
of freedom (nu = inf: Gaussian), n reference points and m queries of the same law,
the default bandwidth rule. Columns: the far reference points, densest's time (best
of --repeats), the time with explicit differences for every pair (the engine called
with ``direct=True``, as every such call ran before), and the max error against
float64 explicit differences and scipy's logsumexp on 100 of the queries.

With --dtype float32 the points are stored in float32: the bulk's pairs then take
float32 products (explicit differences read float32 points as they are), unless more
than a tenth of the pairs have a far point, in which case the call works on float64
copies; errors are against the stored points.

Usage: python benchmarks/kde_tails.py [--n 50000] [--m 5000] [--d 16 32 64] [--nu inf 5 2 1]
       [--repeats 3] [--dtype float64]
"""

import argparse
import math
import os
import time

import numpy as np
from scipy.special import logsumexp

from densest.kde import KernelDensity
from densest.kde._engine import gemm_norm_limit, log_kernel_norm, log_sum_exp_terms
from densest.utils._machine import describe_cpu


def student_t(rng, size, d, nu):
    Z = rng.standard_normal((size, d))
    if math.isinf(nu):
        return Z
    return Z / np.sqrt(rng.chisquare(nu, size=(size, 1)) / nu)


def best_of(repeats, func):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - start)
    return min(times), out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--m", type=int, default=5000)
    parser.add_argument("--d", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--nu", type=float, nargs="+", default=[math.inf, 5.0, 2.0, 1.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    args = parser.parse_args()
    print(f"machine: {describe_cpu()}, {os.cpu_count()} cores; densest n_jobs=-1; "
          f"n = {args.n}, m = {args.m}; bandwidth: the default rule; {args.dtype}")  # fmt: skip
    print("| d | nu | h | far reference points (far queries) | densest (s) | explicit differences for all (s) | ratio "
          "| max error |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for d in args.d:
        for nu in args.nu:
            Z = student_t(rng, args.n + args.m, d, nu)
            X, Q = Z[: args.n], Z[args.n :]
            kde = KernelDensity(n_jobs=-1, dtype=args.dtype).fit(X)
            h = kde.bandwidth_
            kde.score_samples(Q[:10])
            t_auto, logp = best_of(args.repeats, lambda: kde.score_samples(Q))
            Y, Qs = kde.reference_, kde._standardised(Q).astype(args.dtype)
            ysq = np.einsum("ij,ij->i", Y, Y, dtype=np.float64)

            def all_direct():
                return log_sum_exp_terms(Qs, Y, ysq, kde._log_weights, np.array([h]), "gaussian",
                                         n_jobs=-1, direct=True)  # fmt: skip

            t_direct, _ = best_of(args.repeats, all_direct)
            limit = gemm_norm_limit(d, 0.5 / h**2, args.dtype)
            qsq = np.einsum("ij,ij->i", Qs, Qs, dtype=np.float64)
            far = f"{np.sum(ysq > 0.5 * limit)} of {args.n} (queries: {np.sum(qsq > 0.5 * limit)})"
            if ysq.max() + qsq.max() <= limit:
                far = "none: all GEMM"
            sub = Qs[:100].astype(np.float64)
            d2 = ((sub[:, None, :] - Y[None].astype(np.float64)) ** 2).sum(-1)
            exact = (logsumexp(-d2 / (2 * h * h), axis=1) - math.log(args.n)
                     - log_kernel_norm("gaussian", d, h) + kde.log_det_scaling_)  # fmt: skip
            error = np.abs(logp[:100] - exact).max()
            print(f"| {d} | {nu:g} | {h:.3g} | {far} | {t_auto:.3f} | {t_direct:.3f} | "
                  f"{t_direct / t_auto:.2f} | {error:.1e} |")  # fmt: skip


if __name__ == "__main__":
    main()
