"""Numba kernels for the structured (lag-matrix-free) least-squares AR Gram.

Arrays in, arrays out; no validation (the callers validate), no exceptions.
"""

import numba
from numba import types

from densest.utils._parallel import jit_cached

FASTMATH = {"nsz", "arcp", "contract", "reassoc"}  # keeps inf/NaN semantics

_VEC = types.Array(types.float64, 1, "C", readonly=True)
_OUT1 = types.Array(types.float64, 1, "C")
_OUT2 = types.Array(types.float64, 2, "C")


@jit_cached([types.void(_VEC, _VEC, types.int64, types.int64, _OUT1)], fastmath=FASTMATH,
            parallel=True)  # fmt: skip
def lagged_dots(a, b, start, stop, out):
    """out[k] = sum_{t=start}^{stop-1} a[t] * b[t - k] for k = 0 .. len(out) - 1.

    Requires ``start >= len(out) - 1``. One contiguous dot product per lag (lags
    shared among Numba's threads): O(N p) multiply-adds, no lag matrix.
    """
    n = stop - start
    for k in numba.prange(out.shape[0]):
        x = a[start:stop]  # contiguous views, so that the reduction vectorises
        y = b[start - k : stop - k]
        acc = 0.0
        for i in range(n):
            acc += x[i] * y[i]
        out[k] = acc


@jit_cached([types.void(_VEC, types.int64, types.int64, _OUT2)], fastmath=FASTMATH)
def fill_lag_gram(z, lo, hi, gram):
    """Complete a lag Gram matrix from its first row by the diagonal recurrence.

    The lag matrix has rows (z[u], z[u-1], ..., z[u-p+1]) for u = lo .. hi, so
    G[i+1, j+1] = G[i, j] + z[lo-1-i] z[lo-1-j] - z[hi-i] z[hi-j] (0-based i, j),
    and G is symmetric. ``gram[0]`` must hold the first row; requires lo >= p - 1.
    """
    p = gram.shape[0]
    for j in range(1, p):
        gram[j, 0] = gram[0, j]
    for i in range(p - 1):
        for j in range(i, p - 1):
            value = gram[i, j] + z[lo - 1 - i] * z[lo - 1 - j] - z[hi - i] * z[hi - j]
            gram[i + 1, j + 1] = value
            gram[j + 1, i + 1] = value
