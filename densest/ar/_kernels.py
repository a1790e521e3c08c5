"""Numba kernels for the structured (lag-matrix-free) least-squares AR Gram.

Arrays in, arrays out; no validation (the callers validate), no exceptions.
"""

import numba
from numba import types

from densest.utils._parallel import jit_cached, jit_twins

FASTMATH = {"nsz", "arcp", "contract", "reassoc"}  # keeps inf/NaN semantics

_VEC = types.Array(types.float64, 1, "C", readonly=True)
_OUT1 = types.Array(types.float64, 1, "C")
_OUT2 = types.Array(types.float64, 2, "C")


@jit_twins([types.void(_VEC, _VEC, types.int64, types.int64, _OUT1)], fastmath=FASTMATH)
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


@jit_cached(
    [types.int64(types.Array(types.float64, 2, "C", readonly=True), _VEC, _VEC, types.float64,
                 _OUT1, _OUT1, types.float64, types.int64)],  # fmt: skip
    fastmath=FASTMATH,
)
def lasso_gram_cd(gram, diag, penalty, n_obs, coef, grad, tol, max_sweeps):
    """Coordinate descent for min (1/(2n)) (y'y - 2 b'c + c'G c) + sum_j penalty[j] |c_j|.

    Works on the Gram G only: ``grad`` holds b - G c and is updated in O(p) per
    coefficient change (O(p^2) per sweep). ``coef`` and ``grad`` are updated in
    place (warm start). Stops when a sweep changes no coefficient by more than
    ``tol`` times the largest coefficient. Returns the number of sweeps.
    """
    p = coef.shape[0]
    for sweep in range(max_sweeps):
        biggest_change = 0.0
        biggest_coef = 0.0
        for j in range(p):
            if diag[j] <= 0.0:
                continue
            old = coef[j]
            rho = grad[j] + diag[j] * old
            threshold = n_obs * penalty[j]
            if rho > threshold:
                new = (rho - threshold) / diag[j]
            elif rho < -threshold:
                new = (rho + threshold) / diag[j]
            else:
                new = 0.0
            if new != old:
                delta = new - old
                for k in range(p):
                    grad[k] -= gram[k, j] * delta
                coef[j] = new
                biggest_change = max(biggest_change, abs(delta))
            biggest_coef = max(biggest_coef, abs(new))
        if biggest_change <= tol * max(biggest_coef, 1e-300):
            return sweep + 1
    return max_sweeps
