"""High-dimensional kernel density estimation (Numba).

:class:`KernelDensity` computes exact log-densities in log space with a blocked
GEMM + fused log-sum-exp engine; :mod:`densest.kde.bandwidth` holds bandwidth
rules scaled by the data (including the nearest-neighbour and Biroli-Mezard
rules for large dimension and exact one-pass leave-one-out likelihood CV);
:mod:`densest.kde.regimes` the regime thresholds of Biroli & Mezard,
"Kernel density estimators in large dimensions" (2024); and
:func:`score_samples_dask` / :func:`combine_partial_log_densities` scale scoring
out over dask arrays and split reference sets.
"""

from densest.kde import bandwidth, regimes
from densest.kde._kde import KernelDensity
from densest.kde._scale_out import combine_partial_log_densities, score_samples_dask

__all__ = [
    "KernelDensity",
    "bandwidth",
    "combine_partial_log_densities",
    "regimes",
    "score_samples_dask",
]
