"""The AR-Net paper's experiments (Triebe, Laptev & Rajagopal 2019) with densest.

Three settings, as in the paper (section 3 and figures 2, 4 and 6):

- dense: random stationary AR(p) coefficients from the paper's generator,
  p in {3, 10, 25}, model order = true order;
- sparse: true AR(3) [0.2, 0.3, -0.5], model order p in {3, 10, 25, 100, 200,
  1000}, ARNet told the expected sparsity 3 / p;
- small data: 1000 training values, p = 20, non-zero lags 1, 3, 10
  ([0.2, 0.3, -0.5]), ARNet told 3 / 20.

Series of 100 000 training and 25 000 test values (unit noise) for the first
two. For each setting and order: the median over seeds of sTPE = 100 sum|w_hat
- w| / sum(|w_hat| + |w|) (over the padded coefficient vector), the one-step
test MSE, the fit time, the fraction of runs whose largest |coefficients| are
exactly the true lags, and the paper's value read off its figures (the paper
has no table; +-0.05). Methods: LeastSquaresAR (the paper's "Classic-AR"),
SparseAR (adaptive lasso, BIC; sparse settings) and ARNet with its defaults.
Dense also reports the median |sTPE(ARNet) - sTPE(least squares)| and the
median max |w_ARNet - w_least_squares|. One process, torch on the CPU.

Usage: python benchmarks/arnet_paper.py [--seeds 5] [--sparse-orders 3 10 25 100 200 1000]
       [--settings dense sparse small]
"""

import argparse
import os
import platform
import time

import numpy as np
import torch

from densest.ar import ARNet, LeastSquaresAR, SparseAR
from densest.datasets import make_ar_process, random_ar_coefficients

SPARSE = np.array([0.2, 0.3, -0.5])
# Medians read off the paper's figures (notes/ar.md): AR-Net, and Classic-AR where given.
PAPER_DENSE = {3: 0.70, 10: 1.88, 25: 3.63}  # figure 2a (both methods)
PAPER_SPARSE_ARNET = {3: 0.22, 10: 0.30, 25: 0.35, 100: 0.40, 200: 0.40, 1000: 0.8}
PAPER_SPARSE_CLASSIC = {3: 0.22, 10: 1.40, 25: 3.27}
PAPER_SMALL = {"least squares": 18.3, "ARNet": 3.2}


def stpe(estimate, truth):
    """Symmetric total percentage error of coefficient vectors."""
    return 100.0 * np.abs(estimate - truth).sum() / (np.abs(estimate).sum() + np.abs(truth).sum() + 1e-8)


def found(estimate, truth):
    """Whether the largest |estimate| entries are exactly truth's non-zero lags."""
    k = np.count_nonzero(truth)
    return set(np.argsort(-np.abs(estimate))[:k]) == set(np.flatnonzero(truth))


def evaluate(model, train, test, truth):
    """(sTPE, test one-step MSE, fit seconds, found, coefficients)."""
    t0 = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - t0
    coef = np.zeros(truth.size)
    coef[: model.coef_.size] = model.coef_
    pred = model.predict(test)
    keep = np.isfinite(pred)
    mse = float(np.mean((pred[keep] - test[keep]) ** 2))
    return stpe(coef, truth), mse, seconds, found(coef, truth), coef


def methods(p, sparsity, seed, sparse):
    rows = [("least squares", LeastSquaresAR(p))]
    if sparse:
        rows.append(("SparseAR", SparseAR(p)))
    rows.append(("ARNet", ARNet(p, sparsity=sparsity, device="cpu", random_state=seed)))
    return rows


def run_setting(name, orders, seeds, make, n_train, n_test, sparse):
    """Print one table; ``make(p, seed)`` returns (true coefficients of length p, series)."""
    print(f"\n### {name}\n")
    print("| p | method | median sTPE | paper | found | test MSE | fit s | |sTPE - LS sTPE| | max|w - w_LS| |")
    print("|---|---|---|---|---|---|---|---|---|")
    for p in orders:
        stats = {}
        for seed in range(seeds):
            truth, y = make(p, seed)
            train, test = y[:n_train], y[n_train:n_train + n_test]
            sparsity = np.count_nonzero(truth) / p if sparse else None
            results = {m: evaluate(model, train, test, truth) for m, model in methods(p, sparsity, seed, sparse)}
            ls = results["least squares"]
            for method, res in results.items():
                stats.setdefault(method, []).append(
                    res[:4] + (abs(res[0] - ls[0]), np.abs(res[4] - ls[4]).max()))
        for method, values in stats.items():
            v = np.array(values, dtype=float)
            paper = paper_value(name, method, p)
            print(f"| {p} | {method} | {np.median(v[:, 0]):.3f} [{np.percentile(v[:, 0], 25):.2f}-"
                  f"{np.percentile(v[:, 0], 75):.2f}] | {paper} | {v[:, 3].mean():.0%} | "
                  f"{np.median(v[:, 1]):.4f} | {np.median(v[:, 2]):.3f} | "
                  f"{np.median(v[:, 4]):.4f} | {np.median(v[:, 5]):.1e} |", flush=True)


def paper_value(setting, method, p):
    if setting.startswith("dense"):
        return f"{PAPER_DENSE[p]:.2f}" if p in PAPER_DENSE else ""
    if setting.startswith("small"):
        return f"{PAPER_SMALL[method]:.1f}" if method in PAPER_SMALL else ""
    table = PAPER_SPARSE_ARNET if method == "ARNet" else PAPER_SPARSE_CLASSIC if method == "least squares" else {}
    return f"{table[p]:.2f}" if p in table else ""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--dense-orders", type=int, nargs="+", default=[3, 10, 25])
    parser.add_argument("--sparse-orders", type=int, nargs="+", default=[3, 10, 25, 100, 200, 1000])
    parser.add_argument("--settings", nargs="+", choices=["dense", "sparse", "small"],
                        default=["dense", "sparse", "small"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads, CPU")
    n_train, n_test = 100_000, 25_000

    def dense(p, seed):
        coef = random_ar_coefficients(p, random_state=1000 * p + seed)
        return coef, make_ar_process(coef, n_train + n_test, random_state=seed)

    def sparse(p, seed):
        truth = np.zeros(p)
        truth[:3] = SPARSE
        return truth, make_ar_process(SPARSE, n_train + n_test, random_state=10_000 + 1000 * p + seed)

    def small(p, seed):
        truth = np.zeros(p)
        truth[[0, 2, 9]] = SPARSE
        return truth, make_ar_process(truth, 2000, random_state=20_000 + seed)

    if "dense" in args.settings:
        run_setting("dense AR(p), model order p", args.dense_orders, args.seeds, dense, n_train, n_test, False)
    if "sparse" in args.settings:
        run_setting("sparse AR(3) [0.2, 0.3, -0.5], model order p", args.sparse_orders, args.seeds, sparse,
                    n_train, n_test, True)
    if "small" in args.settings:
        run_setting("small data: 1000 training values, p = 20, lags 1, 3, 10", [20], args.seeds, small,
                    1000, 1000, True)


if __name__ == "__main__":
    main()
