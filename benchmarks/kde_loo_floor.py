"""How many of the LOO grid's terms an exact evaluation must add: the floor of its cost.

For N(0, I_d) data with n points, every point held out, and the 30-value
``chain_grid`` that ``kde_loo.py`` times (4 h down, h the ``auto`` rule's), this
counts, for each bandwidth, the pairs (i, j) whose term exp(-(d_ij^2 - dref_i) / (2 h^2))
is at least 1e-10 / n of its row's sum (dref_i: point i's nearest squared distance).
Every smaller term can be dropped at once: together they move no log density by
more than 1e-10, the accuracy target. Each counted term costs at least one
multiply (the power or square that forms it from another term) and one add, on top
of what one score_samples pass costs per pair (the distance and one exponential).

The table gives, per bandwidth, the fraction of the n (n - 1) pairs that count,
and their sum over the grid: the grid's terms per pair. With the one pass's
operations per pair (``--pass-ops``, read from its compiled loops: four for the
distance at d = 2, twelve for the exponential and the add), the floor of the grid's
cost over one pass is (pass ops + 2 x terms per pair) / pass ops.

Usage: python benchmarks/kde_loo_floor.py [--n 10000] [--d 2] [--pass-ops 16]
"""

import argparse
import math
import os

import numba
import numpy as np

from densest.kde import bandwidth
from densest.utils._machine import describe_cpu


@numba.njit(parallel=True, cache=True)
def needed_terms(X, c):
    """counts[k]: the pairs (i, j != i) whose term at c[k] is at least 1e-10 / n of
    row i's sum."""
    n = X.shape[0]
    counts = np.zeros((n, c.shape[0]))
    for i in numba.prange(n):
        x = np.empty(n)
        for j in range(n):
            s = 0.0
            for f in range(X.shape[1]):
                s += (X[i, f] - X[j, f]) ** 2
            x[j] = s
        x[i] = np.inf
        x -= x.min()
        for k in range(c.shape[0]):
            terms = np.exp(-c[k] * x)
            counts[i, k] = np.sum(terms >= 1e-10 / n * terms.sum())
    return counts.sum(axis=0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--d", type=int, default=2)
    parser.add_argument("--pass-ops", type=int, default=16, help="one pass's operations per pair")
    args = parser.parse_args()
    print(f"machine: {describe_cpu()}, {os.cpu_count()} cores; n = {args.n}, d = {args.d}")
    X = np.random.default_rng(0).standard_normal((args.n, args.d))
    h = bandwidth.RULES["auto"](X)
    grid = bandwidth.chain_grid(4 * h)
    fractions = needed_terms(X, 0.5 / grid**2) / (args.n * (args.n - 1.0))
    print("| h | terms needed (fraction of pairs) |")
    print("|---|---|")
    for value, fraction in zip(grid, fractions):
        print(f"| {value:.4f} | {fraction:.3f} |")
    per_pair = float(fractions.sum())
    floor = (args.pass_ops + 2 * per_pair) / args.pass_ops
    print(f"\nterms per pair over the grid: {per_pair:.2f} of {len(grid)}; "
          f"floor of the grid over one pass: ({args.pass_ops} + 2 x {per_pair:.2f}) / {args.pass_ops} "
          f"= {floor:.2f}")  # fmt: skip
    print(f"(ln of the cut-off: {math.log(1e-10 / args.n):.1f} nats below the row's sum)")


if __name__ == "__main__":
    main()
