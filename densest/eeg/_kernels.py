"""Numba kernel for Cao's false-nearest-neighbour statistics of many series.

Arrays in, arrays out; no validation (the callers validate), no exceptions.
"""

import numba
import numpy as np
from numba import types

from densest.utils._parallel import jit_twins

_SERIES = types.Array(types.float64, 2, "C", readonly=True)
_OUT = types.Array(types.float64, 2, "C")


@jit_twins([types.void(_SERIES, types.int64, types.int64, _OUT, _OUT)])
def cao_sums(series, lag, theiler, mean_ratio, mean_gap):
    """Cao's (1997) E(d) and E*(d) of each series for d = 1 .. D (D = mean_ratio.shape[1]).

    For dimension d the delay vectors are y_i = (x_i, x_{i+lag}, ..,
    x_{i+(d-1) lag}) for the i whose next coordinate x_{i+d lag} exists. For each
    y_i, n is its nearest neighbour in the maximum norm among the j with
    ``|i - j| > theiler`` at a positive distance (ties at zero, from quantised
    data, are skipped); ``mean_ratio[s, d-1]`` is the mean over i of
    ``max(dist, |x_{i+d lag} - x_{n+d lag}|) / dist`` and ``mean_gap[s, d-1]``
    the mean of ``|x_{i+d lag} - x_{n+d lag}|``. NaN where no point has a
    neighbour. O(D N^2) per series with an N x N distance matrix updated one
    coordinate at a time; series are shared among Numba's threads.
    """
    n_series, n_times = series.shape
    n_dims = mean_ratio.shape[1]
    for s in numba.prange(n_series):
        x = series[s]
        dist = np.zeros((n_times, n_times))
        for d in range(1, n_dims + 1):
            n_points = n_times - d * lag
            shift = (d - 1) * lag
            ratio_sum, gap_sum, count = 0.0, 0.0, 0
            for i in range(n_points):
                row, xi = dist[i], x[i + shift]
                for j in range(n_points):  # add coordinate d (vectorised)
                    row[j] = max(row[j], abs(xi - x[j + shift]))
                best = np.inf
                for j in range(n_points):  # nearest allowed neighbour (vectorised min)
                    allowed = abs(i - j) > theiler and row[j] > 0.0
                    best = min(best, row[j] if allowed else np.inf)
                if best < np.inf:
                    best_j = 0
                    while not (row[best_j] == best and abs(i - best_j) > theiler):
                        best_j += 1
                    gap = abs(x[i + d * lag] - x[best_j + d * lag])
                    ratio_sum += max(best, gap) / best
                    gap_sum += gap
                    count += 1
            mean_ratio[s, d - 1] = ratio_sum / count if count > 0 else np.nan
            mean_gap[s, d - 1] = gap_sum / count if count > 0 else np.nan
