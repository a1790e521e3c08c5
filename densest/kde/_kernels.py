"""Numba kernels for exact blocked kernel density evaluation.

Arrays and scalars in, arrays out: no scikit-learn objects, no validation (the
estimator validates before calling), no exceptions inside ``prange``.

The engine evaluates, for every query row ``x`` and every value ``c_k = 1/(2h_k^2)``
(several bandwidths share one distance computation), the streaming log-sum-exp

    L_k(x) = log sum_j exp(a_jk),   a_jk = log w_j + log K_k(|x - y_j|^2)

over tiles of the reference set. Per (query tile, reference tile), squared
distances come from explicit differences (small d) or from one BLAS GEMM and the
stored norms; then one vectorised sweep per query row and bandwidth adds
``exp(a - M)`` (and, for diagnostics, its square) to the running sums ``S`` and
``S2``, with the running maximum ``M`` as reference. A tile whose terms rise
far above ``M`` (detected by overflow of the checked sums) is redone exactly
with its own maximum. ``S^2/S2`` is the effective number of contributing points.
No n x m array is formed. Given bounding boxes of the reference tiles (rows in
k-d tree order, see ``_engine.spatial_order``), each query tile visits them
nearest first and skips, per bandwidth, a tile whose largest possible term times
its size is SKIP_NATS below every query's sum so far.

Each parallel kernel has a serial twin compiled from the same Python function;
the estimator runs the twin when one thread is requested, so the threading layer
is never entered from dask or joblib worker threads. Each variant of a kernel
(parallel or serial, float64 or float32 points) is compiled on first use.
"""

import functools
import math
import threading
from contextlib import contextmanager

import llvmlite.binding as llvm
import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from densest.utils._parallel import jit_cached, renamed

# Keep inf/NaN semantics: no "nnan"/"ninf".  "reassoc" lets LLVM vectorise sums.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

GAUSSIAN, TOPHAT, EPANECHNIKOV, EXPONENTIAL, LINEAR, COSINE = range(6)
KERNEL_IDS = {
    "gaussian": GAUSSIAN,
    "tophat": TOPHAT,
    "epanechnikov": EPANECHNIKOV,
    "exponential": EXPONENTIAL,
    "linear": LINEAR,
    "cosine": COSINE,
}

_LOG2E = 1.4426950408889634
_LN2 = 0.6931471805599453
# 2**52 + 1023: adding it to an integral double puts (k + 1023) in the low mantissa bits.
_EXP_SHIFT = 4503599627370496.0 + 1023.0


@intrinsic
def _int64_as_float64(typingctx, x):
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


@intrinsic
def _float64_as_int64(typingctx, x):
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@intrinsic
def _borrowed(typingctx, arrays):
    """The tuple of arrays as views that Numba does not reference-count (null
    meminfo and parent), for arrays that outlive every use of the views: a
    kernel's arguments, and scratch buffers held by _keep_alive.

    Numba increments and decrements (atomically) the reference count of every
    array passed to an inlined helper. Per tile row in the serial twins that
    took 55 % of the one pass at d = 2 (a profile); the parallel kernels'
    outlined loop bodies receive their arguments uncounted already.
    """

    def codegen(context, builder, signature, args):
        views = args[0]
        for i, ty in enumerate(signature.args[0]):
            view = context.make_array(ty)(context, builder, value=builder.extract_value(views, i))
            view.meminfo = cgutils.get_null_value(view.meminfo.type)
            view.parent = cgutils.get_null_value(view.parent.type)
            views = builder.insert_value(views, view._getvalue(), i)
        return views

    return arrays(arrays), codegen


@intrinsic
def _keep_alive(typingctx, value):
    """No code: a use of value, so that Numba holds its reference until here."""

    def codegen(context, builder, signature, args):
        return context.get_dummy_value()

    return types.void(value), codegen


# Degree-8 Chebyshev (near-minimax) fit of exp on [-ln2/2, ln2/2] (widened by 1e-4),
# computed with mpmath.chebyfit at 40 digits: relative error 8.1e-13, 80 times below the
# engine's 1e-10 target for log-densities (a log-sum-exp of terms each within a relative
# error e is within e). Degree 9 (1.4e-14) measured 9 % slower in the vectorised sweep.
# Highest degree first, as _horner takes them.
_EXP_POLY = (2.4876178959085513e-05, 0.00019915881871396035, 0.001388882165071769,
             0.008333266071022454, 0.0416666668910917, 0.16666666891180545,
             0.49999999999797773, 0.999999999979769, 1.0)  # fmt: skip


@numba.njit(fastmath=FASTMATH, inline="always")
def _horner(coefficients, x):
    """The polynomial with these coefficients (a tuple, highest degree first) at x,
    by Horner's rule, unrolled by Numba (a loop over the indices, left to LLVM to
    unroll, made the LOO chain kernel 5 % slower)."""
    p = coefficients[0]
    for c in numba.literal_unroll(coefficients[1:]):
        p = p * x + c
    return p


@numba.njit(fastmath=FASTMATH, inline="always")
def _reduce(x):
    """k = round(x / ln2) as a double and r = x - k ln2 in one multiply-add, |r| <= ln2/2
    (the rounding of ln2 adds at most |k| 5.6e-17 to r)."""
    kf = np.floor(x * _LOG2E + 0.5)
    return kf, x - kf * _LN2


@numba.njit(fastmath=FASTMATH, inline="always")
def _times_two_to(p, kf):
    """p * 2**k, 2**k built from its bit pattern."""
    return p * _int64_as_float64(_float64_as_int64(kf + _EXP_SHIFT) << 52)


@numba.njit(fastmath=FASTMATH, inline="always")
def exp_clamped(x):
    """exp(x) for x in [-708, 709], clamped there, branch-free so that loops vectorise.

    Reduction x = k ln2 + r, |r| <= ln2/2, in one multiply-add (the rounding of ln2
    adds at most 1022 * 5.6e-17 to r), a degree-8 polynomial (relative error below
    1.5e-12 over the whole range, tested) and 2**k built from its bit pattern.
    Below -708 the result is 3.3e-308 instead of a subnormal or
    zero: negligible beside a log-sum-exp whose reference term is exp(0) = 1.
    Above 709 it is 8.2e307, whose square overflows, which is how callers detect
    it.  NaN propagates.
    """
    kf, r = _reduce(min(max(x, -708.0), 709.0))
    return _times_two_to(_horner(_EXP_POLY, r), kf)


# exp_chain's polynomial: 1 + r g(r), g a degree-8 Chebyshev fit of (e^r - 1) / r on
# the same interval (mpmath.chebyfit, 40 digits), so that the relative error vanishes
# with r: at most 1.1e-13 |r| (3.6e-14 at the ends), before float64 rounding.
_CHAIN_G = (2.762514117220653e-06, 2.4876207124222955e-05, 0.00019841208686407412,
            0.0013888821599954801, 0.008333333353752491, 0.041666666891345835,
            0.1666666666664826, 0.4999999999979747, 1.0)  # fmt: skip


@numba.njit(fastmath=FASTMATH, inline="always")
def exp_chain(x, lo):
    """exp(x) for lo <= x <= 0 (x below lo gives exp(lo)), for terms that chains raise
    to powers P up to 2560.

    Such a term matters only while P |x| <= 45 or so (below e^-45 of the chain's
    nearest term, 1): so either k = round(x / ln2) = 0 and |r| = |x| <= 45 / P,
    or P <= 130. The polynomial's relative error, at most 1.1e-13 |r|, then
    grows to at most 5e-12 in t^P (tested), plus the float64 rounding of about
    an ulp times P. One multiply-add reduces x (ln2's rounding adds |k| 5.6e-17
    to r) and no upper clamp is taken: callers pass x <= 0.
    """
    kf, r = _reduce(max(x, lo))
    return _times_two_to(_horner(_CHAIN_G, r) * r + 1.0, kf)


@numba.njit(inline="always")
def _log_kernel(kernel, d2, c):
    """log K(d2) for a compact or non-Gaussian kernel, up to its normaliser.

    ``c = 1 / (2 h^2)``, so ``d2 * 2c = (r / h)^2``.
    """
    t2 = d2 * 2.0 * c
    if kernel == EXPONENTIAL:
        return -math.sqrt(t2)
    if t2 >= 1.0:
        return -np.inf
    if kernel == TOPHAT:
        return 0.0
    if kernel == EPANECHNIKOV:
        return math.log1p(-t2)
    if kernel == LINEAR:
        return math.log1p(-math.sqrt(t2))
    return math.log(math.cos(0.5 * math.pi * math.sqrt(t2)))


@numba.njit(fastmath=FASTMATH, inline="always")
def _merge(M, S, S2, r, k, m_b, s_b, s2_b):
    """Fold a tile's (max, sum, sum of squares) into the running totals."""
    if m_b == -np.inf:
        return
    m_old = M[r, k]
    if m_b > m_old:
        scale = math.exp(m_old - m_b)
        S[r, k] = S[r, k] * scale + s_b
        S2[r, k] = S2[r, k] * scale * scale + s2_b
        M[r, k] = m_b
    else:
        scale = math.exp(m_b - m_old)
        S[r, k] += s_b * scale
        S2[r, k] += s2_b * scale * scale


@numba.njit(fastmath=FASTMATH, inline="always")
def _gaussian_row(d2, logw, c, nt):
    """Exact max, sum of exp and sum of exp squared of logw - c * d2 over one tile row."""
    m_b = -np.inf
    for j in range(nt):
        m_b = max(m_b, logw[j] - c * d2[j])
    s_b = 0.0
    s2_b = 0.0
    if m_b > -np.inf:
        for j in range(nt):
            e = exp_clamped(logw[j] - c * d2[j] - m_b)
            s_b += e
            s2_b += e * e
    return m_b, s_b, s2_b


@numba.njit(fastmath=FASTMATH, inline="always")
def _gaussian_sums_scalar(d2, a, c, ref, nt, want_s2):
    """Sums of exp(a[0] - c * d2 - ref) (and of its square) in one vectorised sweep,
    a[0, j] the log weight of point j (see _sweep_terms)."""
    s_b = 0.0
    s2_b = 0.0
    if want_s2:
        for j in range(nt):
            e = exp_clamped(a[0, j] - c * d2[j] - ref)
            s_b += e
            s2_b += e * e
    else:
        for j in range(nt):
            s_b += exp_clamped(a[0, j] - c * d2[j] - ref)
    return s_b, s2_b


