"""Least-squares AR fit time and peak memory: densest vs statsmodels AutoReg and numpy lstsq.

AR(3) series [0.2, 0.3, -0.5] (the AR-Net paper's sparse setting), trend "c".
For each order p (N = 1e5 by default) and for N = 1e6 at p = 1000: fit time
(also of SparseAR, the adaptive-lasso path with BIC and refit, and of ARNet,
the torch AR-Net with its defaults on the CPU: 30 000+ Adam steps of batch 32)
(best of 3 for LeastSquaresAR, one run for the others), peak memory traced by
tracemalloc during the fit (numpy registers its buffers there), the max abs
coefficient difference from AutoReg, and log-log slopes of time in p. A
reference whose lag matrix would exceed --max-gb is skipped, and said so.
One process; densest with one Numba thread and with all cores, BLAS at its
default thread count for the references.

Usage: python benchmarks/ar_speed.py [--orders 10 100 500 1000] [--n 100000] [--max-gb 6] [--arnet-max-n 100000]
"""

import argparse
import os
import platform
import time
import tracemalloc
import warnings

import numpy as np

from densest.ar import LeastSquaresAR
from densest.datasets import make_ar_process


def measure(func, repeats=1):
    """(best time, peak traced MB, result)."""
    times, peak, out = [], 0.0, None
    for _ in range(repeats):
        tracemalloc.start()
        t0 = time.perf_counter()
        out = func()
        times.append(time.perf_counter() - t0)
        peak = max(peak, tracemalloc.get_traced_memory()[1] / 2**20)
        tracemalloc.stop()
    return min(times), peak, out


def densest_fit(y, p, n_jobs):
    model = LeastSquaresAR(p, n_jobs=n_jobs).fit(y)
    return np.concatenate([[model.intercept_], model.coef_])


def sparse_fit(y, p):
    from densest.ar import SparseAR

    model = SparseAR(p, n_jobs=1).fit(y)
    return np.concatenate([[model.intercept_], model.coef_])


def arnet_fit(y, p):
    from densest.ar import ARNet

    model = ARNet(p, device="cpu", random_state=0).fit(y)
    return np.concatenate([[model.intercept_], model.coef_])


def autoreg_fit(y, p):
    from statsmodels.tsa.ar_model import AutoReg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return AutoReg(y, lags=p, trend="c").fit().params


def lstsq_fit(y, p):
    rows = np.lib.stride_tricks.sliding_window_view(y, p + 1)
    X = np.column_stack([np.ones(len(rows)), rows[:, p - 1::-1]])
    return np.linalg.lstsq(X, rows[:, p], rcond=None)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, nargs="+", default=[10, 100, 500, 1000])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--big-n", type=int, default=1_000_000)
    parser.add_argument("--max-gb", type=float, default=6.0)
    parser.add_argument("--arnet-max-n", type=int, default=100_000,
                        help="largest N for ARNet (10 epochs of N / 32 steps each)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    LeastSquaresAR(5).fit(make_ar_process([0.5], 1000, random_state=0))  # compile
    cases = [(args.n, p) for p in args.orders] + [(args.big_n, max(args.orders))]
    print("| N | p | method | time (s) | peak MB | × densest (1 thread) | max abs Δ vs AutoReg |")
    print("|---|---|---|---|---|---|---|")
    timings = {}
    for n, p in cases:
        y = make_ar_process([0.2, 0.3, -0.5], n, random_state=0)
        lag_gb = 8 * n * (p + 1) / 1e9
        ref = None
        rows = [("densest 1 thread", lambda: densest_fit(y, p, 1), 3),
                ("densest all cores", lambda: densest_fit(y, p, -1), 3),
                ("densest SparseAR (adaptive lasso, BIC), 1 thread", lambda: sparse_fit(y, p), 1)]
        if n <= args.arnet_max_n:
            rows.append(("densest ARNet (torch CPU, defaults)", lambda: arnet_fit(y, p), 1))
        if lag_gb * 4 <= args.max_gb:
            rows += [("statsmodels AutoReg", lambda: autoreg_fit(y, p), 1),
                     ("numpy lstsq on the lag matrix", lambda: lstsq_fit(y, p), 1)]
        else:
            print(f"| {n} | {p} | AutoReg, lstsq | skipped: lag matrix alone {lag_gb:.1f} GB | | | |")
        results = {name: measure(func, reps) for name, func, reps in rows}
        if "statsmodels AutoReg" in results:
            ref = results["statsmodels AutoReg"][2]
        base = results["densest 1 thread"][0]
        for name, (t, mb, params) in results.items():
            diff = "" if ref is None or "Sparse" in name else f"{np.abs(params - ref).max():.1e}"
            print(f"| {n} | {p} | {name} | {t:.4f} | {mb:.0f} | {t / base:.1f} | {diff} |", flush=True)
            timings.setdefault((n, name), []).append((p, t))
    print("\nlog-log slope of time in p (N fixed):")
    for (n, name), pts in timings.items():
        if len(pts) >= 2:
            ps, ts = np.log([q for q, _ in pts]), np.log([t for _, t in pts])
            print(f"  N={n} {name}: {np.polyfit(ps, ts, 1)[0]:.2f}")


if __name__ == "__main__":
    main()
