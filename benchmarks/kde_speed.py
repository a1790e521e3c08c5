"""score_samples speed and accuracy: densest vs scikit-learn, scipy, KDEpy, statsmodels, numpy.

Gaussian data N(0, I_d), Scott's bandwidth (unscaled, as sklearn's), n training points,
m queries. Every method is timed in this one process after a warm-up. An anchor whose
full run would exceed --budget seconds is timed on a subset of the queries (and, for
KDEpy's Naive loop over training points, of the training set) and extrapolated
linearly; such rows are marked '*'. Errors are max |log p - exact| on 200 queries,
exact = float64 log-sum-exp over explicit differences |x - y|^2.

densest is timed as the best of --repeats runs (default 3; anchors once: they take minutes).
For d <= 8 it skips tiles that add less than e^-40 of each query's sum (k-d tree order);
the row "every tile" times the same engine visiting all n m pairs (prune=False).
Also printed: this machine's peak float64 GEMM rate (the faster of numpy's BLAS on 2048^3 and
densest's own tile kernel) and exp rate (the engine's Gaussian sweep over in-cache terms in a
parallel Numba loop: its own vectorised exponential, AVX-512 or exp_clamped; libm's exp is
5-10x slower) on all cores, and densest's time
over the bound max(2 n m d / GEMM rate, n m / exp rate), and over the same bound with BLAS's rate.
For d > 8 the row "GEMM tiles alone"
times just the distance products on densest's tiles (all cores; the engine's own kernel up to
OWN_MAX_D: d = 2048 with AVX-512, d = 24 with AVX2; 1-thread BLAS per tile above);
with n m / exp rate added it is the floor of computing the two one after the other.

Usage: python benchmarks/kde_speed.py [--n 10000 100000] [--d 2 16 64 256] [--m 10000] [--repeats 3]
       [--budget 60] [--no-anchors]
"""

import argparse
import math
import os
import platform
import time

import numpy as np
from scipy.special import logsumexp
from threadpoolctl import threadpool_info

from densest.kde import KernelDensity
from densest.kde._engine import DIRECT_MAX_D, one_blas_thread, log_sum_exp_terms, tile_sizes
from densest.utils._machine import describe_cpu
from densest.utils._parallel import numba_threads


def timed(func, *args):
    t0 = time.perf_counter()
    out = func(*args)
    return time.perf_counter() - t0, out


def best_of(repeats, func, *args):
    """Shortest of several timings (this machine is shared) and the output."""
    runs = [timed(func, *args) for _ in range(repeats)]
    return min(t for t, _ in runs), runs[0][1]


def exact_log_density(X, Q, h):
    d = X.shape[1]
    out = np.empty(len(Q))
    for i, q in enumerate(Q):
        d2 = ((X - q) ** 2).sum(1)
        out[i] = logsumexp(-d2 / (2 * h * h))
    return out - math.log(len(X)) - 0.5 * d * math.log(2 * math.pi * h * h)


def numpy_blocked(X, Q, h, block=2048):
    d = X.shape[1]
    xsq = (X * X).sum(1)
    out = np.empty(len(Q))
    for i in range(0, len(Q), block):
        q = Q[i:i + block]
        d2 = (q * q).sum(1)[:, None] + xsq[None, :] - 2.0 * q @ X.T
        out[i:i + block] = logsumexp(-d2 / (2 * h * h), axis=1)
    return out - math.log(len(X)) - 0.5 * d * math.log(2 * math.pi * h * h)


def gemm_rate():
    """Peak float64 GEMM rate (numpy/OpenBLAS, all cores): best of 7 products 2048^3."""
    A = np.random.default_rng(0).standard_normal((2048, 2048))
    A @ A
    return 2 * 2048**3 / min(timed(lambda: A @ A)[0] for _ in range(7))


def tile_kernel_rate():
    """Peak float64 rate of densest's own register-blocked product kernel (all cores):
    each thread multiplies its in-cache 512 x 256 block of queries by a 256 x 256 tile
    (d = 256), best of 7. Where it beats BLAS (AVX-512 kernels against an OpenBLAS
    held to AVX2 by OPENBLAS_CORETYPE), the machine's GEMM peak is its rate."""
    import numba

    from densest.kde._kernels import product_blocks

    @numba.njit(parallel=True)
    def products(qb, yt, reps):
        total = 0.0
        for t in numba.prange(numba.get_num_threads()):
            G = np.empty((qb.shape[0], yt.shape[1]))
            for _ in range(reps):
                product_blocks(qb, yt, G)
            total += G[t, 0]
        return total

    rng = np.random.default_rng(0)
    qb, yt = rng.standard_normal((512, 256)), rng.standard_normal((256, 256))
    products(qb, yt, 1)
    reps = 20
    t = min(timed(products, qb, yt, reps)[0] for _ in range(7))
    return 2 * 512 * 256 * 256 * reps * numba.get_num_threads() / t