@numba.njit(fastmath=FASTMATH, inline="always")
def _gaussian_sums_gemm_scalar(a, k, G, r, c2, b, nt, want_s2):
    """As _gaussian_sums_scalar for GEMM tiles: the exponents are a[k, j] + c2 G[r, j] + b.

    With a[k, j] = logw_j - c |y_j|^2 (once per tile, _sweep_terms), c2 = 2c and b = -c |q|^2 - ref
    (once per row), logw_j - c |q - y_j|^2 - ref costs one multiply-add per term.
    Rows are indexed, not sliced: see _direct_row.
    """
    s_b = 0.0
    s2_b = 0.0
    if want_s2:
        for j in range(nt):
            e = exp_clamped(a[k, j] + c2 * G[r, j] + b)
            s_b += e
            s2_b += e * e
    else:
        for j in range(nt):
            s_b += exp_clamped(a[k, j] + c2 * G[r, j] + b)
    return s_b, s2_b


@numba.njit(fastmath=FASTMATH, inline="always")
def _accept(s_b, s2_b, M, S, S2, r, k):
    """Add sums taken against the running maximum M[r, k]; False if they overflowed.

    One sweep against the running maximum suffices: terms more than 708 below it
    are clamped to 3e-308 (negligible, since ``S >= 1``), and a term more than
    ~350 above it overflows the checked sums, in which case the caller redoes the
    tile exactly with its own maximum.  ``S`` is renormalised to 1 when it grows
    large, so the reference follows the data.
    """
    if not (s_b <= 1e300 and s2_b <= 1e300):
        return False
    total = S[r, k] + s_b
    S2[r, k] += s2_b
    if total > 1e30:
        M[r, k] += math.log(total)
        S2[r, k] = S2[r, k] / total / total
        total = 1.0
    S[r, k] = total
    return True


@numba.njit(inline="always")
def _generic_row(d2, logw, c, nt, kernel):
    """As _gaussian_row for the other kernels (exact libm exp/log, -inf outside support)."""
    m_b = -np.inf
    for j in range(nt):
        m_b = max(m_b, logw[j] + _log_kernel(kernel, d2[j], c))
    s_b = 0.0
    s2_b = 0.0
    if m_b > -np.inf:
        for j in range(nt):
            a = logw[j] + _log_kernel(kernel, d2[j], c)
            if a > -np.inf:
                e = math.exp(a - m_b)
                s_b += e
                s2_b += e * e
    return m_b, s_b, s2_b


@numba.njit(fastmath=FASTMATH, inline="always")
def _exponential_row(d2, logw, c, nt, terms):
    """As _generic_row for the exponential kernel, log K = -sqrt(d2 * 2c), in two
    vectorised sweeps: the terms (kept in ``terms``, one square root each) and their
    maximum, then the sums with exp_clamped."""
    c2 = 2.0 * c
    m_b = -np.inf
    for j in range(nt):
        terms[j] = logw[j] - math.sqrt(d2[j] * c2)
        m_b = max(m_b, terms[j])
    s_b = 0.0
    s2_b = 0.0
    if m_b > -np.inf:
        for j in range(nt):
            e = exp_clamped(terms[j] - m_b)
            s_b += e
            s2_b += e * e
    return m_b, s_b, s2_b


# Taylor coefficients of sin(x) / x in x^2, (-1)^k / (2k + 1)!, k = 0..9: on
# [0, pi/2] the first term left out, (pi/2)^20 / 21!, is 1.6e-16 of sin(x) or less.
_SIN_C = tuple((-1.0) ** k / math.factorial(2 * k + 1) for k in range(9, -1, -1))
# 1 - t for the largest t^2 below 1, 1 - 2^-53, whose square root rounds to 1.
_LAST_GAP = 2.0**-54


@numba.njit(fastmath=FASTMATH, inline="always")
def _cosine_kernel(t2):
    """cos(pi t / 2) for t^2 = t2 >= 0 (0 for t^2 >= 1), as sin(pi u / 2) with
    u = 1 - t: a few ulps of cos at t = sqrt(t2) rounded, up to the support's
    edge (cos of that t would lose u's leading digits). Branch-free."""
    u = max(1.0 - math.sqrt(t2), _LAST_GAP) if t2 < 1.0 else 0.0
    x = 0.5 * math.pi * u
    return x * _horner(_SIN_C, x * x)


# Kernels whose terms w K need no logarithm: inside the support K lies in [8e-17, 1]
# (1 - t^2, 1 - |t|, cos(pi t / 2) or 1), so with the tile's weights divided by
# their largest one (spanning at most _PLAIN_SPAN nats, else the log-space row) no
# term underflows.
_PLAIN_SPAN = 600.0


@numba.njit(inline="always")
def _plain_kernel(kernel):
    return kernel != GAUSSIAN and kernel != EXPONENTIAL


@numba.njit(inline="always")
def _tile_weights(lw, nt, wt):
    """wt[j] = exp(lw[j] - max(lw)); returns max(lw) and whether lw spans at most
    _PLAIN_SPAN nats (once per tile, for the plain rows)."""
    top = -np.inf
    low = np.inf
    for j in range(nt):
        top = max(top, lw[j])
        low = min(low, lw[j])
    for j in range(nt):
        wt[j] = math.exp(lw[j] - top)
    return top, low >= top - _PLAIN_SPAN


@numba.njit(fastmath=FASTMATH, inline="always")
def _plain_row(d2, wt, top, c, nt, kernel):
    """As _generic_row for the compact kernels, in one vectorised sweep of w K
    (weights wt relative to exp(top)), without logarithms.
    t^2 = d2 * 2c as in _log_kernel, so the supports are the same. The sum of
    squares costs one multiply-add per term, so it is always taken."""
    c2 = 2.0 * c
    s_b = 0.0
    s2_b = 0.0
    if kernel == TOPHAT:
        for j in range(nt):
            v = wt[j] if d2[j] * c2 < 1.0 else 0.0
            s_b += v
            s2_b += v * v
    elif kernel == EPANECHNIKOV:
        for j in range(nt):
            v = wt[j] * max(1.0 - d2[j] * c2, 0.0)
            s_b += v
            s2_b += v * v
    elif kernel == LINEAR:
        for j in range(nt):
            v = wt[j] * max(1.0 - math.sqrt(d2[j] * c2), 0.0)
            s_b += v
            s2_b += v * v
    else:
        for j in range(nt):
            v = wt[j] * _cosine_kernel(d2[j] * c2)
            s_b += v
            s2_b += v * v
    if s_b == 0.0:
        return -np.inf, 0.0, 0.0
    return top, s_b, s2_b


# --- Tile products for the GEMM path ----------------------------------------------
# OpenBLAS runs the engine's tile products (512 x 256 x d) well below its peak for
# small d: its micro-kernel loads and stores each output block for a depth of only d.
# _block keeps one output block in vector registers for the whole depth (one
# llvm.fma per row and vector of columns), written in LLVM IR because Numba's
# vectorisers do not produce this loop from Python (benchmarks/RESULTS.md, session
# 14). Float32 tiles keep BLAS (sgemm). It lives in this module so that Numba's
# cache, keyed on this file, is invalidated with it.


def _target_has_avx512():
    """True when Numba compiles for a CPU with AVX-512F: the host, unless
    NUMBA_CPU_NAME names another target (then NUMBA_CPU_FEATURES decide)."""
    if numba.config.CPU_NAME and numba.config.CPU_NAME != "host":
        features = numba.config.CPU_FEATURES or ""
    else:
        features = llvm.get_host_cpu_features().flatten()
    return "+avx512f" in features.split(",")


# With AVX-512, blocks of 8 x 16 in sixteen vectors of eight doubles: one thread
# measured 117-126 GF/s on 512 x 256 tiles at d = 16 to 256 and 107-111 GF/s at
# d = 512 to 2000 (AMD EPYC, family 26), against OpenBLAS's 46-63 GF/s with
# OPENBLAS_CORETYPE=Haswell and 66-94 GF/s with its default kernels. The whole
# pass (n = 20 000, m = 4 000) gained 1.4-1.7x over BLAS at d = 512 to 2048 but
# only 1.2x at d = 4096, so above d = 2048 BLAS takes over: it reads the tiles in
# place, where this kernel copies them (12.5 MiB per thread at d = 2048). With
# AVX2, blocks of 6 x 8 in twelve vectors of four, up to d = 24; from about d = 32
# on OpenBLAS is as fast on the tiles (products alone, two threads: 63 against
# 50 GF/s at d = 16, equal at d = 32).
AVX512 = _target_has_avx512()
if AVX512:
    VECTOR, BLOCK_ROWS, OWN_MAX_D = 8, 8, 2048
else:
    VECTOR, BLOCK_ROWS, OWN_MAX_D = 4, 6, 24
BLOCK_COLS = 2 * VECTOR


def _float64_matrix(ty):
    return isinstance(ty, types.Array) and ty.dtype == types.float64 and ty.ndim == 2 and ty.layout == "C"


def _splat(builder, value, lanes=8):
    """A vector of ``lanes`` copies of a scalar value."""
    vector = ir.VectorType(value.type, lanes)
    first = builder.insert_element(ir.Constant(vector, ir.Undefined), value, ir.Constant(ir.IntType(32), 0))
    return builder.shuffle_vector(first, ir.Constant(vector, ir.Undefined),
                                  ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes))  # fmt: skip


def _vector_fma(builder, vector):
    """llvm.fma for a vector of doubles, declared in the builder's module."""
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(vector, [vector] * 3),
                                          f"llvm.fma.v{vector.count}f64")  # fmt: skip


def block_kernel(width, block_rows):
    """An intrinsic ``block(qb, yt, G, i0, j0)`` that sets
    ``G[i0:i0+block_rows, j0:j0+2*width] = qb[i0:i0+block_rows] @ yt[:, j0:j0+2*width]``,
    all C-contiguous float64.

    ``2 * block_rows`` accumulators of ``width`` doubles; per feature, two vector
    loads of yt, ``block_rows`` broadcasts of qb and ``2 * block_rows`` fused
    multiply-adds. Any width compiles on any CPU (LLVM splits wider vectors).
    """
    vector = ir.VectorType(ir.DoubleType(), width)

    @intrinsic
    def block(typingctx, qb, yt, G, i0, j0):
        if not all(_float64_matrix(a) for a in (qb, yt, G)):
            return None

        def codegen(context, builder, signature, args):
            q, y, g, row0, col0 = args
            arrays = [context.make_array(ty)(context, builder, val) for ty, val in zip(signature.args[:3], (q, y, g))]
            (qa, ya, ga) = arrays
            depth = cgutils.unpack_tuple(builder, qa.shape, 2)[1]
            y_cols = cgutils.unpack_tuple(builder, ya.shape, 2)[1]
            g_cols = cgutils.unpack_tuple(builder, ga.shape, 2)[1]
            intp = depth.type
            fma = _vector_fma(builder, vector)
            accs = [cgutils.alloca_once_value(builder, ir.Constant(vector, [0.0] * width))
                    for _ in range(2 * block_rows)]  # fmt: skip

            def vector_at(data, index):
                return builder.bitcast(builder.gep(data, [index]), vector.as_pointer())

            with cgutils.for_range(builder, depth) as loop:
                f = loop.index
                y_row = builder.add(builder.mul(f, y_cols), col0)
                ys = [builder.load(vector_at(ya.data, builder.add(y_row, ir.Constant(intp, width * b))), align=8)
                      for b in range(2)]  # fmt: skip
                for a in range(block_rows):
                    index = builder.add(builder.mul(builder.add(row0, ir.Constant(intp, a)), depth), f)
                    qv = _splat(builder, builder.load(builder.gep(qa.data, [index])), width)
                    for b in range(2):
                        acc = accs[2 * a + b]
                        builder.store(builder.call(fma, [qv, ys[b], builder.load(acc)]), acc)
            for a in range(block_rows):
                g_row = builder.add(builder.mul(builder.add(row0, ir.Constant(intp, a)), g_cols), col0)
                for b in range(2):
                    builder.store(builder.load(accs[2 * a + b]),
                                  vector_at(ga.data, builder.add(g_row, ir.Constant(intp, width * b))), align=8)  # fmt: skip
            return context.get_dummy_value()

        return types.void(qb, yt, G, types.intp, types.intp), codegen

    return block


