"""Iterations and time of densest's riemann_mean against pyRiemann's mean_riemann.

Matrices: the augmented covariances (lag 1, orders 1-8) of the first 36 trials of
the bundled EEG sample (PhysioNet EEGMMIDB S001, imagined left/right fist, 17
channels; :func:`densest.datasets.load_eegbci_sample`), raw and after pyRiemann's
``Whitening(metric="logeuclid")``. Both means stop at ||J||_F <= 1e-8. Iterations
are the smallest ``maxiter`` that ends without a convergence warning (a binary
search over 1-50 for pyRiemann; "50+" where it never converges), so for densest
they count Newton steps plus the final check, for pyRiemann gradient steps.
Times: best of 3, BLAS on one thread. Distance: pyRiemann's affine-invariant
distance between the two means.

Usage: python benchmarks/riemann_mean.py
"""

import os
import platform
import time
import warnings

from pyriemann.geometry.distance import distance_riemann
from pyriemann.geometry.mean import mean_riemann
from pyriemann.preprocessing import Whitening
from threadpoolctl import threadpool_limits

from densest.datasets import load_eegbci_sample
from densest.eeg import AugmentedCovariances, riemann_mean


def converges(mean, mats, maxiter):
    """Whether ``mean`` ends without a convergence warning within ``maxiter`` iterations."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mean(mats, maxiter=maxiter)
    return not any("onverge" in str(w.message) for w in caught)


def iterations(mean, mats, limit=50):
    """Smallest maxiter without a warning (binary search); None if even ``limit`` warns."""
    if not converges(mean, mats, limit):
        return None
    low, high = 0, limit  # converges(high) is True; low is known to fail (or 0)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if converges(mean, mats, mid) else (mid, high)
    return high


def best_time(mean, mats):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            mean(mats)
            runs.append(time.perf_counter() - start)
    return min(runs)


def main():
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}; "
          "BLAS on 1 thread")  # fmt: skip
    X, _ = load_eegbci_sample()[:2]
    print("\n| order (dim) | matrices | pyRiemann iterations | densest iterations | pyRiemann s | densest s | "
          "distance |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    with threadpool_limits(1, "blas"):
        for order in (1, 2, 4, 6, 8):
            covs = AugmentedCovariances(order=order, lag=1).fit_transform(X[:36])
            for label, mats in (("raw", covs), ("whitened", Whitening(metric="logeuclid").fit_transform(covs))):
                theirs, ours = iterations(mean_riemann, mats), iterations(riemann_mean, mats)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    distance = distance_riemann(mean_riemann(mats), riemann_mean(mats))
                print(f"| {order} ({mats.shape[1]}) | {label} | {theirs or '50+'} | {ours or '50+'} | "
                      f"{best_time(mean_riemann, mats):.3f} | {best_time(riemann_mean, mats):.3f} | "
                      f"{distance:.1e} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
