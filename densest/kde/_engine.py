"""Python layer over the Numba kernels: normalisers, tiling, threads.

Everything here takes validated, C-contiguous arrays; the estimator validates.
"""

import copy
import math

import numpy as np
from scipy import integrate, special
from threadpoolctl import ThreadpoolController

from densest.utils._optional import import_optional
from densest.utils._parallel import numba_threads

KERNELS = ("gaussian", "tophat", "epanechnikov", "exponential", "linear", "cosine")


def log_unit_ball_volume(d):
    """log of the volume of the unit ball in R^d."""
    return 0.5 * d * math.log(math.pi) - special.gammaln(0.5 * d + 1.0)


def _log_cosine_radial_integral(d):
    # log of int_0^1 cos(pi r / 2) r^(d-1) dr, scaled to stay finite for large d.
    def log_f(r):
        return math.log(math.cos(0.5 * math.pi * r)) + (d - 1) * math.log(r)

    grid = np.linspace(1e-9, 1 - 1e-9, 2001)
    peak = max(log_f(r) for r in grid)
    value, _ = integrate.quad(lambda r: math.exp(log_f(r) - peak), 0.0, 1.0, limit=200,
                              epsabs=0.0, epsrel=1e-13)  # fmt: skip
    return peak + math.log(value)


def log_kernel_norm(kernel, d, h):
    """log of the integral over R^d of the unnormalised kernel with bandwidth h.

    Parameters
    ----------
    kernel : str
        One of ``KERNELS``.
    d : int
        Dimension.
    h : float or ndarray
        Bandwidth(s).

    Returns
    -------
    log_norm : float or ndarray
        ``log int K(|u| / h) du``; the density is ``K / norm``.
    """
    log_h = np.log(h)
    if kernel == "gaussian":
        return 0.5 * d * math.log(2.0 * math.pi) + d * log_h
    log_v = log_unit_ball_volume(d)
    if kernel == "tophat":
        c = log_v
    elif kernel == "epanechnikov":
        c = log_v + math.log(2.0 / (d + 2.0))
    elif kernel == "exponential":
        c = log_v + math.log(d) + special.gammaln(d)
    elif kernel == "linear":
        c = log_v - math.log(d + 1.0)
    else:  # cosine
        c = log_v + math.log(d) + _log_cosine_radial_integral(d)
    return c + d * log_h


# Up to this dimension explicit differences beat a GEMM per tile (measurements in
# benchmarks/RESULTS.md) and they are exact where |q|^2 + |y|^2 - 2 q.y cancels.
DIRECT_MAX_D = 8
# With the AVX-512 tile products the Gaussian one pass on float64 points is faster
# with a GEMM from this dimension on (n = 100 000 and 10 000, m = 10 000: 1.03-1.11x
# at d = 3, 1.2x at d = 4, 1.4-1.5x at d = 6 and 8); gemm_inexact still sends the
# pairs whose rounding could show to explicit differences. The chain kernel gains
# less (LOO grid, n = 10 000: 0.97-0.99x at d = 3 and 4, 1.03x at d = 6, 1.13x at
# d = 8), so it takes the GEMM from d = 6.
GEMM_MIN_D_AVX512 = 3
CHAIN_GEMM_MIN_D_AVX512 = 6
PROGRESS_CHUNKS = 50
# Chunks of fewer rows make tiles too small to run at full speed: chunks of 100
# queries (m = 5000, d = 256) took the pass from 1.6 s to 2.3 s.
PROGRESS_MIN_ROWS = 1024