_block = block_kernel(VECTOR, BLOCK_ROWS)


@numba.njit(inline="always")
def product_blocks(qb, yt, G):
    """G = qb @ yt block by block, for shapes padded to whole blocks (_block)."""
    for i0 in range(0, G.shape[0], BLOCK_ROWS):
        for j0 in range(0, G.shape[1], BLOCK_COLS):
            _block(qb, yt, G, i0, j0)


@numba.njit(inline="always")
def padded(size, step):
    """size rounded up to a multiple of step."""
    return -(-size // step) * step


# Bytes of one AVX-512 vector and of a cache line: sweep buffers aligned to this
# never split a vector load or store across two lines (Numba's np.empty aligns to 32).
_ALIGN = 64


@numba.njit(inline="always")
def aligned_empty(size, dtype):
    """Uninitialised buffer of ``size`` elements of ``dtype`` (4 or 8 bytes each)
    starting on a 64-byte boundary.

    The chain kernel's sweeps measured 2-6 % faster with their buffers aligned so
    (d = 2, AVX-512), against Numba's 32-byte alignment, and the one pass's serial
    twin 1.2x faster at d = 2 with its transposed tile aligned.
    """
    buf = np.empty(size + _ALIGN // 4, dtype=dtype)
    skip = (-buf.ctypes.data) % _ALIGN // buf.itemsize
    return buf[skip:skip + size]


@numba.njit(inline="always")
def query_block(Q, q0, q1, qb):
    """Rows q0:q1 of Q into qb (float64), zero-padded to qb's rows: once per query
    tile, for tile_products. Nothing when qb has no rows (BLAS products)."""
    for r in range(qb.shape[0]):
        for f in range(qb.shape[1]):
            qb[r, f] = Q[q0 + r, f] if r < q1 - q0 else 0.0


def tile_products(Q, q0, q1, Y, t0, t1, qb, yt, buf):
    """Products Q[q0:q1] @ Y[t0:t1].T as a view of buf, of shape at least (q1 - q0, t1 - t0).

    Float64 tiles with d <= OWN_MAX_D use the register-blocked kernel above, with
    qb filled by query_block(Q, q0, q1, qb) and yt as scratch for the transposed
    tile of Y, both zero-padded to whole blocks; other tiles call BLAS through
    ``np.dot``. Compiled through its Numba overload only.
    """
    raise NotImplementedError("tile_products runs inside Numba kernels only")


@numba.njit(inline="always")
def _blas_products(Q, q0, q1, Y, t0, t1, buf):
    """Q[q0:q1] @ Y[t0:t1].T by BLAS, into a view of buf."""
    G = buf[: (q1 - q0) * (t1 - t0)].reshape((q1 - q0, t1 - t0))
    np.dot(Q[q0:q1], Y[t0:t1].T, G)
    return G


@overload(tile_products, inline="always")
def _tile_products(Q, q0, q1, Y, t0, t1, qb, yt, buf):
    if Q.dtype != types.float64:

        def blas(Q, q0, q1, Y, t0, t1, qb, yt, buf):
            return _blas_products(Q, q0, q1, Y, t0, t1, buf)

        return blas

    def own_or_blas(Q, q0, q1, Y, t0, t1, qb, yt, buf):
        nt = t1 - t0
        if Q.shape[1] > OWN_MAX_D:
            return _blas_products(Q, q0, q1, Y, t0, t1, buf)
        rows = padded(q1 - q0, BLOCK_ROWS)
        cols = padded(nt, BLOCK_COLS)
        _transpose_tile(Y, t0, nt, yt)
        yt[:, nt:cols] = 0.0
        G = buf[: rows * cols].reshape((rows, cols))
        product_blocks(qb, yt, G)
        return G

    return own_or_blas


# --- Exponential sums in AVX-512 vectors -------------------------------------------
# With AVX-512 the Gaussian sweeps take their exponents in base 2 (x log2(e)) and
# compute 2^y as 2^f 2^(j/16) 2^floor(n): n = y rounded to a multiple of 1/16
# (vrndscalepd), f = y - n (vreducepd), j = 16 n mod 16, a polynomial for 2^f, a
# table of the sixteen 2^(j/16) read by one two-register permute (vpermi2pd) and
# vscalefpd for 2^floor(n), which also gives 0 for y = -inf and inf for y = inf
# without clamping. With the exponent and the sum, 13 vector operations per eight
# terms against 18 for the sweeps of exp_clamped, which LLVM vectorises from Python
# but whose table lookup it would turn into a slow gather: hence LLVM IR, as for
# _block. The sweeps measured 1.4x faster (benchmarks/RESULTS.md, session 21).

# 2^f = 1 + f g(f) on |f| <= 1/32, g a degree-3 Chebyshev fit of (2^f - 1) / f there
# (widened by 1e-4; mpmath.chebyfit at 40 digits): exact at f = 0, relative error at
# most 5.1e-12 at the ends, 20 times below the engine's 1e-10 target for
# log-densities (tested over the whole range, with the table).
_EXP2_G = (0.009618279563919733, 0.05550541104327643, 0.24022650694073078, 0.6931471804009316)
_EXP2_TABLE = tuple(float(np.exp2(j / 16)) for j in range(16))
# Relative error bound of one term of the Gaussian sweeps (exp_clamped: 1.5e-12).
SWEEP_EXP_ERROR = 5.1e-12 if AVX512 else 1.5e-12
# Sweep exponents are in this unit: log2(e) per nat where the sweeps run in AVX-512
# (exp2_sums_avx512), one otherwise (exp_clamped).
SWEEP_UNIT = _LOG2E if AVX512 else 1.0
# The chains' exponential in AVX-512 (chain_exp_avx512): g of degree 5, a Chebyshev
# fit of (2^f - 1) / f on |f| <= 1/32 (widened by 1e-4; mpmath.chebyfit at 40
# digits), relative error 1.3e-17 f before float64 rounding, so that it vanishes
# with the argument as exp_chain's does.
_CHAIN_EXP2_G = (0.0001540372522169807, 0.001333378300903704, 0.00961812910691042,
                 0.05550410865653406, 0.24022650695910075, 0.6931471805599457)  # fmt: skip


def _row_pointer(context, builder, ty, value, row):
    """Pointer to element (row, 0) of a C-contiguous 2-D array, or to element 0 of a 1-D one."""
    array = context.make_array(ty)(context, builder, value)
    if ty.ndim == 1:
        return array.data
    cols = cgutils.unpack_tuple(builder, array.shape, 2)[1]
    return builder.gep(array.data, [builder.mul(row, cols)])


def _exp2_vector(builder, y, g_coefficients=None):
    """2^y for a vector of eight doubles: 0 below -1075, inf above 1024, NaN for NaN;
    2^f = 1 + f g(f) on the reduced argument f, g of _EXP2_G unless given."""
    vd = y.type
    vi = ir.VectorType(ir.IntType(64), 8)
    i8, i32 = ir.IntType(8), ir.IntType(32)

    def function(name, args):
        return cgutils.get_or_insert_function(builder.module, ir.FunctionType(vd, args), name)

    def splat(value):
        return ir.Constant(vd, [value] * 8)

    fma = _vector_fma(builder, vd)
    all_lanes, current_rounding = ir.Constant(i8, 255), ir.Constant(i32, 4)
    # Immediate: scale 2^-4, round to nearest, no precision exception.
    sixteenths = ir.Constant(i32, 0x48)
    n = builder.call(function("llvm.x86.avx512.mask.rndscale.pd.512", [vd, i32, vd, i8, i32]),
                     [y, sixteenths, y, all_lanes, current_rounding])  # fmt: skip
    # y - n, exact: 0 (not NaN) for infinite y.
    f = builder.call(function("llvm.x86.avx512.mask.reduce.pd.512", [vd, i32, vd, i8, i32]),
                     [y, sixteenths, y, all_lanes, current_rounding])  # fmt: skip
    coefficients = _EXP2_G if g_coefficients is None else g_coefficients
    g = splat(coefficients[0])
    for c in coefficients[1:]:
        g = builder.call(fma, [g, f, splat(c)])
    p = builder.call(fma, [g, f, splat(1.0)])
    # 16 n + 1.5 * 2^52 holds the integer 16 n in its low bits; vpermi2pd reads the last four.
    index = builder.bitcast(builder.call(fma, [n, splat(16.0), splat(6755399441055744.0)]), vi)
    table = builder.call(function("llvm.x86.avx512.vpermi2var.pd.512", [vd, vi, vd]),
                         [ir.Constant(vd, list(_EXP2_TABLE[:8])), index, ir.Constant(vd, list(_EXP2_TABLE[8:]))])  # fmt: skip
    return builder.call(function("llvm.x86.avx512.mask.scalef.pd.512", [vd, vd, vd, i8, i32]),
                        [builder.fmul(p, table), n, p, all_lanes, current_rounding])  # fmt: skip


def _masked_load(builder, address, vector, mask):
    """Load the lanes of a vector where mask is set (zeros elsewhere), never touching the others."""
    kind = "f64" if vector.element == ir.DoubleType() else "f32"
    mask_type = ir.VectorType(ir.IntType(1), 8)
    load = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(vector, [vector.as_pointer(), ir.IntType(32), mask_type, vector]),
        f"llvm.masked.load.v8{kind}.p0v8{kind}")  # fmt: skip
    return builder.call(load, [address, ir.Constant(ir.IntType(32), 4), mask, ir.Constant(vector, [0.0] * 8)])


def _by_eights(builder, count, body):
    """Call body(j, mask) for j = 0, 8, 16, ... below count: mask None for the
    whole vectors, then, if count is not a multiple of 8, the lanes of the last
    one that lie below count."""
    intp = count.type
    eight = ir.Constant(intp, 8)
    full = builder.sdiv(count, eight)
    with cgutils.for_range(builder, full) as loop:
        body(builder.mul(loop.index, eight), None)
    rest = builder.sub(count, builder.mul(full, eight))
    with builder.if_then(builder.icmp_signed(">", rest, ir.Constant(intp, 0))):
        lanes = ir.Constant(ir.VectorType(intp, 8), list(range(8)))
        body(builder.mul(full, eight), builder.icmp_signed("<", lanes, _splat(builder, rest)))


@intrinsic
def exp2_sums_avx512(typingctx, u, u_row, v, v_row, alpha, beta, nt, want_s2):
    """(sum_j e_j, sum_j e_j^2 or 0) for j < nt, e_j = 2^(alpha u_j + v_j + beta),
    u_j = u[u_row, j] (float64 or float32), v_j = v[v_row, j] (float64), from
    C-contiguous rows (a 1-D array ignores its row index). AVX-512 only."""
    rows_ok = all(isinstance(t, types.Array) and t.layout == "C" and t.ndim in (1, 2) for t in (u, v))
    if not rows_ok or u.dtype not in (types.float32, types.float64) or v.dtype != types.float64:
        return None
    sig = types.UniTuple(types.float64, 2)(u, types.intp, v, types.intp, types.float64, types.float64,
                                           types.intp, types.boolean)  # fmt: skip

    def codegen(context, builder, signature, args):
        vd = ir.VectorType(ir.DoubleType(), 8)
        vu = ir.VectorType(context.get_value_type(signature.args[0].dtype), 8)
        u_ptr = _row_pointer(context, builder, signature.args[0], args[0], args[1])
        v_ptr = _row_pointer(context, builder, signature.args[2], args[2], args[3])
        alpha_v, beta_v = _splat(builder, args[4]), _splat(builder, args[5])
        count, squares = args[6], args[7]
        zero = ir.Constant(vd, [0.0] * 8)
        fma = _vector_fma(builder, vd)
        sums = cgutils.alloca_once_value(builder, zero)
        sums2 = cgutils.alloca_once_value(builder, zero)

        def load(pointer, vector, j, mask):
            address = builder.bitcast(builder.gep(pointer, [j]), vector.as_pointer())
            if mask is None:
                value = builder.load(address, align=4)
            else:
                value = _masked_load(builder, address, vector, mask)
            return value if vector == vd else builder.fpext(value, vd)

        def add_terms(j, mask, with_squares):
            y = builder.fadd(builder.call(fma, [alpha_v, load(u_ptr, vu, j, mask), load(v_ptr, vd, j, mask)]), beta_v)
            e = _exp2_vector(builder, y)
            if mask is not None:
                e = builder.select(mask, e, zero)
            builder.store(builder.fadd(builder.load(sums), e), sums)
            if with_squares:
                builder.store(builder.call(fma, [e, e, builder.load(sums2)]), sums2)

        def sweep(with_squares):
            _by_eights(builder, count, lambda j, mask: add_terms(j, mask, with_squares))

        def total(vector):
            # Pairwise: halves, quarters, then the last two lanes.
            value = builder.load(vector)
            for width in (4, 2, 1):
                halves = [builder.shuffle_vector(value, value, ir.Constant(ir.VectorType(ir.IntType(32), width),
                                                                           list(range(start, start + width))))
                          for start in (0, width)]  # fmt: skip
                value = builder.fadd(*halves)
            return builder.extract_element(value, ir.Constant(ir.IntType(32), 0))

        squares_total = cgutils.alloca_once_value(builder, ir.Constant(ir.DoubleType(), 0.0))
        with builder.if_else(squares) as (then, otherwise):
            with then:
                sweep(True)
                builder.store(total(sums2), squares_total)
            with otherwise:
                sweep(False)
        return context.make_tuple(builder, signature.return_type, [total(sums), builder.load(squares_total)])

    return sig, codegen


def _masked_store(builder, value, address, mask):
    """Store the lanes of a vector of eight doubles where mask is set, never touching the others."""
    vector = value.type
    mask_type = ir.VectorType(ir.IntType(1), 8)
    store = cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(ir.VoidType(), [vector, vector.as_pointer(), ir.IntType(32), mask_type]),
        "llvm.masked.store.v8f64.p0v8f64")  # fmt: skip
    builder.call(store, [value, address, ir.Constant(ir.IntType(32), 8), mask])


