"""KernelDensity against independent references: brute force, scipy, scikit-learn."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from sklearn.neighbors import KernelDensity as SklearnKDE

from densest.kde import KernelDensity, bandwidth
from densest.kde._engine import log_kernel_norm, log_sum_exp_terms

KERNELS = ["gaussian", "tophat", "epanechnikov", "exponential", "linear", "cosine"]


def brute_force_log_density(X, Q, h, kernel="gaussian", weights=None):
    """Exact reference: explicit differences, scipy logsumexp, closed-form normalisers."""
    d = X.shape[1]
    w = np.ones(len(X)) if weights is None else np.asarray(weights, float)
    r = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1)) / h
    with np.errstate(divide="ignore", invalid="ignore"):
        log_k = {
            "gaussian": -0.5 * r**2,
            "tophat": np.where(r < 1, 0.0, -np.inf),
            "epanechnikov": np.where(r < 1, np.log1p(-np.minimum(r, 1) ** 2), -np.inf),
            "exponential": -r,
            "linear": np.where(r < 1, np.log1p(-np.minimum(r, 1)), -np.inf),
            "cosine": np.where(r < 1, np.log(np.cos(0.5 * np.pi * np.minimum(r, 1))), -np.inf),
        }[kernel]
    lse = logsumexp(log_k + np.log(w)[None, :], axis=1)
    return lse - math.log(w.sum()) - log_kernel_norm(kernel, d, h)


@pytest.mark.parametrize("d", [1, 2, 5, 16, 64])
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_gaussian_matches_brute_force(d, n_jobs, rng):
    X = rng.standard_normal((700, d))
    Q = rng.standard_normal((90, d)) * 1.5
    kde = KernelDensity(bandwidth=0.6, n_jobs=n_jobs, block_size=13).fit(X)
    np.testing.assert_allclose(kde.score_samples(Q), brute_force_log_density(X, Q, 0.6),
                               rtol=0, atol=1e-10)  # fmt: skip


@pytest.mark.parametrize("kernel", KERNELS)
def test_every_kernel_matches_brute_force(kernel, rng):
    X = rng.standard_normal((400, 3))
    Q = rng.standard_normal((60, 3))
    w = rng.uniform(0.2, 2.0, size=400)
    kde = KernelDensity(bandwidth=0.9, kernel=kernel).fit(X, sample_weight=w)
    expected = brute_force_log_density(X, Q, 0.9, kernel, w)
    got = kde.score_samples(Q)
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
    ok = np.isfinite(expected)
    np.testing.assert_allclose(got[ok], expected[ok], rtol=0, atol=1e-10)


@pytest.mark.parametrize("kernel", ["tophat", "epanechnikov", "linear"])
@pytest.mark.parametrize("d", [3, 12])
def test_plain_kernel_sums_keep_weights_beyond_the_exponent_range(kernel, d, rng):
    # The tophat, Epanechnikov and linear kernels sum w K without logarithms, with
    # each tile's weights divided by its largest. Log weights spanning 800 nats
    # would underflow there (the light points' terms would vanish), so such tiles
    # take the log-space row: queries next to the light points keep exact sums.
    from densest.kde._engine import log_kernel_norm, log_sum_exp_terms

    X = rng.standard_normal((300, d))
    X[1::2] += 20.0  # every other point, heavy, lies beyond every light point's support
    logw = np.where(np.arange(300) % 2 == 0, -800.0, 0.0)
    Q = X[:80:2] + 0.01 * rng.standard_normal((40, d))
    M, S, _ = log_sum_exp_terms(Q, X, (X * X).sum(1), logw, np.array([2.0]), kernel, block_size=16)
    got = M[:, 0] + np.log(S[:, 0]) - log_kernel_norm(kernel, d, 2.0)
    # The heavy points add nothing: the sum is e^-800 times the light points' sum.
    expected = brute_force_log_density(X[::2], Q, 2.0, kernel) + math.log(150) - 800.0
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("d", [3, 12])
def test_plain_kernel_sums_of_squares_give_the_participation_ratio(d, rng):
    # With equal weights the tophat's inverse participation ratio S^2 / S2 is the
    # number of points inside the query's support.
    from densest.kde._engine import log_sum_exp_terms

    X = rng.standard_normal((500, d))
    h = 0.8 * math.sqrt(d)
    _, S, S2 = log_sum_exp_terms(X[:101], X, (X * X).sum(1), np.zeros(500), np.array([h]), "tophat",
                                 want_s2=True, block_size=16)  # fmt: skip
    inside = (((X[:101, None, :] - X[None]) ** 2).sum(-1) < h * h).sum(1)
    np.testing.assert_allclose(S[:, 0] ** 2 / S2[:, 0], inside, rtol=1e-12)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("d", [16, 40])
def test_every_kernel_is_exact_at_and_next_to_data_points_above_the_gemm_dimension(kernel, d, rng):
    # Above DIRECT_MAX_D, distances may come from a GEMM, |q|^2 + |y|^2 - 2 q.y, whose
    # rounding of about sqrt(d) u |x|^2 moves log K(d2) by that times its slope: at a
    # data point the exponential and linear kernels (log K through |q - y|) were off by
    # 2e-7, and a Gaussian with h small beside the data's scale by 5e-9 at h = 1e-3.
    X = rng.standard_normal((300, d)) * rng.uniform(0.5, 2.0, d)
    for h in (1e-3, 1.0, 5.0):
        Q = np.vstack([X[:15], X[15:30] + 0.3 * h * rng.standard_normal((15, d)) / math.sqrt(d)])
        got = KernelDensity(bandwidth=h, kernel=kernel).fit(X).score_samples(Q)
        expected = brute_force_log_density(X, Q, h, kernel)
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
        ok = np.isfinite(expected)
        np.testing.assert_allclose(got[ok], expected[ok], rtol=0, atol=1e-10, err_msg=f"h={h}")


def _exact_log_sum(Q, Y, kernel):
    """log sum_j K(|q - y_j|) for points held exactly in doubles: squared distances
    as exact fractions, the kernel in 50-digit arithmetic (bandwidth 1)."""
    from fractions import Fraction

    import mpmath

    mpmath.mp.dps = 50
    out = []
    for q in Q.astype(np.float64):
        terms = []
        for y in Y.astype(np.float64):
            t2 = sum((Fraction(a) - Fraction(b)) ** 2 for a, b in zip(q, y))
            t = mpmath.sqrt(mpmath.mpf(t2.numerator) / t2.denominator)
            if kernel == "exponential":
                terms.append(mpmath.exp(-t))
            elif t < 1:
                terms.append({"tophat": 1, "epanechnikov": 1 - t * t, "linear": 1 - t,
                              "cosine": mpmath.cos(mpmath.pi * t / 2)}[kernel])  # fmt: skip
        out.append(float(mpmath.log(mpmath.fsum(terms))) if terms else -math.inf)
    return np.array(out)


@pytest.mark.parametrize("kernel", ["tophat", "epanechnikov", "linear", "cosine", "exponential"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bandwidths", [[1.0], [2.0, 1.0, 0.5]])
def test_gemm_distances_are_exact_where_the_log_kernel_is_steep(kernel, dtype, bandwidths, rng):
    # GEMM distances are off by about sqrt(d) u (|q|^2 + |y|^2), and log K moves by
    # that times its slope, which has no bound at the support's edge (t -> 1) and, for
    # the exponential and linear kernels, at 0. Queries at t = 1 -+ 2^-p and t = 2^-p
    # from a point at h = 1: the first bandwidth (found in the pass that forms the
    # distances) or the second of a grid (found by its own count). Coordinates lie on
    # a grid of 2^-grid with as many bits as the products can take (so that GEMM
    # products round), and the offsets too, so every query is exact, and so is the
    # reference log-sum (at h = 2 and 1/2 of the points scaled by 1/h, exact too).
    d = 16
    grid, span = (23, 2**26) if dtype == "float64" else (20, 2**22)
    Y = rng.integers(-span, span, size=(40, d)) / 2.0**grid
    bits = range(5, grid + 1, 3)
    if kernel == "cosine":  # cos(pi t / 2) itself is computed to ~1e-16 / (1 - t) only
        bits = [p for p in bits if p <= 16]
    offsets = [s for p in bits for s in (1 - 2.0**-p, 1 + 2.0**-p, 2.0**-p)]
    Q = Y[rng.integers(0, 40, len(offsets))].copy()
    Q[np.arange(len(offsets)), rng.integers(0, d, len(offsets))] += offsets
    Q, Y = Q.astype(dtype), Y.astype(dtype)
    M, S, _ = log_sum_exp_terms(Q, Y, (Y.astype(np.float64) ** 2).sum(1), np.zeros(len(Y)),
                                np.array(bandwidths), kernel)  # fmt: skip
    with np.errstate(divide="ignore"):
        got = M + np.log(S)
    tol = 1e-10 if dtype == "float64" else 1e-4
    for k, h in enumerate(bandwidths):
        expected = _exact_log_sum(Q / np.float64(h), Y / np.float64(h), kernel)
        np.testing.assert_array_equal(np.isfinite(got[:, k]), np.isfinite(expected))
        ok = np.isfinite(expected)
        np.testing.assert_allclose(got[ok, k], expected[ok], rtol=0, atol=tol, err_msg=f"h={h}")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_far_points_leave_the_other_pairs_on_the_gemm_path(dtype, engine_parts, rng):
    # Three reference points and three queries 1e4 out (heavy tails) make GEMM distances
    # inexact for the pairs they are in. They used to send the whole call to explicit
    # differences (1.3-1.9x slower at d = 16-64); now only those pairs take them.
    calls = engine_parts
    d, h = 16, 0.3
    X = rng.standard_normal((400, d))
    X[:3] *= 1e4
    X[2] = -X[0] - X[1]  # on all sides: the mean and the median both stay in the bulk
    step = 0.1 * h / math.sqrt(d)
    Q = np.vstack([X[3:23] + step * rng.standard_normal((20, d)), rng.standard_normal((20, d)),
                   X[:2] + step * rng.standard_normal((2, d)), 1e4 * rng.standard_normal((1, d))])  # fmt: skip
    kde = KernelDensity(bandwidth=h, dtype=dtype).fit(X)
    got = kde.score_samples(Q)
    # 3 far queries; float32 points stay float32 (few far pairs: no float64 copies)
    assert sorted(calls) == [(3, 400, True, dtype), (40, 3, True, dtype), (40, 397, False, dtype)]
    # float32 storage: against the stored (centred, rounded) points, within the float32
    # target (the bulk's pairs take float32 products)
    stored, queries = ((A - kde.location_).astype(dtype).astype(np.float64) for A in (X, Q))
    expected = brute_force_log_density(stored, queries, h)
    atol = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=atol)  # the far query's is -1.4e10


def test_far_points_on_one_side_do_not_move_the_centre_off_the_bulk(engine_parts, rng):
    # Three points 1e5 out on the same side pulled a mean centre 750 away from the bulk:
    # every point then counted as far and every pair took explicit differences.
    X = rng.standard_normal((400, 16))
    X[:3] = 1e5 + rng.standard_normal((3, 16))
    Q = rng.standard_normal((30, 16))
    kde = KernelDensity(bandwidth=0.3).fit(X)
    got = kde.score_samples(Q)
    assert np.abs(kde.location_).max() < 0.5
    assert sorted(call[:3] for call in engine_parts) == [(30, 3, True), (30, 397, False)]
    np.testing.assert_allclose(got, brute_force_log_density(X, Q, 0.3), rtol=0, atol=1e-10)


def test_sums_over_two_parts_combine_as_one_pass(rng):
    from densest.kde._engine import _combine

    def sums(terms):  # (M, S, S2) as the kernels return them; no terms: (-inf, 0, 0)
        if len(terms) == 0:
            return np.array([-np.inf]), np.zeros(1), np.zeros(1)
        M = np.max(terms, keepdims=True)
        e = np.exp(terms - M)
        return M, e.sum(keepdims=True), (e * e).sum(keepdims=True)

    a, b, none = rng.normal(0.0, 30.0, 40), rng.normal(50.0, 30.0, 25), np.empty(0)
    for x, y in ((a, b), (b, a), (a, none), (none, a)):
        M, S, S2 = _combine(sums(x), sums(y))
        both = np.concatenate([x, y])
        assert M[0] + np.log(S[0]) == pytest.approx(logsumexp(both), rel=1e-14)
        assert 2 * M[0] + np.log(S2[0]) == pytest.approx(logsumexp(2 * both), rel=1e-14)
    M, S, _ = _combine(sums(none), sums(none))
    assert M[0] == -np.inf and S[0] == 0.0


@pytest.mark.parametrize("kernel", ["gaussian", "exponential"])
def test_float32_points_are_copied_to_float64_only_where_many_pairs_need_it(kernel, monkeypatch, rng):
    # Explicit differences read float32 points as they are: Gaussian calls with a few
    # far points need no float64 copy; one whose bulk is too far out for float32
    # products does, and so does every call of the other kernels above d = 8 (their
    # steep bands would hold too many pairs with float32 products).
    from densest.kde import _engine

    copies = []
    real = _engine.ReferenceTiles.in_float64
    monkeypatch.setattr(_engine.ReferenceTiles, "in_float64", lambda tiles: copies.append(1) or real(tiles))
    X = rng.standard_normal((300, 16))
    X[0] *= 1e4
    X[1] = -X[0]
    Q = X[2:40] + 0.01 * rng.standard_normal((38, 16))
    for h, copied in ((0.3, kernel != "gaussian"), (0.01, True)):
        copies.clear()
        kde = KernelDensity(bandwidth=h, kernel=kernel, dtype="float32").fit(X)
        got = kde.score_samples(Q)
        assert bool(copies) == copied, h
        stored, queries = ((A - kde.location_).astype(np.float32).astype(np.float64) for A in (X, Q))
        float32_products = kernel == "gaussian" and not copied
        atol = 1e-4 if float32_products else 1e-10
        np.testing.assert_allclose(got, brute_force_log_density(stored, queries, h, kernel), rtol=0, atol=atol)


def test_far_points_split_each_progress_chunk(engine_parts, rng):
    pytest.importorskip("tqdm")
    calls = engine_parts
    X = rng.standard_normal((300, 12))
    X[0] *= 1e5
    X[1] = -X[0]  # far out on both sides: the mean and the median both stay in the bulk
    Q = np.vstack([X] * 8)  # chunks of 1024, 1024 and 352 rows with 8, 6 and 2 far ones
    got = KernelDensity(bandwidth=0.1, progress=True).fit(X).score_samples(Q)
    assert sorted(call[:3] for call in calls) == sorted([(8, 300, True), (1016, 2, True), (1016, 298, False),
                                                         (6, 300, True), (1018, 2, True), (1018, 298, False),
                                                         (2, 300, True), (350, 2, True), (350, 298, False)])  # fmt: skip
    np.testing.assert_allclose(got, np.tile(brute_force_log_density(X, X, 0.1), 8), rtol=0, atol=1e-10)


def test_gemm_rounding_bound_picks_explicit_differences_where_it_could_show():
    from densest.kde._engine import GEMM_LOG_ERROR_TOL, gemm_inexact

    # 2 c sqrt(d) u (max|q|^2 + max|y|^2) against the tolerance of the products' type.
    u = np.finfo(np.float64).eps / 2
    c_edge = GEMM_LOG_ERROR_TOL["float64"] / (2.0 * 8.0 * u * 200.0)
    assert not gemm_inexact(64, "gaussian", 0.99 * c_edge, 100.0, 100.0, np.float64)
    assert gemm_inexact(64, "gaussian", 1.01 * c_edge, 100.0, 100.0, np.float64)
    assert gemm_inexact(64, "gaussian", 1e6, 100.0, 100.0, np.float32)
    assert not gemm_inexact(64, "gaussian", 0.1, 100.0, 100.0, np.float32)
    # The other kernels share the bound: their steep bands are mended pair by pair.
    assert not gemm_inexact(64, "exponential", 1e-6, 1.0, 1.0, np.float64)
    assert gemm_inexact(64, "linear", 1.01 * c_edge, 100.0, 100.0, np.float64)


@pytest.mark.parametrize("kernel", [k for k in KERNELS if k != "cosine"])
def test_matches_sklearn_in_low_dimension(kernel, rng):
    # sklearn's trees are exact (atol=rtol=0) at d = 2 wherever the density is positive.
    X = rng.standard_normal((300, 2))
    Q = rng.standard_normal((50, 2)) * 0.5
    ours = KernelDensity(bandwidth=0.8, kernel=kernel).fit(X).score_samples(Q)
    ref = SklearnKDE(bandwidth=0.8, kernel=kernel).fit(X).score_samples(Q)
    ok = ref > -20
    np.testing.assert_allclose(ours[ok], ref[ok], rtol=0, atol=1e-9)


def test_cosine_normaliser_is_right_where_sklearn_is_not():
    # scikit-learn 1.9's cosine kernel integrates to 0.363 in 2-D; ours to 1.
    grid = np.linspace(-1.0, 1.0, 801)
    xx, yy = np.meshgrid(grid, grid)
    P = np.column_stack([xx.ravel(), yy.ravel()])
    cell = (grid[1] - grid[0]) ** 2
    ours = np.exp(KernelDensity(bandwidth=1.0, kernel="cosine").fit([[0.0, 0.0]]).score_samples(P))
    assert ours.sum() * cell == pytest.approx(1.0, abs=1e-4)
    theirs = np.exp(SklearnKDE(bandwidth=1.0, kernel="cosine").fit([[0.0, 0.0]]).score_samples(P))
    assert theirs.sum() * cell == pytest.approx(0.363, abs=1e-2)


def test_whiten_matches_scipy_gaussian_kde(rng):
    A = np.array([[1.0, 0.0, 0.0], [0.8, 0.5, 0.0], [-0.3, 0.2, 2.0]])
    X = rng.standard_normal((500, 3)) @ A.T
    Q = rng.standard_normal((40, 3)) @ A.T
    ref = stats.gaussian_kde(X.T, bw_method="scott")
    ours = KernelDensity(bandwidth="scott", scale="whiten").fit(X)
    assert ours.bandwidth_ == pytest.approx(ref.factor, rel=1e-12)
    np.testing.assert_allclose(ours.kernel_covariance_, ref.covariance, rtol=1e-10)
    np.testing.assert_allclose(ours.score_samples(Q), ref.logpdf(Q.T), rtol=0, atol=1e-10)


def test_weighted_whiten_matches_scipy(rng):
    X = rng.standard_normal((300, 2)) * [1.0, 3.0]
    w = rng.uniform(0.1, 1.0, 300)
    ref = stats.gaussian_kde(X.T, bw_method="silverman", weights=w)
    ours = KernelDensity(bandwidth="silverman", scale="whiten").fit(X, sample_weight=w)
    np.testing.assert_allclose(ours.score_samples(X[:30]), ref.logpdf(X[:30].T), atol=1e-10)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_standardize_matches_diagonal_gaussian_brute_force(dtype, rng):
    # scale="standardize" is a Gaussian kernel with covariance h^2 diag(var): explicit
    # differences divided by h * std, plus the log-determinant of that covariance
    X = rng.standard_normal((400, 3)) * [0.5, 4.0, 30.0] + [1.0, -2.0, 100.0]
    Q = rng.standard_normal((25, 3)) * [0.5, 4.0, 30.0] + [1.0, -2.0, 100.0]
    kde = KernelDensity(bandwidth=0.4, scale="standardize", dtype=dtype).fit(X)
    std = X.std(axis=0, ddof=1)  # the unbiased spread, as scipy.stats.gaussian_kde
    expected = brute_force_log_density(X / std, Q / std, 0.4) - np.log(std).sum()
    np.testing.assert_allclose(kde.score_samples(Q), expected, rtol=0,
                               atol=1e-10 if dtype == "float64" else 1e-4)  # fmt: skip
    np.testing.assert_allclose(kde.scaling_, np.diag(1.0 / std), rtol=1e-12)


def test_finite_at_d_1000_where_references_underflow(rng):
    X = rng.standard_normal((300, 1000))
    Q = rng.standard_normal((20, 1000)) + 3.0
    kde = KernelDensity(bandwidth=0.3).fit(X)
    logp = kde.score_samples(Q)
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(logp, brute_force_log_density(X, Q, 0.3), rtol=1e-13, atol=1e-8)
    # the density itself underflows: exp(logp) == 0 in float64
    assert np.all(np.exp(logp) == 0.0)
    with np.errstate(divide="ignore"):
        assert np.all(np.isneginf(np.log(stats.gaussian_kde(X[:200].T[:50]).pdf(Q[:, :50].T * 40))))


def test_float32_is_within_1e_4(rng):
    X = rng.standard_normal((2000, 64)).astype(np.float32)
    Q = rng.standard_normal((100, 64)).astype(np.float32)
    kde64 = KernelDensity(bandwidth=1.0).fit(X.astype(np.float64))
    kde32 = KernelDensity(bandwidth=1.0, dtype="float32").fit(X)
    assert kde32.reference_.dtype == np.float32
    got = kde32.score_samples(Q)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, kde64.score_samples(Q.astype(np.float64)), rtol=0, atol=1e-4)


@pytest.mark.parametrize("d, h", [(64, 0.3), (256, 1.0), (16, 0.01)])
def test_float32_is_within_1e_4_next_to_data_points(d, h, rng):
    # float32 products round |q|^2 + |y|^2 - 2 q.y by about sqrt(d) 6e-8 |x|^2, which
    # 1 / (2 h^2) turns into 4.6e-4 (d = 64, h = 0.3), 4.2e-4 (d = 256, h = 1) and 5e-2
    # (d = 16, h = 0.01) nats next to data points; float64 products take over there.
    X = (rng.standard_normal((1000, d)) * rng.uniform(0.5, 2.0, d)).astype(np.float32)
    step = rng.standard_normal((100, d))
    Q = (X[:100] + 0.1 * h * step / np.linalg.norm(step, axis=1, keepdims=True)).astype(np.float32)
    kde32 = KernelDensity(bandwidth=h, dtype="float32").fit(X)
    assert kde32.reference_.dtype == np.float32
    expected = brute_force_log_density(X.astype(np.float64), Q.astype(np.float64), h)
    np.testing.assert_allclose(kde32.score_samples(Q), expected, rtol=0, atol=1e-4)


def test_score_is_the_mean_log_likelihood(rng):
    X = rng.standard_normal((100, 2))
    kde = KernelDensity().fit(X)
    assert kde.score(X[:10]) == pytest.approx(kde.score_samples(X[:10]).mean())
    sk = SklearnKDE(bandwidth=kde.bandwidth_).fit(X)
    assert kde.score(X[:10]) * 10 == pytest.approx(sk.score(X[:10]), rel=1e-10)


def test_block_size_and_threads_do_not_change_results(rng):
    from densest.kde._kernels import SWEEP_EXP_ERROR

    X = rng.standard_normal((1000, 7))
    Q = rng.standard_normal((333, 7))
    base = KernelDensity(bandwidth=0.5).fit(X).score_samples(Q)
    # 10**9: tiles are capped at the data's size (it allocated 4e9-row tiles: MemoryError)
    for block_size in (1, 5, 64, 4096, 10**9):
        for n_jobs in (1, 2, -1):
            kde = KernelDensity(bandwidth=0.5, block_size=block_size, n_jobs=n_jobs).fit(X)
            # Blocks change each term's reference, and so the exponential's rounding
            # (relative error below SWEEP_EXP_ERROR per term): results agree to twice that.
            np.testing.assert_allclose(kde.score_samples(Q), base, rtol=0, atol=2 * SWEEP_EXP_ERROR)


@pytest.mark.parametrize("d", [1, 5, 16, 24, 25, 70])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tile_products_equal_numpy_on_ragged_tiles(d, dtype, rng):
    # Float64 tiles up to OWN_MAX_D (2048 with AVX-512, 24 with AVX2) go through the
    # register-blocked LLVM kernel, on blocks zero-padded at the edges; the rest
    # through BLAS.
    import numba

    from densest.kde._kernels import BLOCK_COLS, BLOCK_ROWS, padded, query_block, tile_products

    @numba.njit
    def products(Q, q0, q1, Y, t0, t1):
        rows, cols = padded(q1 - q0, BLOCK_ROWS), padded(t1 - t0, BLOCK_COLS)
        buf = np.empty(rows * cols, dtype=Q.dtype)
        yt = np.empty((Q.shape[1], cols))
        qb = np.empty((rows, Q.shape[1]))
        query_block(Q, q0, q1, qb)
        return tile_products(Q, q0, q1, Y, t0, t1, qb, yt, buf)[: q1 - q0, : t1 - t0].copy()

    Q = rng.standard_normal((40, d)).astype(dtype)
    Y = rng.standard_normal((70, d)).astype(dtype)
    for q0, q1, t0, t1 in [(0, 40, 0, 70), (3, 10, 5, 6), (7, 8, 0, 64), (0, 6, 61, 70)]:
        expected = Q[q0:q1].astype(np.float64) @ Y[t0:t1].astype(np.float64).T
        tol = 1e-12 if dtype == np.float64 else 1e-4
        np.testing.assert_allclose(products(Q, q0, q1, Y, t0, t1), expected, rtol=0, atol=tol)


@pytest.mark.parametrize(("width", "block_rows"), [(4, 6), (8, 8)])
def test_both_block_kernels_equal_numpy(width, block_rows, rng):
    # The AVX2 (4 x 6) and AVX-512 (8 x 8) blocks, whichever this CPU has: LLVM
    # splits vectors wider than the CPU's, so both compile and run anywhere.
    import numba

    from densest.kde._kernels import block_kernel

    block = block_kernel(width, block_rows)

    @numba.njit
    def products(qb, yt):
        G = np.full((qb.shape[0], yt.shape[1]), np.nan)
        for i0 in range(0, qb.shape[0], block_rows):
            for j0 in range(0, yt.shape[1], 2 * width):
                block(qb, yt, G, i0, j0)
        return G

    for d in (1, 3, 16, 33):
        qb = rng.standard_normal((3 * block_rows, d))
        yt = rng.standard_normal((d, 4 * width))
        np.testing.assert_allclose(products(qb, yt), qb @ yt, rtol=0, atol=1e-12)


def test_serial_and_parallel_kernels_agree(rng):
    from densest.kde import _kernels

    X = rng.standard_normal((500, 4))
    Q = rng.standard_normal((100, 4))
    ysq = np.einsum("ij,ij->i", X, X)
    qsq = np.einsum("ij,ij->i", Q, Q)
    cs = np.array([0.5, 2.0])
    idx = np.full(100, -1, dtype=np.int64)
    no_boxes = (np.empty((0, 4)), np.empty((0, 4)), np.empty(0))
    outs = []
    for direct in (0, 1):
        for func in (_kernels.tile_sums(False, "float64"), _kernels.tile_sums(True, "float64")):
            M, S, S2 = (np.empty((100, 2)) for _ in range(3))
            func(Q, qsq, X, ysq, np.zeros(500), cs, 0, idx, direct, 1, 16, 64, 0.0, 0.0, *no_boxes, M, S,
                 S2)
            outs.append(np.hstack([M + np.log(S), S**2 / S2]))
    for out in outs[1:]:
        np.testing.assert_allclose(out, outs[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_one_pass_frees_its_scratch_buffers(n_jobs, rng, nrt_allocations):
    # The kernels use their scratch buffers through views that Numba does not
    # reference-count (_kernels._borrowed) and hold the buffers themselves until
    # the end of each query tile (_keep_alive): every buffer allocated must still
    # be freed, once, and the results must match the brute-force reference. (The
    # chain kernel: test_bandwidth.py.)
    X = rng.standard_normal((300, 3))
    Q = rng.standard_normal((50, 3))
    kde = KernelDensity(bandwidth=0.5, n_jobs=n_jobs).fit(X)
    kde.score_samples(Q)  # compile before counting
    with nrt_allocations() as counts:
        logp = kde.score_samples(Q)
    assert counts["alloc"] > 0 and counts["free"] == counts["alloc"]
    assert counts["mi_free"] == counts["mi_alloc"]
    np.testing.assert_allclose(logp, brute_force_log_density(X, Q, 0.5), rtol=0, atol=1e-10)


@pytest.mark.parametrize("prune", [False, True])
@pytest.mark.parametrize("d", [3, 12])
def test_one_sweep_reference_survives_jumps_of_hundreds_of_nats(d, prune, rng):
    # Reference points ever closer to the query, tile after tile: each tile's terms
    # lie 0-800 nats above the running reference, which exercises the renormalisation
    # (jumps below ~350 nats) and the exact redo of a tile (jumps above), on the
    # direct-difference path (d = 3) and the GEMM path (d = 12), with weights; in
    # storage order, and in k-d tree order with skipped tiles (nearest tiles first).
    from densest.kde._engine import log_sum_exp_terms

    d2 = np.cumsum(rng.uniform(0.0, 200.0, 400))[::-1]
    u = rng.standard_normal((400, d))
    X = np.sqrt(d2)[:, None] * u / np.linalg.norm(u, axis=1, keepdims=True)
    Q = np.zeros((1, d))
    w = rng.uniform(0.5, 2.0, 400)
    h = 1.0
    M, S, S2 = log_sum_exp_terms(Q, X, (X * X).sum(1), np.log(w), np.array([h]), "gaussian",
                                 want_s2=True, block_size=2, prune=prune)  # fmt: skip
    a = np.log(w) - 0.5 * d2
    assert abs((M + np.log(S))[0, 0] - logsumexp(a)) < 1e-10
    n_eff = np.exp(2 * logsumexp(a) - logsumexp(2 * a))
    assert S[0, 0] ** 2 / S2[0, 0] == pytest.approx(n_eff, rel=1e-10)


def test_vectorised_exp_is_accurate_and_clamped():
    import numba

    from densest.kde._kernels import exp_clamped

    @numba.njit
    def evaluate(x):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = exp_clamped(x[i])
        return out

    x = np.concatenate([np.linspace(-708.0, 709.0, 400_001), np.linspace(-1.0, 1.0, 100_001)])
    rel = np.abs(evaluate(x) / np.exp(x) - 1.0)
    assert rel.max() < 1.5e-12
    assert evaluate(np.array([0.0]))[0] == pytest.approx(1.0, rel=1e-15)
    edges = evaluate(np.array([-1e4, -np.inf, 1e4, np.inf, np.nan]))
    assert edges[0] == edges[1] == pytest.approx(math.exp(-708.0))
    assert edges[2] == edges[3] == pytest.approx(math.exp(709.0))
    with np.errstate(over="ignore"):
        assert np.isinf(edges[2] ** 2)  # how the engine detects a term far above its reference
    assert np.isnan(edges[4])


def test_avx512_exponential_sums_are_accurate_and_sum_only_their_terms():
    # exp2_sums_avx512 sums 2^(alpha u_j + v_j + beta) over j < nt, eight terms per
    # vector and the last ones by masked loads: every term is checked alone against
    # numpy's exp2 (within SWEEP_EXP_ERROR, relative), and the values after nt (NaN
    # here, in the last row of its array) do not reach the sums.
    import numba

    from densest.kde._kernels import AVX512, SWEEP_EXP_ERROR, exp2_sums_avx512

    if not AVX512:
        pytest.skip("the AVX-512 sweep compiles only where Numba's target has AVX-512")

    @numba.njit
    def each_term(u, v, alpha, beta):
        out = np.empty((u.shape[0], 2))
        for j in range(u.shape[0]):
            out[j] = exp2_sums_avx512(u[j:], 0, v[j:], 0, alpha, beta, 1, True)
        return out

    @numba.njit
    def sums(u, row, v, alpha, beta, nt, want_s2):
        return exp2_sums_avx512(u, row, v, 1, alpha, beta, nt, want_s2)

    y = np.concatenate([np.linspace(-1022.0, 1023.0, 200_001), np.linspace(-1.0, 1.0, 100_001)])
    terms = each_term(y, np.zeros_like(y), 1.0, 0.0)
    assert np.max(np.abs(terms[:, 0] / np.exp2(y) - 1.0)) < SWEEP_EXP_ERROR
    small = np.abs(y) < 500  # squares within range
    assert np.max(np.abs(terms[small, 1] / np.exp2(2 * y[small]) - 1.0)) < 2 * SWEEP_EXP_ERROR
    assert each_term(np.zeros(1), np.zeros(1), 1.0, 0.0)[0, 0] == 1.0
    edges = each_term(np.array([-np.inf, -1e300, -1100.0, 1100.0, np.inf, np.nan]), np.zeros(6), 1.0, 0.0)[:, 0]
    assert np.all(edges[:3] == 0.0) and np.all(np.isinf(edges[3:5])) and np.isnan(edges[5])

    rng = np.random.default_rng(7)
    for nt in (0, 1, 7, 8, 9, 23, 64):
        u = np.full((3, nt + 9), np.nan)
        u[2, :nt] = rng.uniform(-30, 5, nt)
        v = np.full((2, nt + 9), np.nan)
        v[1, :nt] = rng.standard_normal(nt)
        e = np.exp2(0.7 * u[2, :nt] + v[1, :nt] - 1.5)
        for u_cast in (u, u.astype(np.float32)):
            exact = np.exp2(0.7 * u_cast[2, :nt].astype(np.float64) + v[1, :nt] - 1.5)
            s, s2 = sums(u_cast, 2, v, 0.7, -1.5, nt, True)
            assert s == pytest.approx(exact.sum(), rel=1e-11, abs=0.0)
            assert s2 == pytest.approx((exact**2).sum(), rel=1e-11, abs=0.0)
        assert sums(u, 2, v, 0.7, -1.5, nt, False) == pytest.approx((e.sum(), 0.0), rel=1e-11, abs=0.0)


def test_cosine_kernel_keeps_its_relative_accuracy_up_to_the_support_edge():
    # cos(pi t / 2) through sin(pi (1 - t) / 2): a few ulps of the exact cosine at
    # t = sqrt(t^2) rounded, also next to t = 1, where cos of that t would lose the
    # leading digits of 1 - t (libm: 1e-4 relative at 1 - t = 1e-12). The largest
    # t^2 below 1, whose square root rounds to 1, keeps its term; 0 from t^2 = 1 on.
    import mpmath
    import numba

    from densest.kde._kernels import FASTMATH, _cosine_kernel

    @numba.njit(fastmath=FASTMATH)
    def evaluate(t2):
        out = np.empty_like(t2)
        for i in range(t2.shape[0]):
            out[i] = _cosine_kernel(t2[i])
        return out

    t = np.concatenate([np.linspace(0.0, 1.0, 2001)[:-1], 1.0 - np.logspace(-15, -3, 40)])
    t2 = t * t
    t_rounded = np.sqrt(t2)
    ok = t_rounded < 1.0
    with mpmath.workdps(40):
        exact = np.array([float(mpmath.cos(mpmath.pi * mpmath.mpf(v) / 2)) for v in t_rounded[ok]])
        last = float(mpmath.cos(mpmath.pi * mpmath.sqrt(1 - mpmath.mpf(2) ** -53) / 2))
    assert np.max(np.abs(evaluate(t2[ok]) / exact - 1.0)) < 1e-15
    assert evaluate(np.array([1.0 - 2.0**-53]))[0] == pytest.approx(last, rel=1e-15)
    assert np.all(evaluate(np.array([1.0, 1.5, np.inf])) == 0.0)


def chain_exponentials():
    """exp_chain, and chain_exp_avx512 where Numba's target has AVX-512, each as
    f(x, lo) -> exp(max(x, lo)) over an array."""
    import numba

    from densest.kde._kernels import AVX512, FASTMATH, chain_exp_avx512, exp_chain

    @numba.njit(fastmath=FASTMATH)
    def scalar(x, lo):
        out = np.empty_like(x)
        for i in range(x.shape[0]):
            out[i] = exp_chain(x[i], lo)
        return out

    @numba.njit
    def vector(x, lo):
        out = np.empty_like(x)
        chain_exp_avx512(-x, x.shape[0], 0.0, 1.0, lo, out)  # exp(max(-(-x - 0), lo))
        return out

    return {"exp_chain": scalar, **({"chain_exp_avx512": vector} if AVX512 else {})}


@pytest.mark.parametrize("name", ["exp_chain", "chain_exp_avx512"])
def test_chain_exp_error_stays_small_in_the_powers_chains_take(name):
    # A chain raises t = exp(x) to powers P up to 5 * 2^9 = 2560, and a term
    # matters while P |x| <= 45. Both exponentials' polynomial errors vanish with
    # the reduced argument, so t^P stays within 6e-12 of exp(P x) there; a fit with
    # a uniform error (a degree-9 Chebyshev fit of exp: 1.4e-14) would reach 3.6e-11.
    import mpmath

    evaluate = chain_exponentials().get(name)
    if evaluate is None:
        pytest.skip("chain_exp_avx512 compiles only where Numba's target has AVX-512")
    mpmath.mp.dps = 30
    z = np.linspace(0.0, 45.0, 181)
    for power in (3, 5, 24, 130, 640, 2560):
        x = -z / power
        t = evaluate(x, -708.0)
        got = np.array([float(mpmath.mpf(float(v)) ** power) for v in t])
        exact = np.array([float(mpmath.exp(-mpmath.mpf(float(v)) * power)) for v in z / power])
        assert np.abs(got / exact - 1.0).max() < 6e-12, power
    wide = np.linspace(-345.0, 0.0, 100_001)
    assert np.abs(evaluate(wide, -708.0) / np.exp(wide) - 1.0).max() < 1e-13
    assert evaluate(np.array([0.0]), -708.0)[0] == 1.0
    assert evaluate(np.array([-1e4, -np.inf]), -50.0) == pytest.approx(math.exp(-50.0), rel=1e-13)


def test_chain_exp_avx512_writes_only_its_terms():
    # Eight terms per vector, the last ones by masked loads and stores: values after
    # nt (NaN here) are never read, and out[nt:] keeps what it held.
    import numba

    from densest.kde._kernels import AVX512, chain_exp_avx512

    if not AVX512:
        pytest.skip("chain_exp_avx512 compiles only where Numba's target has AVX-512")

    @numba.njit
    def fill(d2, nt, dref, c, lo, out):
        chain_exp_avx512(d2, nt, dref, c, lo, out)

    rng = np.random.default_rng(3)
    for nt in range(0, 26):
        d2 = np.full(nt + 9, np.nan)
        d2[:nt] = 2.0 + rng.exponential(1.0, nt)
        out = np.full(nt + 9, -7.0)
        fill(d2, nt, 2.0, 1.3, -60.0, out)
        expected = np.exp(np.maximum(-1.3 * (d2[:nt] - 2.0), -60.0))
        np.testing.assert_allclose(out[:nt], expected, rtol=1e-13, atol=0)
        assert np.all(out[nt:] == -7.0)


@settings(max_examples=60)
@given(seed=st.integers(0, 2**32 - 1), n_chains=st.integers(1, 4), n_levels=st.integers(1, 10))
def test_level_counts_never_skip_a_level_the_exact_rule_runs(seed, n_chains, n_levels):
    # _levels_needed bounds log s from the bits of s instead of taking logarithms:
    # against the rule with exact exponentials, w exp(-cs gap) >= e^-SKIP_NATS s, it
    # may run a level more but never one less, and never one that the same rule
    # with s halved skips (sums here: normal, 0, or the subnormal 5e-324, whose
    # half is 0).
    import numba

    from densest.kde._kernels import SKIP_NATS, _levels_needed

    @numba.njit
    def counts(sums, cs, levels, gap, log_w, n_chains):
        need = np.empty(cs.shape[0])
        runs = np.empty(n_chains, dtype=np.int64)
        last = _levels_needed(sums, cs, levels, gap, log_w, need, runs)
        return runs, last

    def exact_runs(sums, cs, gap, w_sum, scale):
        ok = np.log(w_sum) - cs * gap >= np.log(scale * sums) - SKIP_NATS
        runs = []
        for b in range(n_chains):
            hits = np.flatnonzero(ok[b * n_levels:(b + 1) * n_levels])
            runs.append(hits[-1] + 1 if hits.size else 0)
        return np.array(runs)

    rng = np.random.default_rng(seed)
    size = n_chains * n_levels
    cs = np.repeat(rng.uniform(0.1, 5.0, n_chains), n_levels) * np.tile(2.0 ** np.arange(n_levels), n_chains)
    levels = np.tile(np.arange(1.0, n_levels + 1.0), n_chains)
    w_sum = float(np.exp(rng.uniform(-100.0, 8.0)))
    for gap in (0.0, float(rng.exponential(0.3)), float(rng.exponential(3.0)), 1e6):
        sums = np.exp(rng.uniform(-700.0, 10.0, size))
        # sums at the rule's threshold, times factors around 1 (either side of it)
        at = np.log(w_sum) + SKIP_NATS - cs * gap
        near = (rng.random(size) < 0.5) & (at < 700.0) & (at > -700.0)
        sums[near] = np.exp(at[near]) * rng.choice([1 - 1e-9, 1 + 1e-9, 0.7, 0.95, 1.05], near.sum())
        sums[rng.random(size) < 0.1] = 0.0
        sums[rng.random(size) < 0.1] = 5e-324  # subnormal
        with np.errstate(divide="ignore"):
            exact = exact_runs(sums, cs, gap, w_sum, 1.0)
            halved = exact_runs(sums, cs, gap, w_sum, 0.5)
        runs, last = counts(sums, cs, levels, gap, np.log(w_sum) + SKIP_NATS, n_chains)
        assert np.all(runs >= exact) and np.all(runs <= halved), (gap, runs, exact, halved)
        assert last == (np.flatnonzero(runs)[-1] if runs.any() else -1)


def test_progress_bar(rng, capsys):
    pytest.importorskip("tqdm")
    X = rng.standard_normal((200, 3))
    kde = KernelDensity(bandwidth=0.5).fit(X)
    with_bar = KernelDensity(bandwidth=0.5, progress=True).fit(X).score_samples(X)
    np.testing.assert_allclose(with_bar, kde.score_samples(X), atol=1e-12)
    assert "KDE" in capsys.readouterr().err


def test_progress_chunks_are_large_enough_to_keep_tiles_full():
    # 50 chunks of 100 queries made the d = 256 pass 40 % slower than no bar
    pytest.importorskip("tqdm")
    from densest.kde._engine import PROGRESS_MIN_ROWS, row_chunks

    for n_rows in (1, 5000, 200_000):
        chunks = list(row_chunks(n_rows, True, "KDE"))
        assert chunks[0].start == 0 and chunks[-1].stop == n_rows
        assert all(a.stop == b.start for a, b in zip(chunks, chunks[1:]))
        assert all(c.stop - c.start >= PROGRESS_MIN_ROWS for c in chunks[:-1])
        assert len(chunks) <= 50


def test_progress_bar_of_the_loo_search(rng, capsys):
    # the issue asks for a bar on long CV runs too; only scoring had one
    pytest.importorskip("tqdm")
    X = rng.standard_normal((300, 2))
    hs = bandwidth.chain_grid(1.0)
    expected = bandwidth.loo_log_likelihood(X, hs, max_queries=150)
    assert capsys.readouterr().err == ""
    got = bandwidth.loo_log_likelihood(X, hs, max_queries=150, progress=True)
    np.testing.assert_allclose(got, expected, rtol=1e-13)
    assert "LOO" in capsys.readouterr().err
    for kernel in ("gaussian", "epanechnikov"):
        plain = KernelDensity(bandwidth="loo", kernel=kernel).fit(X).bandwidth_
        with_bar = KernelDensity(bandwidth="loo", kernel=kernel, progress=True).fit(X).bandwidth_
        assert with_bar == pytest.approx(plain, rel=1e-10)
        assert "LOO" in capsys.readouterr().err


def test_singular_whitening_and_constant_features_are_explained(rng):
    X = rng.standard_normal((50, 2))
    X = np.column_stack([X, X[:, 0] + X[:, 1]])
    with pytest.raises(ValueError, match="singular"):
        KernelDensity(scale="whiten").fit(X)
    X[:, 2] = 1.0
    with pytest.raises(ValueError, match=r"feature\(s\) \[2\] are constant"):
        KernelDensity(scale="standardize").fit(X)
    with pytest.raises(ValueError, match="identical"):
        KernelDensity(bandwidth="scott").fit(np.ones((5, 2)))


def test_bad_callable_bandwidth_and_weights(rng):
    X = rng.standard_normal((30, 2))
    with pytest.raises(ValueError, match="positive finite"):
        KernelDensity(bandwidth=lambda Z, w: -1.0).fit(X)
    # beyond 1e+-150, h^2 or 1 / (2 h^2) left the float64 range: -inf log-densities where the
    # exact value is finite (1e-300), or an OverflowError (1e300)
    for h in (1e-300, 1e300, lambda Z, w: 1e-200):
        with pytest.raises(ValueError, match="float64 range"):
            KernelDensity(bandwidth=h).fit(X)
    with pytest.raises(ValueError, match="kernel covariance overflows"):
        KernelDensity(bandwidth=1e150, scale="standardize").fit(X * 1e10)
    with pytest.raises(ValueError, match="non-zero|positive weight"):
        KernelDensity().fit(X, sample_weight=np.zeros(30))
    with pytest.raises(ValueError, match="(?i)negative"):
        KernelDensity().fit(X, sample_weight=-np.ones(30))
    kde = KernelDensity(bandwidth=lambda Z, w: 0.25 * Z.std()).fit(X)
    assert kde.bandwidth_ == pytest.approx(0.25 * X.std(), rel=1e-6) or kde.bandwidth_ > 0


def test_single_sample_fit_with_fixed_bandwidth():
    kde = KernelDensity(bandwidth=1.0).fit([[0.0, 0.0]])
    assert kde.score_samples([[0.0, 0.0]])[0] == pytest.approx(-math.log(2 * math.pi))
    with pytest.raises(ValueError, match="1 sample"):
        KernelDensity(bandwidth="scott").fit([[0.0, 0.0]])


def test_pickle_pipeline_gridsearch(rng):
    import pickle

    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = rng.standard_normal((120, 3))
    search = GridSearchCV(KernelDensity(), {"bandwidth": [0.05, 0.5, 5.0]}, cv=3).fit(X)
    assert search.best_params_["bandwidth"] == 0.5
    pipe = make_pipeline(StandardScaler(), KernelDensity()).fit(X)
    loaded = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(loaded.score_samples(X), pipe.score_samples(X))


def test_block_width_follows_numba_target(monkeypatch):
    # A target fixed by NUMBA_CPU_NAME (e.g. "generic" for caches shared between
    # machines) decides by its own features, not the host's.
    import llvmlite.binding as llvm
    import numba

    from densest.kde._kernels import _target_has_avx512

    monkeypatch.setattr(numba.config, "CPU_NAME", "generic")
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "")
    assert not _target_has_avx512()
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+avx2,+fma,+avx512f")
    assert _target_has_avx512()
    monkeypatch.setattr(numba.config, "CPU_FEATURES", "+avx2,-avx512f")
    assert not _target_has_avx512()
    monkeypatch.setattr(numba.config, "CPU_NAME", "host")  # the host's own features
    assert _target_has_avx512() == ("+avx512f" in llvm.get_host_cpu_features().flatten().split(","))


@pytest.mark.parametrize("d", [3, 5, 8])
def test_default_path_below_the_gemm_dimension_is_exact(d, rng):
    # With AVX-512 tile products the Gaussian one pass on float64 points takes a GEMM
    # from d = GEMM_MIN_D_AVX512 on; elsewhere explicit differences. Either way it is
    # exact at and next to data points, and where h is small beside the data's
    # offset (there gemm_inexact sends the pairs to explicit differences).
    from densest.kde import _engine
    from densest.kde._kernels import AVX512

    X = rng.standard_normal((600, d)) * rng.uniform(0.5, 2.0, d) + 3.0
    assert _engine._gemm_below_direct_max(d, "gaussian", X, X) == AVX512
    assert not _engine._gemm_below_direct_max(d, "gaussian", X.astype(np.float32), X)
    assert not _engine._gemm_below_direct_max(d, "epanechnikov", X, X)
    for h in (1e-3, 0.3, 2.0):
        Q = np.vstack([X[:15], X[15:30] + 0.3 * h * rng.standard_normal((15, d)),
                       3.0 + rng.standard_normal((15, d))])  # fmt: skip
        got = KernelDensity(bandwidth=h).fit(X).score_samples(Q)
        # Fresh points at h = 1e-3 have |log p| near 1e6, which float64 (and the
        # reference) round by about 1e-16 of it: hence the rtol.
        np.testing.assert_allclose(got, brute_force_log_density(X, Q, h), rtol=1e-15, atol=1e-10,
                                   err_msg=f"h={h}")  # fmt: skip


def test_default_path_below_the_gemm_dimension_agrees_with_explicit_differences(rng):
    # Held-out points, several bandwidths and the sums of squares (for diagnose), by
    # the default path and by explicit differences only.
    X = rng.standard_normal((900, 6))
    ysq = np.einsum("ij,ij->i", X, X)
    logw = np.log(rng.uniform(0.5, 2.0, 900))
    index = np.arange(0, 900, 7)
    hs = np.array([0.2, 0.5, 1.5])
    parts = [log_sum_exp_terms(X[index], X, ysq, logw, hs, "gaussian", self_index=index, want_s2=True,
                               direct=direct) for direct in (None, True)]  # fmt: skip
    (M0, S0, T0), (M1, S1, T1) = parts
    np.testing.assert_allclose(M0 + np.log(S0), M1 + np.log(S1), rtol=0, atol=1e-11)
    np.testing.assert_allclose(S0**2 / T0, S1**2 / T1, rtol=1e-10)
