"""Biroli-Mezard regimes for N(0, I_d) data: measured KL(h)/d and participation vs theory.

For each alpha = log(n)/d, fits densest's exact KDE over a grid of bandwidths and
measures, on fresh test points, KL(h)/d = (E log p - E log p_hat)/d and the mean
inverse participation ratio Y2 = E[sum w^2 / (sum w)^2]; prints them beside the
leading-order theory (KL curve, h_opt, and Y2 = 1 - h^2/h_G^2 below h_G), the
measured argmin, and where the default, nn and Scott rules land. With matplotlib,
writes kde_regimes.png next to this script (or to --out).

Usage: python benchmarks/kde_regimes.py [--d 64] [--alpha 0.05 0.1 0.2 0.5]
"""

import argparse
import math
from pathlib import Path

import numpy as np
from scipy import stats

from densest.kde import KernelDensity, regimes


def measure(alpha, d, n_test, seed):
    n = int(round(math.exp(alpha * d)))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    T = rng.standard_normal((n_test, d))
    true = stats.multivariate_normal(np.zeros(d)).logpdf(T).mean()
    ref = regimes.gaussian_regimes(n, np.ones(d))
    grid = np.geomspace(0.45 * ref.h_opt, 2.2 * ref.h_clt, 28)
    kl, y2 = [], []
    for h in grid:
        kde = KernelDensity(bandwidth=float(h), n_jobs=-1).fit(X)
        kl.append((true - kde.score(T)) / d)
        y2.append(kde.diagnose(T)["participation_ratio_mean"])
    rules = {rule: KernelDensity(bandwidth=rule, n_jobs=-1).fit(X) for rule in ("auto", "nn", "scott")}
    rule_kl = {r: (k.bandwidth_, (true - k.score(T)) / d) for r, k in rules.items()}
    return n, ref, grid, np.array(kl), np.array(y2), rule_kl


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--alpha", type=float, nargs="+", default=[0.05, 0.1, 0.2, 0.5])
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--out", default=str(Path(__file__).parent))
    args = parser.parse_args()
    results = []
    for alpha in args.alpha:
        n, ref, grid, kl, y2, rule_kl = measure(alpha, args.d, args.n_test, seed=1)
        theory = regimes.gaussian_kl_per_dim(grid, n, np.ones(args.d))
        y2_theory = np.clip(1 - grid**2 / ref.h_g**2, 0, None)
        best = int(np.argmin(kl))
        print(f"\nalpha={alpha} d={args.d} n={n}: h_opt={ref.h_opt:.3f} h_G={ref.h_g:.3f} "
              f"h_CLT={ref.h_clt:.3f} KL_min/d theory={ref.kl_min_per_dim:.4f}")
        print(f"  measured argmin h={grid[best]:.3f} (theory {ref.h_opt:.3f}), KL/d={kl[best]:.4f}")
        print(f"  {'h':>7}{'KL/d meas':>11}{'KL/d theory':>13}{'Y2 meas':>9}{'Y2 theory':>11}")
        for i in range(0, len(grid), 3):
            print(f"  {grid[i]:>7.3f}{kl[i]:>11.4f}{theory[i]:>13.4f}{y2[i]:>9.3f}{y2_theory[i]:>11.3f}")
        for rule, (h, k) in rule_kl.items():
            print(f"  rule {rule:<6} h={h:.3f} KL/d={k:.4f} (excess over grid min {k - kl[best]:+.4f})")
        results.append((alpha, n, ref, grid, kl, theory, y2, y2_theory, rule_kl))
    _plot(results, Path(args.out), args.d)


def _plot(results, out, d):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no figure")
        return
    fig, axes = plt.subplots(2, len(results), figsize=(3.2 * len(results), 5.5), squeeze=False)
    for col, (alpha, n, ref, grid, kl, theory, y2, y2_theory, rule_kl) in enumerate(results):
        ax = axes[0, col]
        ax.plot(grid, kl, "k-", label="measured")
        ax.plot(grid, theory, "k:", label="theory")
        for rule, (h, k) in rule_kl.items():
            ax.plot(h, k, "o", label=rule)
        ax.axvline(ref.h_opt, color="C3", lw=0.8)
        ax.set_xscale("log")
        ax.set_title(f"alpha={alpha}, n={n}")
        ax.set_ylabel("KL / d")
        ax.legend(fontsize=6)
        ax = axes[1, col]
        ax.plot(grid, y2, "k-", label="measured mean 1/N_eff")
        ax.plot(grid, y2_theory, "k:", label="1 - h^2/h_G^2")
        ax.axvline(ref.h_g, color="grey", lw=0.8)
        ax.axvline(ref.h_clt, color="grey", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("h")
        ax.legend(fontsize=6)
    fig.suptitle(f"N(0, I_{d}) data: KL per dimension and participation ratio")
    fig.tight_layout()
    path = out / "kde_regimes.png"
    fig.savefig(path, dpi=110)
    print(f"\nfigure: {path}")


if __name__ == "__main__":
    main()