@intrinsic
def chain_exp_avx512(typingctx, d2, nt, dref, c, lo, out):
    """out[j] = exp(max(-c (d2[j] - dref), lo)) for j < nt, as exp_chain, from
    C-contiguous 1-D float64 arrays; out[nt:] is not touched. AVX-512 only.

    2^y by _exp2_vector with _CHAIN_EXP2_G, y = x log2(e): a relative error that
    vanishes with x (tested like exp_chain's, in the powers chains take).
    """
    arrays_ok = all(isinstance(t, types.Array) and t.layout == "C" and t.ndim == 1 and t.dtype == types.float64
                    for t in (d2, out))  # fmt: skip
    if not arrays_ok:
        return None
    sig = types.void(d2, types.intp, types.float64, types.float64, types.float64, out)

    def codegen(context, builder, signature, args):
        vd = ir.VectorType(ir.DoubleType(), 8)
        d2_ptr = _row_pointer(context, builder, signature.args[0], args[0], None)
        out_ptr = _row_pointer(context, builder, signature.args[5], args[5], None)
        count = args[1]
        dref_v = _splat(builder, args[2])
        scale_v = _splat(builder, builder.fmul(builder.fneg(args[3]), ir.Constant(ir.DoubleType(), _LOG2E)))
        lo_v = _splat(builder, builder.fmul(args[4], ir.Constant(ir.DoubleType(), _LOG2E)))
        maximum = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vd, [vd, vd]), "llvm.maxnum.v8f64")

        def fill(j, mask):
            address = builder.bitcast(builder.gep(d2_ptr, [j]), vd.as_pointer())
            x = builder.load(address, align=8) if mask is None else _masked_load(builder, address, vd, mask)
            y = builder.call(maximum, [builder.fmul(builder.fsub(x, dref_v), scale_v), lo_v])
            e = _exp2_vector(builder, y, _CHAIN_EXP2_G)
            target = builder.bitcast(builder.gep(out_ptr, [j]), vd.as_pointer())
            if mask is None:
                builder.store(e, target, align=8)
            else:
                _masked_store(builder, e, target, mask)

        _by_eights(builder, count, fill)
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(inline="always")
def _gaussian_sums_avx512(d2, a, c, ref, nt, want_s2):
    """_gaussian_sums_scalar by exp2_sums_avx512 (a in SWEEP_UNIT)."""
    return exp2_sums_avx512(d2, 0, a, 0, -c * _LOG2E, -ref * _LOG2E, nt, want_s2)


@numba.njit(inline="always")
def _gaussian_sums_gemm_avx512(a, k, G, r, c2, b, nt, want_s2):
    """_gaussian_sums_gemm_scalar by exp2_sums_avx512 (a in SWEEP_UNIT)."""
    return exp2_sums_avx512(G, r, a, k, c2 * _LOG2E, b * _LOG2E, nt, want_s2)


# The sweeps of _tile_sums.
_gaussian_sums = _gaussian_sums_avx512 if AVX512 else _gaussian_sums_scalar
_gaussian_sums_gemm = _gaussian_sums_gemm_avx512 if AVX512 else _gaussian_sums_gemm_scalar


@numba.njit(fastmath=FASTMATH, inline="always")
def _transpose_tile(Y, t0, nt, yt):
    """Copy rows t0:t0+nt of Y, transposed and in float64, into yt[:, :nt]."""
    for j in range(nt):
        for f in range(Y.shape[1]):
            yt[f, j] = Y[t0 + j, f]


@numba.njit(fastmath=FASTMATH, inline="always")
def _bits_min(m, v):
    """min(m, v's bit pattern as int64), v >= 0 or +inf (see _row_min)."""
    return min(m, _float64_as_int64(v))


@numba.njit(fastmath=FASTMATH, inline="always")
def _first_sweep(Q, i, yt, nt, d2, head):
    """d2[j] = the sum over the first head features (1 to 4) of (Q[i, f] - yt[f, j])^2;
    returns the bit pattern of their minimum."""
    m = _float64_as_int64(np.inf)
    q0 = np.float64(Q[i, 0])
    q1 = np.float64(Q[i, min(1, head - 1)])
    q2 = np.float64(Q[i, min(2, head - 1)])
    q3 = np.float64(Q[i, min(3, head - 1)])
    if head == 1:
        for j in range(nt):
            a = q0 - yt[0, j]
            d2[j] = a * a
            m = _bits_min(m, d2[j])
    elif head == 2:
        for j in range(nt):
            a = q0 - yt[0, j]
            b = q1 - yt[1, j]
            d2[j] = a * a + b * b
            m = _bits_min(m, d2[j])
    elif head == 3:
        for j in range(nt):
            a = q0 - yt[0, j]
            b = q1 - yt[1, j]
            c = q2 - yt[2, j]
            d2[j] = (a * a + b * b) + c * c
            m = _bits_min(m, d2[j])
    else:
        for j in range(nt):
            a = q0 - yt[0, j]
            b = q1 - yt[1, j]
            c = q2 - yt[2, j]
            e = q3 - yt[3, j]
            d2[j] = (a * a + b * b) + (c * c + e * e)
            m = _bits_min(m, d2[j])
    return m


@numba.njit(fastmath=FASTMATH, inline="always")
def _four_sweep(Q, i, yt, nt, d2, f):
    """Add features f to f + 3 to d2; returns the bit pattern of d2's new minimum."""
    m = _float64_as_int64(np.inf)
    q0 = np.float64(Q[i, f])
    q1 = np.float64(Q[i, f + 1])
    q2 = np.float64(Q[i, f + 2])
    q3 = np.float64(Q[i, f + 3])
    for j in range(nt):
        a = q0 - yt[f, j]
        b = q1 - yt[f + 1, j]
        c = q2 - yt[f + 2, j]
        e = q3 - yt[f + 3, j]
        d2[j] += (a * a + b * b) + (c * c + e * e)
        m = _bits_min(m, d2[j])
    return m