def exp_rate():
    """Fastest exp on this machine: the engine's Gaussian sweep, one exponent (a multiply-add),
    one exponential and one addition per term, in a parallel Numba loop (best of 7)."""
    import numba

    from densest.kde._kernels import FASTMATH, _gaussian_sums

    @numba.njit(parallel=True, fastmath=FASTMATH)
    def sum_exp(d2, a, reps):
        total = 0.0
        for t in numba.prange(reps):
            total += _gaussian_sums(d2, a, 1.0, t * 1e-12, d2.shape[0], False)[0]
        return total

    d2 = np.random.default_rng(0).uniform(0, 50, 4096)
    a = np.zeros((1, d2.size))
    sum_exp(d2, a, 2)
    t = min(timed(sum_exp, d2, a, 20_000)[0] for _ in range(7))
    return 20_000 * d2.size / t


def tile_gemm_time(X, Q, repeats):
    """Best time of the products Q X^T alone, on densest's tiles and threads, by the
    engine's own routine and buffers (its register-blocked kernel up to d = OWN_MAX_D, else
    BLAS)."""
    import numba

    from densest.kde._kernels import _tile_buffers, query_block, tile_products

    @numba.njit(parallel=True)
    def products(Q, Y, q_block, t_block):
        m, n = Q.shape[0], Y.shape[0]
        total = 0.0
        for qt in numba.prange((m + q_block - 1) // q_block):
            q0 = qt * q_block
            q1 = min(q0 + q_block, m)
            buf, yt, qb, _, _ = _tile_buffers(Q, q1 - q0, t_block, 0, 0)
            query_block(Q, q0, q1, qb)
            for t0 in range(0, n, t_block):
                G = tile_products(Q, q0, q1, Y, t0, min(t0 + t_block, n), qb, yt, buf)
                total += G[0, 0]
        return total

    with numba_threads(-1) as n_threads, one_blas_thread():
        q_block, t_block = tile_sizes(len(Q), len(X), X.shape[1], n_threads, "auto")
        products(Q[:q_block], X[:t_block], q_block, t_block)
        return best_of(repeats, products, Q, X, q_block, t_block)[0]


def anchors(X, h, d):
    """(name, function of queries, training subset factor or None)."""
    from sklearn.neighbors import KernelDensity as SkKDE
    from scipy import stats

    out = [
        ("numpy GEMM+logsumexp f64", lambda Q: numpy_blocked(X, Q, h), None),
        ("sklearn kd_tree exact", lambda Q: SkKDE(bandwidth=h).fit(X).score_samples(Q), None),
        ("sklearn kd_tree rtol=1e-4",
         lambda Q: SkKDE(bandwidth=h, rtol=1e-4).fit(X).score_samples(Q), None),
    ]
    if d <= len(X):
        scipy_kde = stats.gaussian_kde(X.T, bw_method=1.0)
        scipy_kde.set_bandwidth(bw_method=1.0)
        scipy_kde.covariance = np.eye(d) * h * h
        scipy_kde.cho_cov = np.eye(d) * h
        scipy_kde.log_det = 2 * d * math.log(h)
        out.append(("scipy gaussian_kde.logpdf", lambda Q: scipy_kde.logpdf(Q.T), None))
    try:
        from KDEpy import NaiveKDE

        out.append(("KDEpy NaiveKDE (log of pdf)",
                    lambda Q, Xs=None: np.log(NaiveKDE(bw=h).fit(X if Xs is None else Xs).evaluate(Q)),
                    "train"))
    except ImportError:
        print("  KDEpy not installed (pip install densest[bench]): skipped")
    try:
        from statsmodels.nonparametric.kernel_density import KDEMultivariate

        out.append(("statsmodels KDEMultivariate (log of pdf)",
                    lambda Q: np.log(KDEMultivariate(X, var_type="c" * d, bw=[h] * d).pdf(Q)),
                    None))
    except ImportError:
        print("  statsmodels not installed (pip install densest[bench]): skipped")
    return out


def run_anchor(func, kind, X, Q, budget):
    """Time func on a subset sized to the budget; return (seconds for all of Q, outputs, flag)."""
    m = len(Q)
    probe = 16
    t_probe, _ = timed(func, Q[:probe])
    estimate = t_probe * m / probe
    if estimate <= budget:
        t, out = timed(func, Q)
        return t, out, ""
    if kind == "train":
        # KDEpy's Naive loops over training points: time a training subset, scale up.
        n_sub = max(200, int(len(X) * budget / 4 / estimate))
        t, _ = timed(lambda q: func(q, X[:n_sub]), Q[:200])
        return t * (len(X) / n_sub) * (m / 200), func(Q[:200]), "*"
    n_sub = max(probe, int(m * min(budget / 4, 4.0) / estimate))
    t, out = timed(func, Q[:n_sub])
    return t * m / n_sub, func(Q[:200]) if n_sub < 200 else out, "*"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--d", type=int, nargs="+", default=[2, 16, 64, 256])
    parser.add_argument("--m", type=int, default=10_000)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--no-anchors", action="store_true")
    parser.add_argument("--repeats", type=int, default=3, help="densest timings: best of this many runs")
    args = parser.parse_args()

    print(f"machine: {describe_cpu()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}")
    for info in threadpool_info():
        print(f"  {info['internal_api']} {info.get('version')} threads={info['num_threads']}")
    rate_exp = exp_rate()
    rate_blas = gemm_rate()
    rate_own = tile_kernel_rate()
    rate_gemm = max(rate_blas, rate_own)
    print(f"GEMM rate (float64 peak, all cores): {rate_gemm / 1e9:.1f} GF/s "
          f"(numpy BLAS 2048^3 {rate_blas / 1e9:.1f}, densest's tile kernel {rate_own / 1e9:.1f})")
    print(f"exp rate (the engine's Gaussian sweep, all cores): {rate_exp / 1e9:.2f} Gelem/s")
    rng = np.random.default_rng(0)
    rows = []
    for n in args.n:
        for d in args.d:
            X = rng.standard_normal((n, d))
            Q = rng.standard_normal((args.m, d))
            h = n ** (-1.0 / (d + 4))
            ref = exact_log_density(X, Q[:200], h)
            bound = max(2 * n * args.m * d / rate_gemm, n * args.m / rate_exp)
            bound_blas = max(2 * n * args.m * d / rate_blas, n * args.m / rate_exp)
            kde = KernelDensity(bandwidth=h, n_jobs=-1).fit(X)
            kde.score_samples(Q[:64])
            t_ours, out = best_of(args.repeats, kde.score_samples, Q)
            kde32 = KernelDensity(bandwidth=h, n_jobs=-1, dtype="float32").fit(X)
            kde32.score_samples(Q[:64])
            t_32, out32 = best_of(args.repeats, kde32.score_samples, Q)
            err = np.abs(out[:200] - ref).max()
            err32 = np.abs(out32[:200] - ref).max()
            print(f"\nn={n} d={d} h={h:.3f} bound {bound:.3f}s (with BLAS's rate {bound_blas:.3f}s)")
            print(f"  {'method':<42}{'time (s)':>10}{'x densest':>11}{'max |err|':>11}")
            print(f"  {'densest f64':<42}{t_ours:>10.3f}{1.0:>11.2f}{err:>11.1e}"
                  f"   ({t_ours / bound:.2f}x bound, {t_ours / bound_blas:.2f}x with BLAS's rate)")
            print(f"  {'densest float32':<42}{t_32:>10.3f}{t_32 / t_ours:>11.2f}{err32:>11.1e}")
            if d <= DIRECT_MAX_D:
                Z = kde._transform(Q)
                t_all, _ = best_of(args.repeats, lambda: log_sum_exp_terms(
                    Z, kde.reference_, kde._ref_sq, kde._log_weights, np.array([h]), "gaussian",
                    n_jobs=-1, prune=False))  # fmt: skip
                print(f"  {'densest f64, every tile (prune=False)':<42}{t_all:>10.3f}"
                      f"{t_all / t_ours:>11.2f}{'':>11}   ({t_all / bound:.2f}x bound)")  # fmt: skip
            else:
                t_gemm = tile_gemm_time(X, Q, args.repeats)
                floor = t_gemm + n * args.m / rate_exp
                print(f"  {'GEMM tiles alone (no exp)':<42}{t_gemm:>10.3f}{t_gemm / t_ours:>11.2f}"
                      f"{'':>11}   (+ n m / exp rate: {floor / bound:.2f}x bound)")  # fmt: skip
            rows.append((n, d, "densest f64", t_ours, err, t_ours / bound))
            if args.no_anchors:
                continue
            for name, func, kind in anchors(X, h, d):
                try:
                    t, vals, flag = run_anchor(func, kind, X, Q, args.budget)
                except Exception as exc:  # noqa: BLE001 - report and go on
                    print(f"  {name:<42} failed: {type(exc).__name__}: {str(exc)[:60]}")
                    continue
                with np.errstate(invalid="ignore"):
                    e = np.abs(np.asarray(vals)[:200] - ref)
                e_txt = f"{np.nanmax(e):.1e}" if np.all(np.isfinite(e)) else f"{np.sum(~np.isfinite(e))} non-finite"
                print(f"  {name + flag:<42}{t:>10.3f}{t / t_ours:>11.1f}{e_txt:>11}")
    print("\n* = timed on a subset and extrapolated linearly (full run > budget)")


if __name__ == "__main__":
    main()