def row_chunks(n_rows, progress, desc):
    """Slices covering ``range(n_rows)``: one, or about PROGRESS_CHUNKS of at least
    PROGRESS_MIN_ROWS rows under a tqdm progress bar named ``desc`` when
    ``progress`` (needs ``densest[progress]``).

    Examples
    --------
    >>> row_chunks(5, False, "KDE")
    [slice(0, 5, None)]
    """
    if not progress:
        return [slice(0, n_rows)]
    tqdm = import_optional("tqdm.auto", "progress").tqdm
    step = max(PROGRESS_MIN_ROWS, -(-n_rows // PROGRESS_CHUNKS))
    return tqdm([slice(s, min(s + step, n_rows)) for s in range(0, n_rows, step)], desc=desc, unit="chunk")


def tile_sizes(m, n, d, n_threads, block_size, chains=False):
    """(query rows, reference rows) per tile, for m queries and n reference points.

    ``block_size="auto"`` picks tiles measured fastest on a 2-core machine (the
    tile stays in cache while its fused pass runs); an int sets the query rows and
    the reference tile is four times longer. Query tiles shrink so every thread
    has work, and no tile is longer than the reference set. The chain kernel
    (``chains``) does more work per tile row than the one pass (its level
    counts, chain starts and level sweeps), which longer rows amortise: up to
    ``d = 64`` its reference tiles are twice as long (LOO over a 30-value grid
    measured 6-11 % faster at d = 2, 4 and 8, for 10 000 and for 100 000
    reference points, and 8-9 % faster at d = 16, 32 and 64 for 10 000; 3 %
    slower at d = 256, where the transposed tile outgrows the cache; the one
    pass gained nothing from them).
    """
    if block_size == "auto":
        long_rows = chains and d <= 64
        q_block = 64 if d <= DIRECT_MAX_D else 512
        t_block = 512 if long_rows else 256
    else:
        q_block, t_block = int(block_size), 4 * int(block_size)
    per_thread = -(-m // max(n_threads, 1))
    return max(1, min(q_block, per_thread)), max(1, min(t_block, n))


def spatial_order(X, leaf):
    """Permutation listing the rows of X leaf by leaf of a k-d tree.

    Each node splits its rows at a multiple of ``leaf`` along its widest feature,
    so every run of ``leaf`` consecutive rows of ``X[order]`` (the last excepted)
    is one leaf: a compact cell of the data.

    Parameters
    ----------
    X : ndarray of shape (n, d), float64 or float32, C-contiguous
        Points.
    leaf : int
        Rows per leaf.

    Returns
    -------
    order : ndarray of shape (n,), int64
    """
    order = np.empty(X.shape[0], dtype=np.int64)
    _kernels().kd_order(X.dtype.name)(X, int(leaf), order)
    return order


def _tiles(Y, logw, t_block):
    """Bounding boxes of the row tiles of Y and log(largest weight x size) of each."""
    starts = np.arange(0, Y.shape[0], t_block)
    sizes = np.diff(np.append(starts, Y.shape[0]))
    lo = np.minimum.reduceat(Y, starts, axis=0).astype(np.float64)
    hi = np.maximum.reduceat(Y, starts, axis=0).astype(np.float64)
    return lo, hi, np.maximum.reduceat(logw, starts) + np.log(sizes)


class ReferenceTiles:
    """Reference points, squared norms and log weights in the order the kernels visit them.

    With ``prune``, rows are put in k-d tree order (:func:`spatial_order`) so that
    each tile of ``t_block`` consecutive rows is a compact cell, and the tiles'
    bounding boxes are kept: the kernels visit each query tile's reference tiles
    nearest first and skip a tile whose largest possible term is negligible beside
    every query's sum so far. Without, rows stay as given and every tile is
    visited. Build it once per reference set (see :func:`reference_tiles`).
    """

    def __init__(self, Y, ysq, logw, t_block, prune):
        self.t_block, self.prune = t_block, prune
        self.Y, self.ysq, self.logw = Y, ysq, logw
        self.boxes = (np.empty((0, Y.shape[1])), np.empty((0, Y.shape[1])), np.empty(0))
        self.rank = None
        self._parts = {}
        if not prune:
            return
        order = spatial_order(Y, t_block)
        self.rank = np.empty_like(order)
        self.rank[order] = np.arange(len(order))
        self.Y = np.ascontiguousarray(Y[order])
        self.ysq = ysq[order]
        self.logw = logw[order]
        self.boxes = _tiles(self.Y, self.logw, t_block)

    def in_float64(self):
        """The same tiles, in the same order, with the points in float64."""
        tiles = self.for_one_call()
        tiles.Y = self.Y.astype(np.float64)
        return tiles

    def for_one_call(self):
        """A shallow copy whose norm parts (:meth:`norm_parts`) are its own: a caller
        that keeps the tiles (a fitted estimator) then keeps no copy of the points."""
        tiles = copy.copy(self)
        tiles._parts = {}
        return tiles

    def norm_parts(self, bound):
        """The rows with squared norm at most ``bound`` and the others, each as
        (ReferenceTiles of those rows or None if there are none, mask of them among
        this set's rows); built once per bound and reused by later calls on these
        tiles (e.g. progress-bar chunks)."""
        if bound not in self._parts:
            small = self.ysq <= bound
            parts = []
            for mask in (small, ~small):
                part = None
                if mask.any():
                    part = ReferenceTiles(np.ascontiguousarray(self.Y[mask]), self.ysq[mask],
                                          self.logw[mask], min(self.t_block, int(mask.sum())),
                                          self.prune)  # fmt: skip
                parts.append((part, mask))
            self._parts = {bound: parts}  # one bound at a time: a new one replaces it
        return self._parts[bound]

    def rows(self, index):
        """Rows of the given reference indices (-1: none) in the visiting order."""
        if self.rank is None:
            return index
        return np.where(index >= 0, self.rank[np.maximum(index, 0)], -1)


def _gemm_below_direct_max(d, kernel, Q, Y, min_d=GEMM_MIN_D_AVX512):
    """Whether a pass takes a GEMM by default at d <= DIRECT_MAX_D: the Gaussian
    kernel on float64 points from ``min_d`` on, with AVX-512 tile products (float32
    points keep explicit differences there)."""
    return (kernel == "gaussian" and min_d <= d <= DIRECT_MAX_D
            and Q.dtype == Y.dtype == np.float64 and _kernels().AVX512)  # fmt: skip


def _settings(d, direct, prune):
    """(direct, prune) with their defaults: explicit differences and tile skipping up
    to DIRECT_MAX_D (direct may still become True: see :func:`gemm_inexact`)."""
    small = d <= DIRECT_MAX_D
    return small if direct is None else direct, small if prune is None else prune


# Squared distances from a GEMM, |q|^2 + |y|^2 - 2 q.y, are off by up to about
# sqrt(d) u (max |q|^2 + max |y|^2) (u: the unit roundoff of the products), and
# c = 1 / (2 h^2) carries that into a log-density. Where twice the product exceeds
# these, float32 products give way to float64 ones, and float64 ones to explicit
# differences. Measured errors are at most 0.44 (float64) and 0.35 (float32) times
# that bound (benchmarks/kde_accuracy.py), within the targets of 1e-10 and 1e-4.
GEMM_LOG_ERROR_TOL = {"float64": 1e-10, "float32": 2e-4}
# The other kernels' log K has no bounded slope: at the support's edge (t -> 1) and,
# for the exponential and linear kernels, at 0. Their GEMM distances are recomputed
# from explicit differences where that rounding, taken this many times larger than
# its estimate, could move log K by more than the tolerance (the kernels'
# _exact_where_steep): those pairs are rare (d2 within about 1e-3 of h^2 for data of
# norm 10 at d = 64). Without it, Epanechnikov next to its edge was off by 4e-7
# (float64) and 4e-2 (float32 products).
STEEP_SAFETY = 4.0


def gemm_inexact(d, kernel, c_max, q_sq_max, y_sq_max, dtype):
    """Whether GEMM products in ``dtype`` could move a log-density by more than
    ``GEMM_LOG_ERROR_TOL[dtype]``.

    Parameters
    ----------
    d : int
        Dimension.
    kernel : str
        Kernel name.
    c_max : float
        Largest 1 / (2 h^2) in use.
    q_sq_max, y_sq_max : float
        Largest squared norms of the queries and of the reference points.
    dtype : {numpy.float64, numpy.float32}
        Type of the products.

    Returns
    -------
    inexact : bool

    Examples
    --------
    >>> gemm_inexact(64, "gaussian", 0.5, 100.0, 100.0, np.float64)
    False
    >>> gemm_inexact(64, "gaussian", 5e4, 100.0, 100.0, np.float64)
    True
    >>> gemm_inexact(64, "gaussian", 5.0, 100.0, 100.0, np.float32)
    True
    """
    return bool(q_sq_max + y_sq_max > gemm_norm_limit(d, c_max, dtype))


def steep_errors(d, dtype):
    """(err_unit, err_ratio) for the kernels: a GEMM distance in ``dtype`` is taken
    to be off by up to err_unit (|q|^2 + |y|^2), and the non-Gaussian kernels
    recompute the pairs where log K could then move by more than 1 / err_ratio.

    Examples
    --------
    >>> unit, ratio = steep_errors(16, np.float64)
    >>> f"{unit:.3g} {ratio:.3g}"
    '8.88e-16 4e+10'
    """
    dtype = np.dtype(dtype)
    return math.sqrt(d) * float(np.finfo(dtype).eps), STEEP_SAFETY / GEMM_LOG_ERROR_TOL[dtype.name]


def gemm_norm_limit(d, c_max, dtype):
    """Largest |q|^2 + |y|^2 for which GEMM products in ``dtype`` keep the Gaussian
    log-density within ``GEMM_LOG_ERROR_TOL[dtype]`` (see :func:`gemm_inexact`).

    Examples
    --------
    >>> f"{gemm_norm_limit(64, 0.5, np.float64):.4g}"
    '1.126e+05'
    """
    dtype = np.dtype(dtype)
    per_norm = 2.0 * c_max * math.sqrt(d) * float(np.finfo(dtype).eps) / 2
    return GEMM_LOG_ERROR_TOL[dtype.name] / per_norm if per_norm > 0 else math.inf


def _max(values):
    return float(np.max(values)) if len(values) else 0.0


def reference_tiles(Y, ysq, logw, block_size="auto", direct=None, prune=None):
    """:class:`ReferenceTiles` as :func:`log_sum_exp_terms` builds them for these settings."""
    d = Y.shape[1]
    t_block = tile_sizes(1, Y.shape[0], d, 1, block_size)[1]
    return ReferenceTiles(Y, ysq, logw, t_block, _settings(d, direct, prune)[1])


def _arrange_queries(Q, q_block, prune):
    """The queries' k-d tree order when pruning (tiles of q_block rows; else None),
    the queries in that order, C-contiguous, and their squared norms in float64."""
    order = spatial_order(Q, q_block) if prune else None
    Q = np.ascontiguousarray(_in_order(Q, order))
    return order, Q, np.einsum("ij,ij->i", Q, Q, dtype=np.float64)


def _in_order(values, order):
    return values if order is None else values[order]


def _restore(order, *outputs):
    """Per-query outputs computed in the given order back in the caller's order."""
    if order is None:
        return outputs
    restored = []
    for out in outputs:
        back = np.empty_like(out)
        back[order] = out
        restored.append(back)
    return tuple(restored)


_CONTROLLER = None


def one_blas_thread():
    """Context pinning BLAS to one thread (each Numba thread runs its own GEMM)."""
    global _CONTROLLER
    if _CONTROLLER is None:  # inspecting the loaded libraries is slow: do it once
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def _kernels():
    # Imported on first use so that `import densest.kde` does not load compiled code.
    from densest.kde import _kernels

    return _kernels


# A float32 call whose products would be inexact is split by norm (:func:`_by_norm`)
# instead of copied to float64 while at most this share of its pairs has a far point:
# those take explicit differences (1.2-2x a float64 GEMM with AVX2; 1.3-3.4x at
# d = 16-256 beside the AVX-512 tile products), the rest float32 products (0.6-0.8x
# with AVX2; about 1x with AVX-512). The split keeps no float64 copy of the points.
FLOAT32_SPLIT_MAX_FAR = 0.1


def float64_if_needed(Q, tiles, kernel, c_max, qsq):
    """(Q, tiles) as float64 copies where float32 products could move a log-density
    by more than ``GEMM_LOG_ERROR_TOL["float32"]`` for more than a few far points,
    or the kernel is not Gaussian (above DIRECT_MAX_D), else as given.

    ``qsq`` holds the squared norms of the rows of Q. Where either is float64
    already both are returned in float64. Explicit differences (d <= DIRECT_MAX_D,
    the pairs with a far point) read float32 points as they are. The other kernels
    take float64 products: float32 ones would leave a wide band of pairs next to
    the support's edge to recompute (see STEEP_SAFETY). Deciding once for all
    queries lets a caller that scores them in chunks copy the reference points once.
    """
    d = Q.shape[1]
    if np.float64 in (Q.dtype, tiles.Y.dtype):
        wide = tiles if tiles.Y.dtype == np.float64 else tiles.in_float64()
        return Q.astype(np.float64, copy=False), wide
    if d <= DIRECT_MAX_D:
        return Q, tiles
    if kernel != "gaussian":
        return Q.astype(np.float64), tiles.in_float64()
    if not gemm_inexact(d, kernel, c_max, _max(qsq), _max(tiles.ysq), np.float32):
        return Q, tiles
    if _far_share(qsq, tiles.ysq, gemm_norm_limit(d, c_max, np.float32)) <= FLOAT32_SPLIT_MAX_FAR:
        return Q, tiles
    return Q.astype(np.float64), tiles.in_float64()


def _far_share(qsq, ysq, limit):
    """Share of the pairs to which :func:`_by_norm` gives explicit differences: those
    with a query or a reference point of squared norm above limit / 2."""
    near_q = np.mean(qsq <= 0.5 * limit) if len(qsq) else 1.0
    near_y = np.mean(ysq <= 0.5 * limit) if len(ysq) else 1.0
    return 1.0 - near_q * near_y


def log_sum_exp_terms(Q, Y, ysq, logw, bandwidths, kernel, *, self_index=None, want_s2=False,
                      n_jobs=None, block_size="auto", direct=None, prune=None,
                      tiles=None):  # fmt: skip
    """Streaming log-sum-exp of log w_j + log K(|q - y_j| / h) for each query and h.

    Parameters
    ----------
    Q : ndarray of shape (m, d), float64 or float32, C-contiguous
        Queries (already scaled like Y).
    Y : ndarray of shape (n, d), same dtype as Q
        Reference points.
    ysq : ndarray of shape (n,), float64
        Squared norms of the rows of Y.
    logw : ndarray of shape (n,), float64
        Log weights.
    bandwidths : ndarray of shape (k,)
        Bandwidths sharing one distance computation.
    kernel : str
        Kernel name.
    self_index : ndarray of shape (m,), int64, optional
        Row of Y to leave out for each query (-1 for none): leave-one-out.
    want_s2 : bool, default=False
        Whether S2 is needed (it costs a multiply-add per term).
    n_jobs : int or None
        Numba threads (sklearn semantics).
    block_size : "auto" or int
        Tile size (see :func:`tile_sizes`).
    direct : bool or None
        Distances from explicit differences (True) or from one GEMM per tile
        (False); None: explicit differences when ``d <= DIRECT_MAX_D`` (with
        AVX-512 tile products, from ``d = GEMM_MIN_D_AVX512`` on the Gaussian
        kernel on float64 points takes the GEMM as above), and above for the
        pairs where a GEMM's rounding could show
        (:func:`gemm_inexact`): the pairs of queries and reference points whose
        squared norms are at most half of :func:`gemm_norm_limit` keep the GEMM.
    prune : bool or None
        Visit rows in k-d tree order and skip reference tiles that add less than
        e^-40 of every query's sum (each skip changes a log-sum by less than
        4e-18); None: when ``d <= DIRECT_MAX_D``, where the tree's cells are small.
    tiles : ReferenceTiles, optional
        ``reference_tiles(Y, ysq, logw, block_size, direct, prune)``, built once
        and passed to repeated calls on the same reference set (it is rebuilt
        here when absent or made for other settings).

    Returns
    -------
    M, S, S2 : ndarray of shape (m, k)
        Reference (the running maximum, renormalised), sum of exp(a - M) and, if
        ``want_s2``, of exp(2(a - M)); S2 is meaningless otherwise.
    """
    kern = _kernels()
    m, d = Q.shape
    k = len(bandwidths)
    cs = np.ascontiguousarray(0.5 / np.asarray(bandwidths, dtype=np.float64) ** 2)
    if self_index is None:
        self_index = np.full(m, -1, dtype=np.int64)
    chosen = direct
    if direct is None and _gemm_below_direct_max(d, kernel, Q, Y):
        direct = False  # as above DIRECT_MAX_D: gemm_inexact below still checks it
    direct, prune = _settings(d, direct, prune)
    with numba_threads(n_jobs) as n_threads, one_blas_thread():
        q_block, t_block = tile_sizes(m, Y.shape[0], d, n_threads, block_size)
        if tiles is None or (tiles.t_block, tiles.prune) != (t_block, prune):
            tiles = ReferenceTiles(Y, ysq, logw, t_block, prune)
        order, Q, qsq = _arrange_queries(Q, q_block, prune)
        c_max, q_sq_max = float(cs.max()), _max(qsq)
        if Q.dtype != tiles.Y.dtype or (chosen is None and not direct):
            Q, tiles = float64_if_needed(Q, tiles, kernel, c_max, qsq)
        split = False
        if chosen is None and not direct:
            direct = gemm_inexact(d, kernel, c_max, q_sq_max, _max(tiles.ysq), Q.dtype)
            split = direct

        def run(Qp, qsq_p, tiles_p, index_p, direct_p):
            out = tuple(np.empty((len(Qp), k)) for _ in range(3))
            q_p = tile_sizes(len(Qp), tiles_p.Y.shape[0], d, n_threads, block_size)[0]
            func = kern.tile_sums(n_threads > 1, Qp.dtype.name)
            func(Qp, qsq_p, tiles_p.Y, tiles_p.ysq, tiles_p.logw, cs, kern.KERNEL_IDS[kernel],
                 tiles_p.rows(index_p), int(direct_p), int(want_s2), q_p, tiles_p.t_block,
                 *steep_errors(d, Qp.dtype), *tiles_p.boxes, *out)  # fmt: skip
            return out

        index = _in_order(self_index, order)
        if split:
            limit = gemm_norm_limit(d, c_max, Q.dtype)
            M, S, S2 = _by_norm(run, Q, qsq, tiles, index, limit, _combine)
        else:
            M, S, S2 = run(Q, qsq, tiles, index, direct)
    return _restore(order, M, S, S2)


def _by_norm(run, Q, qsq, tiles, index, limit, combine):
    """run's outputs over all pairs, with GEMM products between the queries and the
    reference points of squared norm at most limit / 2 (exact there, their sum being
    at most limit) and explicit differences for every other pair.

    ``run(Q, qsq, tiles, index, direct)`` returns a tuple of per-query arrays, and
    ``combine`` merges two such tuples over disjoint reference parts.

    Where a few points lie far out (heavy tails), this keeps most pairs on the GEMM
    path instead of sending the whole call to explicit differences.
    """
    (near, near_mask), (far, far_mask) = tiles.norm_parts(0.5 * limit)
    small = qsq <= 0.5 * limit
    if not small.any() or near is None:
        return run(Q, qsq, tiles, index, True)
    rows = tiles.rows(index[small])
    Q_small, qsq_small = Q[small], qsq[small]
    out = run(Q_small, qsq_small, near, _part_index(rows, near_mask), False)
    if far is not None:
        out = combine(out, run(Q_small, qsq_small, far, _part_index(rows, far_mask), True))
    if small.all():
        return out
    rest = run(Q[~small], qsq[~small], tiles, index[~small], True)
    full = tuple(np.empty((len(Q),) + part.shape[1:]) for part in out)
    for whole, part_small, part_rest in zip(full, out, rest):
        whole[small] = part_small
        whole[~small] = part_rest
    return full


def _part_index(rows, mask):
    """Rows of a set (-1: none) as rows of its part ``mask`` (-1 where outside it)."""
    inside = (rows >= 0) & mask[np.maximum(rows, 0)]
    position = np.cumsum(mask) - 1
    return np.where(inside, position[np.maximum(rows, 0)], -1)


def _combine(a, b):
    """(M, S, S2) over two disjoint sets of terms, from each set's (M, S, S2)."""
    (Ma, Sa, S2a), (Mb, Sb, S2b) = a, b
    M = np.maximum(Ma, Mb)
    shift = np.where(np.isneginf(M), 0.0, M)
    ea, eb = np.exp(Ma - shift), np.exp(Mb - shift)
    return M, Sa * ea + Sb * eb, S2a * ea * ea + S2b * eb * eb


def nearest_sq_distances(Q, Y, ysq, *, self_index=None, n_jobs=None, block_size="auto"):
    """Smallest positive squared distance from each row of Q to the rows of Y.

    Parameters
    ----------
    Q, Y : ndarray, C-contiguous, float64
        Queries and reference points.
    ysq : ndarray of shape (n,)
        Squared norms of the rows of Y.
    self_index : ndarray of shape (m,), int64, optional
        Row of Y to skip for each query.
    n_jobs : int or None
        Numba threads.
    block_size : "auto" or int
        Tile size.

    Returns
    -------
    d2 : ndarray of shape (m,)
        inf where every reference point coincides with the query.
    """
    kern = _kernels()
    m, d = Q.shape
    qsq = np.einsum("ij,ij->i", Q, Q, dtype=np.float64)
    if self_index is None:
        self_index = np.full(m, -1, dtype=np.int64)
    out = np.empty(m)
    with numba_threads(n_jobs) as n_threads, one_blas_thread():
        q_block, t_block = tile_sizes(m, Y.shape[0], d, n_threads, block_size)
        func = kern.nearest_sq(n_threads > 1)
        func(Q, qsq, Y, ysq, self_index, q_block, t_block, out)
    return out


# Chains start from t^p with t one exponential per term for all chains when p <= this:
# a term's relative rounding grows p-fold, and 2^9-fold more along a 10-level chain.
# It also caps the number of sharing chains at 4, the powers _floored_power selects.
MAX_SHARED_POWER = 8


def _shared_power(c_bases):
    """p0 if c_bases[b] = (p0 + b) c_bases[0] / p0 (p0 = number of chains), else 0."""
    q = len(c_bases)
    steps = (q + np.arange(q)) / q
    shared = np.allclose(c_bases, c_bases[0] * steps, rtol=1e-14, atol=0)
    if 2 * q - 1 <= MAX_SHARED_POWER and shared:
        return q
    return 0


def log_sum_exp_chains(Q, Y, ysq, log_weights, c_bases, n_levels, *, self_index=None, n_jobs=None,
                       block_size="auto", prune=None):  # fmt: skip
    """Gaussian log-sum-exp for bandwidth chains ``c = c_base * 2^l``, l < n_levels.

    Each level squares the previous level's terms, so a grid of q chains of L
    levels costs q exponentials and q (L - 1) multiplications per pair instead of
    q L exponentials; and when the chains start at ``c_base = c (q + b) / q``,
    b < q (as in :func:`densest.kde.bandwidth.chain_grid`), one exponential per
    pair serves them all: chain b starts from ``exp(-c x / q)^(q + b)``.

    Parameters
    ----------
    Q, Y, ysq, self_index, n_jobs, block_size, prune
        As in :func:`log_sum_exp_terms`, with Q and Y in float64 (distances from
        explicit differences when ``d <= DIRECT_MAX_D``, with AVX-512 tile
        products below ``d = CHAIN_GEMM_MIN_D_AVX512`` only, or where
        :func:`gemm_inexact` says a GEMM could show).
    log_weights : ndarray of shape (n,)
        Log weights, spanning at most 100 nats (the caller checks).
    c_bases : ndarray of shape (q,)
        Values of 1 / (2 h^2) starting each chain.
    n_levels : int
        Chain length L (at most 10: each squaring doubles the relative rounding).

    Returns
    -------
    log_sums : ndarray of shape (m, q, L)
        ``log sum_j w_j exp(-c_base 2^l |q_i - y_j|^2)``.
    """
    kern = _kernels()
    m, d = Q.shape
    if self_index is None:
        self_index = np.full(m, -1, dtype=np.int64)
    c_bases = np.ascontiguousarray(c_bases, dtype=np.float64)
    cs = c_bases[:, None] * 2.0 ** np.arange(n_levels)
    top = float(np.max(log_weights))
    with numba_threads(n_jobs) as n_threads, one_blas_thread():
        q_block, t_block = tile_sizes(m, Y.shape[0], d, n_threads, block_size, chains=True)
        func = kern.chain_sums(n_threads > 1, bool(np.all(log_weights == top)))
        direct = False if _gemm_below_direct_max(d, "gaussian", Q, Y, CHAIN_GEMM_MIN_D_AVX512) else None
        direct, prune = _settings(d, direct, prune)  # False: as above DIRECT_MAX_D, gemm_inexact still checks
        tiles = ReferenceTiles(Y, ysq, log_weights - top, t_block, prune)
        order, Q, qsq = _arrange_queries(Q, q_block, prune)
        c_max = float(c_bases.max()) * 2.0 ** (int(n_levels) - 1)
        split = not direct and gemm_inexact(d, "gaussian", c_max, _max(qsq), _max(ysq), Q.dtype)

        def run(Qp, qsq_p, tiles_p, index_p, direct_p):
            dref, S = np.empty(len(Qp)), np.empty((len(Qp), len(c_bases), int(n_levels)))
            q_p = tile_sizes(len(Qp), tiles_p.Y.shape[0], d, n_threads, block_size, chains=True)[0]
            func(Qp, qsq_p, tiles_p.Y, tiles_p.ysq, np.exp(tiles_p.logw), c_bases, _shared_power(c_bases),
                 tiles_p.rows(index_p), int(direct_p), q_p, tiles_p.t_block, *tiles_p.boxes, dref, S)  # fmt: skip
            with np.errstate(divide="ignore", invalid="ignore"):
                np.log(S, out=S)
                # one column at a time: broadcasting over the short last axes
                # measured 4x slower (0.87 against 0.22 ms for 10 000 x 30)
                for b, level in np.ndindex(cs.shape):
                    S[:, b, level] -= cs[b, level] * dref
            return (S,)

        index = _in_order(self_index, order)
        if split:
            limit = gemm_norm_limit(d, c_max, Q.dtype)
            (log_sums,) = _by_norm(run, Q, qsq, tiles, index, limit, _add_logs)
        else:
            (log_sums,) = run(Q, qsq, tiles, index, direct)
    log_sums += top
    return _restore(order, log_sums)[0]


def _add_logs(a, b):
    """(log sums,) over two disjoint sets of terms, from each set's."""
    return (np.logaddexp(a[0], b[0]),)