@numba.njit(fastmath=FASTMATH, inline="always")
def _direct_row(Q, i, yt, nt, d2):
    """Squared distances from Q[i] (in float64) to the transposed tile, by explicit
    differences; returns their minimum.

    One sweep over d2 sets the first 1 to 4 features (d - 4k of them), then each
    sweep adds four (eight flops per element). Only the last sweep takes the
    minimum, and callers that drop it compile without it. Rows are indexed, not
    sliced: a slice is a new array whose reference count the serial twin updates
    atomically, and per tile row that cost about 10 % of its pass at d = 2 (the
    parallel kernel measured no such cost).
    """
    d = yt.shape[0]
    head = d - (d - 1) // 4 * 4
    if d == head:
        return _int64_as_float64(_first_sweep(Q, i, yt, nt, d2, head))
    _first_sweep(Q, i, yt, nt, d2, head)
    for f in range(head, d - 4, 4):
        _four_sweep(Q, i, yt, nt, d2, f)
    return _int64_as_float64(_four_sweep(Q, i, yt, nt, d2, d - 4))


@numba.njit(fastmath=FASTMATH, inline="always")
def _gemm_row(qs, ys, G, r, nt, d2):
    """Squared distances from the inner products G[r] and the squared norms; returns
    their minimum."""
    m = _float64_as_int64(np.inf)
    for j in range(nt):
        d2[j] = max(qs + ys[j] - 2.0 * G[r, j], 0.0)
        m = _bits_min(m, d2[j])
    return _int64_as_float64(m)


@numba.njit(fastmath=FASTMATH, inline="always")
def _gemm_row_near(qs, ys, G, r, nt, d2, h2):
    """As _gemm_row, returning the minimum of the squared distances and of their
    gaps |d2 - h2| to ``h2``: both in the same pass, for _exact_where_steep."""
    m = _float64_as_int64(np.inf)
    gap = m
    for j in range(nt):
        d2[j] = max(qs + ys[j] - 2.0 * G[r, j], 0.0)
        m = _bits_min(m, d2[j])
        gap = _bits_min(gap, abs(d2[j] - h2))
    return _int64_as_float64(m), _int64_as_float64(gap)


@numba.njit(fastmath=FASTMATH, inline="always")
def _exact_sq(Q, i, Y, j):
    """|Q[i] - Y[j]|^2 from explicit differences, in float64."""
    s = 0.0
    for f in range(Q.shape[1]):
        e = np.float64(Q[i, f]) - np.float64(Y[j, f])
        s += e * e
    return s


@numba.njit(inline="always")
def _steep_bands(kernel, c, err, ratio):
    """Where a GEMM distance d2, off by up to ``err``, could move log K by more
    than 1 / ``ratio``: |d2 - h^2| < edge and d2 < zero (-1: no such band).

    With t^2 = d2 / h^2, log K moves by its slope in t^2 times err / h^2. The
    slope is at most 2 / |1 - t^2| for the compact kernels (1 for Epanechnikov,
    1.25 for the cosine, 2 for the linear kernel above t = 1/2; the tophat jumps
    there), and at most 1 / t for the exponential and linear kernels below
    t = 1/2. Each band is widened by err, d2 itself being off by that much.
    """
    h2 = 0.5 / c
    edge = -1.0 if kernel == EXPONENTIAL else (2.0 * ratio + 1.0) * err
    zero = -1.0
    if kernel == EXPONENTIAL or kernel == LINEAR:
        t = ratio * err / h2
        zero = t * t * h2 + err
    return h2, edge, zero


@numba.njit(fastmath=FASTMATH, inline="always")
def _in_steep_band(x, h2, edge, zero):
    """Whether a GEMM distance x lies in a band of _steep_bands (branch-free, so
    that the count over a row vectorises)."""
    return (abs(x - h2) < edge) | (x < zero)


@numba.njit(fastmath=FASTMATH, inline="always")
def _exact_where_steep(Q, i, Y, t0, nt, d2, cs, kernel, err, ratio, d2_min, gap):
    """Recompute from explicit differences the GEMM distances of row i that lie in
    a steep band of log K (see _steep_bands) for any bandwidth: rare pairs, found
    for the first bandwidth from d2's minimum and its smallest gap to h^2 (see
    _gemm_row_near), for the others by a vectorised count unless the bands lie
    below that minimum (less err: mended distances move by up to err), before the
    scalar sweep that mends them."""
    for k in range(cs.shape[0]):
        h2, edge, zero = _steep_bands(kernel, cs[k], err, ratio)
        if k == 0:
            steep = gap < edge or d2_min < zero
        elif h2 + edge <= d2_min - err and zero <= d2_min - err:
            steep = False
        else:
            n_steep = 0
            for j in range(nt):
                n_steep += _in_steep_band(d2[j], h2, edge, zero)
            steep = n_steep > 0
        if not steep:
            continue
        for j in range(nt):
            if _in_steep_band(d2[j], h2, edge, zero):
                d2[j] = _exact_sq(Q, i, Y, t0 + j)


# The transposed tile's rows are this many doubles longer than the tile: rows of 256
# or 512 doubles start 2 or 4 KiB apart, which maps the d rows that _block reads for
# each output block to the same few sets of a 32 KiB 8-way L1 cache. With the pad,
# the whole pass with the default 512 x 256 tiles measured 1-3 % faster at d = 16 and
# 6-13 % at d = 24, and with 128 x 512 tiles 33 % faster at d = 16 (benchmarks/RESULTS.md,
# session 16).
TILE_ROW_PAD = 8


@numba.njit(inline="always")
def _tile_buffers(Q, nq, t_block, direct, n_bw):
    """Per-thread scratch: products, transposed reference tile, query rows (own
    products), distances, and the Gaussian sweeps' terms (_sweep_terms; n_bw = 0:
    none). Products and tiles are padded to whole blocks of _block, the
    transposed tile's rows by TILE_ROW_PAD more."""
    d = Q.shape[1]
    own = not direct and d <= OWN_MAX_D and Q.itemsize == 8  # float32 tiles: sgemm
    rows = padded(nq, BLOCK_ROWS)
    cols = padded(t_block, BLOCK_COLS)
    buf = aligned_empty(1 if direct else rows * cols, Q.dtype)
    yt_rows = d if direct or own else 0
    yt = aligned_empty(yt_rows * (cols + TILE_ROW_PAD), np.float64).reshape((yt_rows, cols + TILE_ROW_PAD))
    qb_rows = rows if own else 0
    qb = aligned_empty(qb_rows * d, np.float64).reshape((qb_rows, d))
    d2 = aligned_empty(t_block, np.float64)
    n_a = min(n_bw, 1) if direct else n_bw
    a = aligned_empty(n_a * t_block, np.float64).reshape((n_a, t_block))
    return buf, yt, qb, d2, a


@numba.njit(inline="always")
def _load_tile(Q, Y, q0, q1, t0, t1, direct, buf, yt, qb):
    """Prepare tile (q0:q1, t0:t1): transpose its reference rows (direct) or form the
    products of its rows (see tile_products); returns the products' view, with at
    least q1 - q0 rows and t1 - t0 columns (empty when direct)."""
    if direct:
        _transpose_tile(Y, t0, t1 - t0, yt)
        return buf[:0].reshape((0, t1 - t0))
    return tile_products(Q, q0, q1, Y, t0, t1, qb, yt, buf)

# A reference tile is skipped for a query tile when its largest possible term times
# its size lies this many nats below the running sum of every query of the tile:
# each skip then changes a sum by less than e^-40 = 4e-18 of itself.
SKIP_NATS = 40.0
_SKIP_FACTOR = math.exp(-SKIP_NATS)


@numba.njit(inline="always")
def _tile_order(Q, q0, q1, lo, hi, n_tiles):
    """Reference tiles in the order to visit, and squared gaps to the query tile.

    With bounding boxes (lo, hi of shape (n_tiles, d)), tiles come nearest first,
    the gap being the squared distance between the query rows' box and the tile's;
    without (no rows), in storage order with gaps of zero.
    """
    gap2 = np.zeros(n_tiles)
    if lo.shape[0] == 0:
        return np.arange(n_tiles), gap2
    d = Q.shape[1]
    qlo = np.full(d, np.inf)
    qhi = np.full(d, -np.inf)
    for r in range(q0, q1):
        for f in range(d):
            qlo[f] = min(qlo[f], Q[r, f])
            qhi[f] = max(qhi[f], Q[r, f])
    for t in range(n_tiles):
        s = 0.0
        for f in range(d):
            g = max(lo[t, f] - qhi[f], qlo[f] - hi[t, f], 0.0)
            s += g * g
        gap2[t] = s
    return np.argsort(gap2), gap2


@numba.njit(inline="always")
def _negligible(M, S, q0, q1, c, k, kernel, gap2, lw_top):
    """Whether a tile adds nothing to column k, its terms being at most lw_top + log K(gap2).

    lw_top is the log of the tile's largest weight times its size; log K is
    non-increasing in the squared distance, so gap2 bounds every term.
    """
    if kernel == GAUSSIAN:
        bound = lw_top - c * gap2
    else:
        bound = lw_top + _log_kernel(kernel, gap2, c)
    if bound == -np.inf:
        return True
    for r in range(q0, q1):
        if not (S[r, k] > 0.0 and bound < M[r, k] + math.log(S[r, k]) - SKIP_NATS):
            return False
    return True


@numba.njit(fastmath=FASTMATH, inline="always")
def _sweep_terms(a, lw, ys, cs, nt, direct):
    """The per-tile terms of the Gaussian sweeps, in SWEEP_UNIT: a[0, j] = log w_j
    (explicit differences) or a[k, j] = log w_j - c_k |y_j|^2 (GEMM tiles)."""
    if direct:
        for k in range(a.shape[0]):
            for j in range(nt):
                a[k, j] = lw[j] * SWEEP_UNIT
    else:
        for k in range(a.shape[0]):
            for j in range(nt):
                a[k, j] = (lw[j] - cs[k] * ys[j]) * SWEEP_UNIT


def _tile_sums(Q, qsq, Y, ysq, logw, cs, kernel, self_index, direct, want_s2, q_block, t_block,
               err_unit, err_ratio, lo, hi, lw_top, M, S, S2):  # fmt: skip
    """Blocked log-sum-exp engine (compiled below as a parallel kernel and its serial twin).

    Parameters: Q (m, d), qsq (m,) squared norms of Q in float64, Y (n, d),
    ysq (n,), logw (n,) log weights, cs (k,) values of 1/(2h^2), kernel id,
    self_index (m,) index into Y to leave out for each query (-1: none),
    direct (1: distances from explicit differences, for small d; 0: one BLAS
    GEMM per tile), want_s2 (0: S2 is not needed and its
    values are then meaningless), tile sizes, err_unit and err_ratio (GEMM
    distances are taken to be off by up to err_unit (|q|^2 + max |y|^2); the other
    kernels recompute those where log K could move by more than 1 / err_ratio, see
    _exact_where_steep), the reference tiles' bounding boxes
    lo, hi (n_tiles, d) and lw_top (n_tiles,), the log of each tile's largest
    weight times its size, for skipping tiles that add nothing (no rows: visit
    every tile), and the outputs M, S, S2 (m, k), filled in place.
    """
    Q, qsq, Y, ysq, logw, cs, self_index, lo, hi, lw_top, M, S, S2 = _borrowed(
        (Q, qsq, Y, ysq, logw, cs, self_index, lo, hi, lw_top, M, S, S2))
    m = Q.shape[0]
    n = Y.shape[0]
    n_q_tiles = (m + q_block - 1) // q_block
    n_tiles = (n + t_block - 1) // t_block
    for qt in numba.prange(n_q_tiles):
        q0 = qt * q_block
        q1 = min(q0 + q_block, m)
        nq = q1 - q0
        scratch = _tile_buffers(Q, nq, t_block, direct, cs.shape[0] if kernel == GAUSSIAN else 0) + (
            np.empty(t_block if kernel != GAUSSIAN else 0),)
        buf, yt, qb, d2, a, wt = _borrowed(scratch)
        query_block(Q, q0, q1, qb)
        for r in range(nq):
            for k in range(cs.shape[0]):
                M[q0 + r, k] = -np.inf
                S[q0 + r, k] = 0.0
                S2[q0 + r, k] = 0.0
        order, gap2 = _tile_order(Q, q0, q1, lo, hi, n_tiles)
        skip = np.zeros(cs.shape[0], dtype=np.bool_)
        for t in order:
            for k in range(cs.shape[0]):
                skip[k] = gap2[t] > 0.0 and _negligible(M, S, q0, q1, cs[k], k, kernel, gap2[t],
                                                        lw_top[t])  # fmt: skip
            if skip.all():
                continue
            t0 = t * t_block
            t1 = min(t0 + t_block, n)
            nt = t1 - t0
            G = _load_tile(Q, Y, q0, q1, t0, t1, direct, buf, yt, qb)
            lw = logw[t0:t1]
            ys = ysq[t0:t1]
            ys_top = 0.0
            if kernel != GAUSSIAN and not direct:
                for j in range(nt):
                    ys_top = max(ys_top, ys[j])
            _sweep_terms(a, lw, ys, cs, nt, direct)
            plain = False
            top = 0.0
            if _plain_kernel(kernel):
                top, plain = _tile_weights(lw, nt, wt)
            for r in range(nq):
                own = self_index[q0 + r]
                if direct:
                    _direct_row(Q, q0 + r, yt, nt, d2)
                    if t0 <= own < t1:
                        d2[own - t0] = np.inf
                elif t0 <= own < t1:
                    G[r, own - t0] = -np.inf  # squared distance +inf
                have_d2 = direct != 0
                for k in range(cs.shape[0]):
                    if skip[k]:
                        continue
                    ref = M[q0 + r, k]
                    if kernel == GAUSSIAN and ref > -np.inf:
                        if have_d2:
                            s_b, s2_b = _gaussian_sums(d2, a, cs[k], ref, nt, want_s2)
                        else:
                            b = -cs[k] * qsq[q0 + r] - ref
                            s_b, s2_b = _gaussian_sums_gemm(a, k, G, r, 2.0 * cs[k], b, nt, want_s2)
                        if _accept(s_b, s2_b, M, S, S2, q0 + r, k):
                            continue
                    if not have_d2 and kernel == GAUSSIAN:
                        _gemm_row(qsq[q0 + r], ys, G, r, nt, d2)
                    elif not have_d2:
                        d2_min, gap = _gemm_row_near(qsq[q0 + r], ys, G, r, nt, d2, 0.5 / cs[0])
                        err = err_unit * (qsq[q0 + r] + ys_top)
                        _exact_where_steep(Q, q0 + r, Y, t0, nt, d2, cs, kernel, err, err_ratio, d2_min, gap)
                    have_d2 = True
                    if kernel == GAUSSIAN:
                        m_b, s_b, s2_b = _gaussian_row(d2, lw, cs[k], nt)
                    elif kernel == EXPONENTIAL:
                        m_b, s_b, s2_b = _exponential_row(d2, lw, cs[k], nt, wt)
                    elif plain:
                        m_b, s_b, s2_b = _plain_row(d2, wt, top, cs[k], nt, kernel)
                    else:
                        m_b, s_b, s2_b = _generic_row(d2, lw, cs[k], nt, kernel)
                    _merge(M, S, S2, q0 + r, k, m_b, s_b, s2_b)
        _keep_alive(scratch)


# Squaring chain terms produces subnormals, slow on x86 (levels of 0.999 ... 1e-30
# squared ten times: 0.7 against 0.18 ns a term without them, AMD EPYC family 26). On
# x86 the chain kernel flushes them to zero instead (MXCSR's flush-to-zero and
# denormals-are-zero bits, set and restored within each query tile by
# _flush_subnormals / _restore_fp_mode): a subnormal term is below 2.3e-308 of the
# chain's largest, 1, against sums of at least exp(-100). Elsewhere terms are floored
# at _CHAIN_FLOOR, whose fourth power, 1e-300, is still a normal double, so terms are
# squared twice between floors: one floor per two levels. A floored term adds at most
# 1e-75 to sums that are at least exp(-100), n * 3e-32 relative in all. Flushing
# instead of the floors (one max beside each multiply and add) made the LOO chain grid
# 8-13 % faster at d = 2 and 16 (benchmarks/RESULTS.md, session 21).
_CHAIN_FLOOR = 1e-75
FLUSH_SUBNORMALS = llvm.get_process_triple().startswith(("x86_64", "i686", "i386"))
_MXCSR_FTZ_DAZ = 0x8040


def _mxcsr_call(builder, name, slot):
    """Call llvm.x86.sse.stmxcsr or ldmxcsr on a 32-bit stack slot."""
    pointer = builder.bitcast(slot, ir.IntType(8).as_pointer())
    function = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [pointer.type]),
                                              f"llvm.x86.sse.{name}")  # fmt: skip
    builder.call(function, [pointer])


@intrinsic
def _flush_subnormals(typingctx):
    """Set MXCSR's flush-to-zero and denormals-are-zero bits in this thread; returns
    the previous MXCSR for _restore_fp_mode. x86 only."""

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once(builder, ir.IntType(32))
        _mxcsr_call(builder, "stmxcsr", slot)
        old = builder.load(slot)
        builder.store(builder.or_(old, ir.Constant(ir.IntType(32), _MXCSR_FTZ_DAZ)), slot)
        _mxcsr_call(builder, "ldmxcsr", slot)
        return builder.zext(old, ir.IntType(64))

    return types.int64(), codegen


@intrinsic
def _restore_fp_mode(typingctx, old):
    """Load the MXCSR that _flush_subnormals returned. x86 only."""

    def codegen(context, builder, signature, args):
        slot = cgutils.alloca_once_value(builder, builder.trunc(args[0], ir.IntType(32)))
        _mxcsr_call(builder, "ldmxcsr", slot)
        return context.get_dummy_value()

    return types.void(types.int64), codegen


@numba.njit(inline="always")
def _fp_mode_unchanged():
    """_flush_subnormals where subnormals are not flushed: nothing to set."""
    return 0


@numba.njit(inline="always")
def _restore_nothing(old):
    """_restore_fp_mode where subnormals are not flushed: nothing to restore."""
    return None


_enter_chain_mode = _flush_subnormals if FLUSH_SUBNORMALS else _fp_mode_unchanged
_leave_chain_mode = _restore_fp_mode if FLUSH_SUBNORMALS else _restore_nothing


@numba.njit(fastmath=FASTMATH, inline="always")
def _chain_floor(v):
    """v, floored at _CHAIN_FLOOR where subnormals are not flushed."""
    return v if FLUSH_SUBNORMALS else max(v, _CHAIN_FLOOR)


# The shared exponential t of q chains is clamped at _CHAIN_LOG_START / (2q - 1), so
# that the chains' starts t^q, ..., t^(2q - 1) are at least 1e-150 and their squares
# normal doubles: only t^q (level 0 of chain 0, squared twice) needs the floor.
_CHAIN_LOG_START = math.log(1e-150)
# A level whose sum is below this ends the chain for the tile row: each later level
# adds less, at most 1e-120 per level against sums of at least exp(-100). (The odd
# levels of floored terms are 1e-150 each, so rows of them stop.)
_CHAIN_NEGLIGIBLE = 1e-120


@numba.njit(fastmath=FASTMATH, inline="always")
def _row_min(d2, nt):
    """Smallest of d2[:nt] (all >= 0 or +inf).

    Non-negative doubles order like their bit patterns read as int64, and an
    integer minimum vectorises where a floating-point one needs the no-NaN flag.
    """
    m = _float64_as_int64(np.inf)
    for j in range(nt):
        m = _bits_min(m, d2[j])
    return _int64_as_float64(m)


@numba.njit(fastmath=FASTMATH, inline="always")
def _two_levels(v, w, acc0, acc1):
    """Add w v and w v^2 (one term's next two levels) to the sums; return them and
    v^4 (_chain_floor), the term two levels on."""
    acc0 += w * v
    v = v * v
    acc1 += w * v
    return acc0, acc1, _chain_floor(v * v)


@numba.njit(fastmath=FASTMATH, inline="always")
def _weight(wrel, j, uniform):
    """wrel[j], or the constant 1.0 when every weight is 1: LLVM then moves the
    test out of the loop and adds terms instead of multiplying them by weights
    (measured 10-24 % faster per level)."""
    return 1.0 if uniform else wrel[j]


@numba.njit(fastmath=FASTMATH, inline="always")
def _chain_levels(u, wrel, uniform, nt, sums, n_run, acc0, acc1):
    """Add a tile row's level sums to sums[l], l < n_run: acc0 and acc1 (levels 0
    and 1, from the sweep that filled u with the level-2 terms), then the rest.

    Each level squares the previous one, two levels per sweep over the buffer u,
    which holds the next level. Terms only shrink from level to level (e <= 1), so
    a level's sum bounds what the row adds to each later level; the sweeps also
    stop once that is below e^-SKIP_NATS of the last (smallest) level's sum so
    far, or below 1e-120.
    """
    stop = max(_CHAIN_NEGLIGIBLE, _SKIP_FACTOR * sums[sums.shape[0] - 1])
    sums[0] += acc0
    if n_run > 1:
        sums[1] += acc1
    for level in range(2, n_run, 2):
        if acc1 < stop:
            return
        acc0 = 0.0
        acc1 = 0.0
        for j in range(nt):
            acc0, acc1, u[j] = _two_levels(u[j], _weight(wrel, j, uniform), acc0, acc1)
        sums[level] += acc0
        if level + 1 < n_run:
            sums[level + 1] += acc1


# A double's mantissa bits, and the bits of 1.0 (_levels_needed).
_MANTISSA_BITS = (1 << 52) - 1
_ONE_BITS = 1023 << 52


@numba.njit(fastmath=FASTMATH, inline="always")
def _levels_needed(sums, cs, levels, gap, log_w, need, runs):
    """Fill runs[b] with the number of leading levels of chain b to which a tile row
    can add more than e^-SKIP_NATS of the level's sum so far; return the last chain
    with a level to run (-1: none).

    sums and cs hold the chains' levels one after the other (L = len(cs) / q
    each), levels their level numbers plus one. The row's terms at a level are at
    most exp(-cs gap), gap being its smallest squared distance less the query's
    reference one, and log_w is the log of its weights' sum plus SKIP_NATS; so the
    level can take more than e^-SKIP_NATS of its sum s only if
    cs gap <= log_w - log s. With s = 2^e m, 1 <= m < 2, log2 s is at least
    e + m - 1 (the chord below the concave log2 m; by at most 0.086), and a level
    whose s is 0 or subnormal runs: so no exponential or logarithm is needed, and
    the bound only ever runs a level more.
    """
    for k in range(cs.shape[0]):
        bits = _float64_as_int64(sums[k])
        exponent = (bits >> 52) - 1023
        mantissa = _int64_as_float64((bits & _MANTISSA_BITS) | _ONE_BITS)
        log2_s = exponent + (mantissa - 1.0) if exponent > -1023 else -np.inf
        need[k] = levels[k] if cs[k] * gap <= log_w - log2_s * _LN2 else 0.0
    n_levels = cs.shape[0] // runs.shape[0]
    last = -1
    for b in range(runs.shape[0]):
        n_run = 0.0
        for level in range(b * n_levels, (b + 1) * n_levels):
            n_run = max(n_run, need[level])
        runs[b] = int(n_run)
        if n_run > 0.0:
            last = b
    return last


@numba.njit(fastmath=FASTMATH, inline="always")
def _floored_power(t, p):
    """t^p (_chain_floor), p = 1 to 4 (the engine shares an exponential
    among at most 4 chains, as 2 p - 1 <= MAX_SHARED_POWER = 8). The power is
    selected, not looped, so that loops over terms vectorise."""
    t2 = t * t
    v = t if p == 1 else (t2 if p == 2 else (t2 * t if p == 3 else t2 * t2))
    return _chain_floor(v)


@numba.njit(fastmath=FASTMATH, inline="always")
def _unit_terms(d2, nt, dref, c, p, wrel, uniform, unit, U):
    """unit[j] = t = exp(-c (d2[j] - dref)), clamped (see _CHAIN_LOG_START), and
    U[0, j] = t^p floored; returns sum_j wrel_j t^p. d2 >= dref, so the exponent
    is at most 0."""
    lo = _CHAIN_LOG_START / (2 * p - 1)
    acc0 = 0.0
    for j in range(nt):
        t = exp_chain(-c * (d2[j] - dref), lo)
        unit[j] = t
        v = _floored_power(t, p)
        U[0, j] = v
        acc0 += _weight(wrel, j, uniform) * v
    return acc0


@numba.njit(fastmath=FASTMATH, inline="always")
def _start_levels(unit, q, wrel, uniform, nt, U, sums, powers):
    """From the terms t = unit[j] and their floored q-th powers in U[0] (from
    _unit_terms; with ``powers``, taken here, with chain 0's level 0 sum), start q
    chains (q = 1 to 4, a compile-time constant): chain b takes t^(q + b), puts its
    fourth power (level 2, _chain_floor) in U[b] and its level 0 and 1 sums in
    sums[b]. One sweep for all chains: a sweep per chain measured 3-6 % slower in
    all.
    """
    s00 = 0.0
    s01 = 0.0
    s10 = 0.0
    s11 = 0.0
    s20 = 0.0
    s21 = 0.0
    s30 = 0.0
    s31 = 0.0
    for j in range(nt):
        t = unit[j]
        w = _weight(wrel, j, uniform)
        if powers:
            v = _floored_power(t, q)
            s00 += w * v
        else:
            v = U[0, j]
        x = v * v
        s01 += w * x
        U[0, j] = _chain_floor(x * x)
        if q > 1:
            v = v * t
            s10, s11, U[1, j] = _two_levels(v, w, s10, s11)
        if q > 2:
            v = v * t
            s20, s21, U[2, j] = _two_levels(v, w, s20, s21)
        if q > 3:
            v = v * t
            s30, s31, U[3, j] = _two_levels(v, w, s30, s31)
    if powers:
        sums[0, 0] = s00
    sums[0, 1] = s01
    if q > 1:
        sums[1, 0] = s10
        sums[1, 1] = s11
    if q > 2:
        sums[2, 0] = s20
        sums[2, 1] = s21
    if q > 3:
        sums[3, 0] = s30
        sums[3, 1] = s31


@numba.njit(fastmath=FASTMATH, inline="always")
def _start_scalar(d2, nt, dref, c, q, wrel, uniform, unit, U, sums):
    """_start_chains for a constant q: the exponentials and chain 0's level 0 in a
    sweep, the rest of the start in another."""
    sums[0, 0] = _unit_terms(d2, nt, dref, c, q, wrel, uniform, unit, U)
    _start_levels(unit, q, wrel, uniform, nt, U, sums, False)


@numba.njit(fastmath=FASTMATH, inline="always")
def _start_avx512(d2, nt, dref, c, q, wrel, uniform, unit, U, sums):
    """_start_chains for a constant q: the exponentials by chain_exp_avx512, then
    the whole start in one sweep."""
    chain_exp_avx512(d2, nt, dref, c, _CHAIN_LOG_START / (2 * q - 1), unit)
    _start_levels(unit, q, wrel, uniform, nt, U, sums, True)


_start = _start_avx512 if AVX512 else _start_scalar


@numba.njit(fastmath=FASTMATH, inline="always")
def _start_chains(d2, nt, dref, c, q, wrel, uniform, unit, U, sums):
    """Start q chains (1 to 4) from one exponential per term, t = exp(-c (d2 - dref)):
    chain b from t^(q + b). Fills U[:q] with their level 2 terms and sums[:q] with
    their level 0 and 1 sums.

    The exponentials get a sweep of their own (_start_avx512, _start_scalar). In
    the scalar sweep the exponential loop also takes chain 0's level 0 sum: that
    sum makes LLVM interleave the loop, whose polynomials are otherwise bound by
    their latency, and the rest of the chain start in the same loop stopped it
    (the whole chain kernel measured 8-12 % faster with the two sweeps). Each q
    gets its own compiled sweeps; a power chosen inside the loop measured 10 %
    slower.
    """
    if q == 1:
        _start(d2, nt, dref, c, 1, wrel, uniform, unit, U, sums)
    elif q == 2:
        _start(d2, nt, dref, c, 2, wrel, uniform, unit, U, sums)
    elif q == 3:
        _start(d2, nt, dref, c, 3, wrel, uniform, unit, U, sums)
    else:
        _start(d2, nt, dref, c, 4, wrel, uniform, unit, U, sums)


@numba.njit(inline="always")
def _chain_negligible(S_rows, dref, q0, q1, cs, gap2, lw_top):
    """As _negligible for the chain sums (S_rows[r, k] at c = cs[k]), which are
    relative to exp(-c dref)."""
    for r in range(q0, q1):
        if dref[r] == np.inf:
            return False
        for k in range(cs.shape[0]):
            s = S_rows[r, k]
            if not (s > 0.0 and lw_top - cs[k] * (gap2 - dref[r]) < math.log(s) - SKIP_NATS):
                return False
    return True


# Whether every weight of a chain kernel's reference set is 1 (the sweeps then add
# terms instead of multiplying them by weights): a compile-time constant, one kernel
# per value (see _compile). Read from wrel at run time, LLVM kept the test inside
# the larger sweeps, measured 4-7 % slower in all at d = 2.
EQUAL_WEIGHTS = False


def _chain_sums(Q, qsq, Y, ysq, wrel, c_bases, p0, self_index, direct, q_block, t_block, lo, hi,
                lw_top, dref, S):  # fmt: skip
    """Gaussian log-sum-exp over doubling chains of bandwidths: c = c_base * 2^l.

    Parameters as in _tile_sums (lw_top: log of the tile's largest wrel times its
    size), plus wrel (n,) weights divided by their maximum
    (all at least exp(-100): the caller checks; all 1 in the EQUAL_WEIGHTS
    kernels, whose sweeps ignore them), c_bases (q,), p0 (0: one
    exponential per term and chain; p0 >= 1: c_bases[b] = (p0 + b) c_bases[0] / p0,
    so chain b starts from t^(p0 + b) with t = exp(-c_bases[0] x / p0), one
    exponential per term for all chains), and the outputs
    dref (m,), each query's smallest squared distance, and S (m, q, L) with
    S[i, b, l] = sum_j wrel_j exp(-c_b 2^l (d2_ij - dref_i)).  The reference
    distance drops whenever a tile holds a nearer point, and the sums so far are
    rescaled, so no term exceeds 1 and the largest is at least exp(-100).
    """
    Q, qsq, Y, ysq, wrel, c_bases, self_index, lo, hi, lw_top, dref, S = _borrowed(
        (Q, qsq, Y, ysq, wrel, c_bases, self_index, lo, hi, lw_top, dref, S))
    m = Q.shape[0]
    n = Y.shape[0]
    q, n_levels = S.shape[1], S.shape[2]
    n_q_tiles = (m + q_block - 1) // q_block
    n_tiles = (n + t_block - 1) // t_block
    uniform = EQUAL_WEIGHTS
    cs = np.empty(q * n_levels)
    levels = np.empty(q * n_levels)
    for b in range(q):
        for level in range(n_levels):
            cs[b * n_levels + level] = c_bases[b] * 2.0**level
            levels[b * n_levels + level] = level + 1.0
    S_rows = S.reshape((m, q * n_levels))
    for qt in numba.prange(n_q_tiles):
        mode = _enter_chain_mode()
        q0 = qt * q_block
        q1 = min(q0 + q_block, m)
        nq = q1 - q0
        scratch = _tile_buffers(Q, nq, t_block, direct, 0)
        scratch_chains = (aligned_empty(q * t_block, np.float64).reshape((q, t_block)), np.empty((q, 2)),
                          aligned_empty(t_block, np.float64), np.empty(q, dtype=np.int64),
                          np.empty(q * n_levels))  # fmt: skip
        buf, yt, qb, d2, _ = _borrowed(scratch)
        U, sums01, unit, runs, need = _borrowed(scratch_chains)
        query_block(Q, q0, q1, qb)
        for r in range(nq):
            dref[q0 + r] = np.inf
            S[q0 + r] = 0.0
        order, gap2 = _tile_order(Q, q0, q1, lo, hi, n_tiles)
        for t in order:
            if gap2[t] > 0.0 and _chain_negligible(S_rows, dref, q0, q1, cs, gap2[t], lw_top[t]):
                continue
            t0 = t * t_block
            t1 = min(t0 + t_block, n)
            nt = t1 - t0
            G = _load_tile(Q, Y, q0, q1, t0, t1, direct, buf, yt, qb)
            w_tile = wrel[t0:t1]
            ys = ysq[t0:t1]
            w_sum = 0.0
            for j in range(nt):
                w_sum += w_tile[j]
            log_w = math.log(w_sum) + SKIP_NATS
            for r in range(nq):
                if direct:
                    tile_min = _direct_row(Q, q0 + r, yt, nt, d2)
                else:
                    tile_min = _gemm_row(qsq[q0 + r], ys, G, r, nt, d2)
                own = self_index[q0 + r]
                if t0 <= own < t1:
                    d2[own - t0] = np.inf
                    tile_min = _row_min(d2, nt)
                if tile_min == np.inf:
                    continue
                if tile_min < dref[q0 + r]:
                    if dref[q0 + r] < np.inf:
                        drop = dref[q0 + r] - tile_min
                        for k in range(cs.shape[0]):
                            S_rows[q0 + r, k] *= math.exp(-cs[k] * drop)
                    dref[q0 + r] = tile_min
                gap = tile_min - dref[q0 + r]
                last = _levels_needed(S_rows[q0 + r], cs, levels, gap, log_w, need, runs)
                # Chains start from their own exponential (p0 = 0), or all from the
                # shared one: chain b from its (p0 + b)-th power.
                if p0 > 0 and last >= 0:
                    _start_chains(d2, nt, dref[q0 + r], c_bases[0] / p0, p0, w_tile, uniform, unit,
                                  U, sums01)  # fmt: skip
                for b in range(last + 1):
                    if runs[b] == 0:
                        continue
                    if p0 == 0:
                        _start_chains(d2, nt, dref[q0 + r], c_bases[b], 1, w_tile, uniform, unit,
                                      U[b:], sums01[b:])  # fmt: skip
                    _chain_levels(U[b], w_tile, uniform, nt, S[q0 + r, b], runs[b], sums01[b, 0],
                                  sums01[b, 1])  # fmt: skip
        _keep_alive(scratch)
        _keep_alive(scratch_chains)
        _leave_chain_mode(mode)


@numba.njit(fastmath=FASTMATH, inline="always")
def _passes_screen(qs, ys, g, best, slack):
    """Whether a pair's GEMM distance qs + ys - 2 g can beat best: it is below best
    plus the error bound slack (qs + ys) (see _nearest_sq)."""
    return qs + ys - 2.0 * g < best + slack * (qs + ys)


@numba.njit(fastmath=FASTMATH, inline="always")
def _any_passes_screen(qs, ysq, t0, G, r, nt, slack, best):
    """Whether any pair of the tile row passes _passes_screen, counted in one
    vectorised sweep so that rows with none skip the scalar search."""
    hits = 0
    for j in range(nt):
        hits += _passes_screen(qs, ysq[t0 + j], G[r, j], best, slack)
    return hits > 0


def _nearest_sq(Q, qsq, Y, ysq, self_index, q_block, t_block, out):
    """Smallest positive squared distance from each query row to the rows of Y,
    from explicit differences: duplicates (distance exactly 0) and the query's own
    index are skipped.

    The GEMM identity |q|^2 + |y|^2 - 2 q.y only screens the pairs: its error is
    at most about d u (|q|^2 + |y|^2) (d-term dot products and norms), so a pair
    can beat the best distance so far only if its GEMM distance is below the best
    plus eight times that bound (4 d eps (|q|^2 + |y|^2)), and only those pairs
    (rare once a near point is found) are recomputed from explicit differences.
    """
    Q, qsq, Y, ysq, self_index, out = _borrowed((Q, qsq, Y, ysq, self_index, out))
    m = Q.shape[0]
    n = Y.shape[0]
    slack = 4.0 * Q.shape[1] * np.finfo(np.float64).eps
    n_q_tiles = (m + q_block - 1) // q_block
    for qt in numba.prange(n_q_tiles):
        q0 = qt * q_block
        q1 = min(q0 + q_block, m)
        nq = q1 - q0
        scratch = _tile_buffers(Q, nq, t_block, 0, 0)
        buf, yt, qb, _, _ = _borrowed(scratch)
        query_block(Q, q0, q1, qb)
        for r in range(nq):
            out[q0 + r] = np.inf
        for t0 in range(0, n, t_block):
            t1 = min(t0 + t_block, n)
            nt = t1 - t0
            G = tile_products(Q, q0, q1, Y, t0, t1, qb, yt, buf)
            for r in range(nq):
                qs = qsq[q0 + r]
                own = self_index[q0 + r]
                best = out[q0 + r]
                if not _any_passes_screen(qs, ysq, t0, G, r, nt, slack, best):
                    continue
                for j in range(nt):
                    if _passes_screen(qs, ysq[t0 + j], G[r, j], best, slack) and t0 + j != own:
                        exact = _exact_sq(Q, q0 + r, Y, t0 + j)
                        if 0.0 < exact < best:
                            best = exact
                out[q0 + r] = best
        _keep_alive(scratch)


@numba.njit(inline="always")
def _select(X, order, start, stop, k, f):
    """Reorder order[start:stop] so that no key X[order[i], f] before k exceeds one
    from k on (quickselect with Hoare's partition and a median-of-three pivot)."""
    lo = start
    hi = stop - 1
    while lo < hi:
        mid = (lo + hi) // 2
        a = X[order[lo], f]
        b = X[order[mid], f]
        c = X[order[hi], f]
        pivot = max(min(a, b), min(max(a, b), c))
        i = lo
        j = hi
        while i <= j:
            while X[order[i], f] < pivot:
                i += 1
            while X[order[j], f] > pivot:
                j -= 1
            if i <= j:
                order[i], order[j] = order[j], order[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


def _kd_order(X, leaf, order):
    """Fill order with the rows of X leaf by leaf of a k-d tree (see _engine.spatial_order)."""
    n, d = X.shape
    for i in range(n):
        order[i] = i
    stack = [(0, n)]
    while len(stack) > 0:
        start, stop = stack.pop()
        if stop - start <= leaf:
            continue
        widest = -1.0
        feature = 0
        for f in range(d):
            lo = np.inf
            hi = -np.inf
            for i in range(start, stop):
                v = X[order[i], f]
                lo = min(lo, v)
                hi = max(hi, v)
            if hi - lo > widest:
                widest = hi - lo
                feature = f
        split = start + ((stop - start + leaf - 1) // leaf // 2) * leaf
        _select(X, order, start, stop, split, feature)
        stack.append((start, split))
        stack.append((split, stop))


def _signature(body, dtype):
    """The kernel's signature for points of ``dtype`` ("float64" or "float32": only
    score_samples and the k-d order take float32 points; the bandwidth rules always
    pass float64 ones)."""
    mat = types.Array(getattr(types, dtype), 2, "C", readonly=True)
    vec = types.Array(types.float64, 1, "C", readonly=True)
    idx = types.Array(types.int64, 1, "C", readonly=True)
    out2 = types.Array(types.float64, 2, "C")
    out1 = types.Array(types.float64, 1, "C")
    box = types.Array(types.float64, 2, "C", readonly=True)
    if body is _chain_sums:
        out3 = types.Array(types.float64, 3, "C")
        return types.void(mat, vec, mat, vec, vec, vec, types.int64, idx, types.int64, types.int64,
                          types.int64, box, box, vec, out1, out3)  # fmt: skip
    if body is _kd_order:
        return types.void(mat, types.int64, types.Array(types.int64, 1, "C"))
    if body is _tile_sums:
        return types.void(mat, vec, mat, vec, vec, vec, types.int64, idx, types.int64, types.int64,
                          types.int64, types.int64, types.float64, types.float64, box, box, vec, out2,
                          out2, out2)  # fmt: skip
    return types.void(mat, vec, mat, vec, idx, types.int64, types.int64, out1)


@contextmanager
def _machine_scheduler_off():
    """Compile with LLVM's machine instruction scheduler off, restored after.

    In the exponential sweeps of ``_tile_sums`` LLVM interleaves four vectors of
    exponentials. The machine scheduler then orders the four chains one after
    another, which needs more than the 16 AVX2 registers, so the loop spills
    its partial sums and constants to the stack. Without the scheduler the
    chains run side by side without spilling. Results are bit-identical (the
    option only orders instructions). Measured on one 2-core Zen 3 machine, the
    pass took 14-20 % less time at d = 2, 16 and 64. The chain kernel gained
    nothing, so it keeps the scheduler.
    """
    llvm.set_option("", "-enable-misched=false")
    try:
        yield
    finally:
        llvm.set_option("", "-enable-misched=true")


def _compile(body, parallel, dtype="float64", machine_scheduler=True, suffix="", constants=None):
    twin = renamed(body, ("parallel" if parallel else "serial") + suffix + "_" + dtype, constants)
    decorate = jit_cached([_signature(body, dtype)], parallel=parallel, nogil=True, fastmath=FASTMATH)
    if machine_scheduler:
        return decorate(twin)
    with _machine_scheduler_off():
        return decorate(twin)


# Each kernel variant is compiled on first use (without a cache, 5-20 s each): a
# session mostly needs few of them. One lock for all, so that no two threads compile
# at once, which would also race on the machine scheduler's global option.
_COMPILE_LOCK = threading.Lock()


def _on_first_use(make):
    """``make``, cached per arguments and called under _COMPILE_LOCK."""
    cached = functools.cache(make)

    @functools.wraps(make)
    def variant(*args):
        with _COMPILE_LOCK:
            return cached(*args)

    return variant


@_on_first_use
def tile_sums(parallel, dtype):
    """The one-pass kernel (_tile_sums) for ``parallel`` and points of ``dtype``
    ("float64" or "float32")."""
    return _compile(_tile_sums, parallel, dtype, machine_scheduler=False)


@_on_first_use
def nearest_sq(parallel):
    """The nearest-neighbour kernel (_nearest_sq), float64 points."""
    return _compile(_nearest_sq, parallel)


@_on_first_use
def kd_order(dtype):
    """The k-d tree order (_kd_order) for points of ``dtype``."""
    return _compile(_kd_order, False, dtype)


@_on_first_use
def chain_sums(parallel, equal_weights):
    """The chain kernel (_chain_sums) for ``parallel`` and ``equal_weights`` (see
    EQUAL_WEIGHTS), float64 points."""
    suffix = "_equal" if equal_weights else ""
    return _compile(_chain_sums, parallel, suffix=suffix, constants={"EQUAL_WEIGHTS": equal_weights})
