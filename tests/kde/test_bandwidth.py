"""Bandwidth rules, Biroli-Mezard regimes, diagnostics and dask scale-out."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.exceptions import NotFittedError

from densest.kde import KernelDensity, bandwidth, regimes, score_samples_dask


def test_scott_and_silverman_match_scipy_factors(rng):
    X = rng.standard_normal((400, 3))
    kde = stats.gaussian_kde(X.T)
    assert bandwidth.scott_bandwidth(X) == pytest.approx(kde.scotts_factor() * bandwidth._spread(X, np.ones(400)))
    assert bandwidth.silverman_bandwidth(X) == pytest.approx(
        kde.silverman_factor() * bandwidth._spread(X, np.ones(400))
    )


def test_nn_rule_is_brute_force_mean_nn_distance(rng):
    X = rng.standard_normal((300, 5))
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D2, np.inf)
    expected = math.sqrt(D2.min(1).mean() / 5)
    assert bandwidth.nn_bandwidth(X) == pytest.approx(expected, rel=1e-10)
    assert bandwidth.nn_bandwidth(X, n_jobs=2) == pytest.approx(expected, rel=1e-10)


def test_nn_rule_ignores_duplicates(rng):
    X = rng.standard_normal((50, 3))
    assert bandwidth.nn_bandwidth(np.vstack([X, X])) == pytest.approx(bandwidth.nn_bandwidth(X))


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_nn_rule_is_exact_for_neighbours_below_the_gemm_rounding(n_jobs, rng):
    # Two tight clusters at +-1: nearest neighbours 1e-7 apart (d2 ~ 1e-13), below
    # the rounding of |q|^2 + |y|^2 - 2 q.y (~1e-15 to 1e-14) and below the old
    # duplicate threshold 1e-12 (|q|^2 + |y|^2), which skipped them all and took
    # the other cluster (d2 = 4) as every point's nearest neighbour.
    d = 20
    centres = np.where(np.arange(300)[:, None] % 2 == 0, 1.0, -1.0) * np.eye(d)[0]
    X = centres + 1e-8 * rng.standard_normal((300, d))
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D2, np.inf)
    expected = math.sqrt(D2.min(1).mean() / d)
    assert bandwidth.nn_bandwidth(X, n_jobs=n_jobs) == pytest.approx(expected, rel=1e-6)


def test_loo_is_the_brute_force_leave_one_out(rng):
    X = rng.standard_normal((150, 4))
    hs = np.array([0.2, 0.5, 1.0, 2.0])
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D2, np.inf)
    expected = [np.mean(logsumexp(-D2 / (2 * h * h), axis=1) - math.log(149)
                        - 2 * math.log(2 * math.pi * h * h)) for h in hs]  # fmt: skip
    np.testing.assert_allclose(bandwidth.loo_log_likelihood(X, hs), expected, rtol=0, atol=1e-10)


@pytest.mark.parametrize("kernel", ["epanechnikov", "cosine", "linear", "exponential"])
def test_loo_of_the_other_kernels_on_a_grid_above_the_gemm_dimension(kernel, rng):
    # GEMM distances above d = 8, with the steep bands of every bandwidth checked:
    # the first from the distance pass, the others by a count unless below the row's
    # nearest distance. Pairs sit just inside and outside the edge of the second
    # bandwidth's support.
    from densest.kde._engine import log_kernel_norm

    d, hs = 12, np.array([6.0, 3.0, 1.5])
    X = rng.standard_normal((120, d))
    X[1::2] = X[::2] + 3.0 * (1 + rng.choice([-1e-9, 1e-9], (60, 1))) * np.eye(d)[0]
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D2, np.inf)
    expected = []
    for h in hs:
        t = np.sqrt(D2) / h
        with np.errstate(divide="ignore"):
            log_k = {"epanechnikov": np.log(np.clip(1 - t * t, 0, None)), "linear": np.log(np.clip(1 - t, 0, None)),
                     "cosine": np.where(t < 1, np.log(np.cos(0.5 * np.pi * np.minimum(t, 1))), -np.inf),
                     "exponential": -t}[kernel]  # fmt: skip
        expected.append(np.mean(logsumexp(log_k, axis=1) - math.log(119) - log_kernel_norm(kernel, d, h)))
    got = bandwidth.loo_log_likelihood(X, hs, kernel=kernel, max_queries=120)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-8)


def brute_force_loo(X, hs, w):
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D2, np.inf)
    d = X.shape[1]
    out = []
    for h in hs:
        lse = logsumexp(-D2 / (2 * h * h) + np.log(w)[None, :], axis=1)
        logp = lse - np.log(w.sum() - w) - 0.5 * d * math.log(2 * math.pi * h * h)
        out.append(np.average(logp, weights=w))
    return np.array(out)


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("d", [3, 7, 24])
def test_loo_on_a_chain_grid_is_the_brute_force_leave_one_out(d, weighted, rng):
    # Doubling chains (one exponential per chain, squaring for the other levels),
    # weighted or not (equal weights take sweeps without multiplications), on the
    # direct-difference path (d = 3), the GEMM path (d = 24) and d = 7 (the GEMM
    # with AVX-512 tile products, else explicit differences); the grid reaches
    # bandwidths where most terms underflow.
    X = rng.standard_normal((200, d)) * rng.uniform(0.5, 2.0, d)
    w = rng.uniform(0.2, 3.0, 200) if weighted else np.full(200, 2.5)
    hs = bandwidth.chain_grid(4.0 * math.sqrt(d))
    assert bandwidth._as_chains(hs) is not None
    got = bandwidth.loo_log_likelihood(X, hs, w)
    np.testing.assert_allclose(got, brute_force_loo(X, hs, w), rtol=0, atol=1e-10)


@pytest.mark.parametrize("weighted", [True, False])
def test_loo_chains_on_default_tiles_span_several_reference_tiles(weighted, rng):
    # With the default tiles the chain kernel's reference tiles are longer than the
    # one pass's at d <= 8 (512 rows): 1100 clustered points fill two whole tiles
    # and part of a third, which the small-data tests above never reach.
    centres = rng.normal(0.0, 4.0, (5, 2))
    X = centres[rng.integers(0, 5, 1100)] + rng.normal(0.0, 0.5, (1100, 2))
    w = rng.uniform(0.2, 3.0, 1100) if weighted else np.ones(1100)
    hs = bandwidth.chain_grid(2.0)
    got = bandwidth.loo_log_likelihood(X, hs, w, max_queries=1100, n_jobs=2)
    np.testing.assert_allclose(got, brute_force_loo(X, hs, w), rtol=0, atol=1e-10)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_loo_chains_take_the_weighted_kernel_unless_every_weight_is_equal(n_jobs, rng):
    # The chain kernel has a variant compiled for equal weights, which ignores them:
    # a single weight that differs must send the call to the weighted variant.
    X = rng.standard_normal((300, 3))
    hs = bandwidth.chain_grid(2.0)
    for w in (np.full(300, 0.7), np.where(np.arange(300) == 7, 3.0, 1.0)):
        got = bandwidth.loo_log_likelihood(X, hs, w, n_jobs=n_jobs)
        np.testing.assert_allclose(got, brute_force_loo(X, hs, w), rtol=0, atol=1e-10)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_loo_chains_leave_every_thread_s_floating_point_mode_as_it_was(n_jobs, rng):
    # On x86 the chain kernel flushes subnormals to zero while it runs (_kernels,
    # FLUSH_SUBNORMALS) and restores the mode per query tile: afterwards subnormals
    # still come out of arithmetic, in this thread and in Numba's worker threads.
    import numba

    @numba.njit(parallel=True)
    def smallest_products(x):
        out = np.empty(64)
        for i in numba.prange(64):
            out[i] = x[i] * 1e-10
        return out

    tiny = np.full(64, 1e-300)
    before = smallest_products(tiny)
    X = rng.standard_normal((3000, 3))
    bandwidth.loo_log_likelihood(X, bandwidth.chain_grid(0.3), n_jobs=n_jobs)
    assert np.all(before > 0.0) and np.all(smallest_products(tiny) == before)
    assert np.float64(1e-300) * np.float64(1e-10) > 0.0


def test_loo_chains_are_exact_on_near_duplicates_above_the_gemm_dimension(rng):
    # Pairs 1e-4 apart in data of unit scale (d = 16) and a grid reaching h = 2e-4:
    # GEMM distances would be off by about sqrt(d) u |x|^2, i.e. up to 1e-4 nats at
    # c = 1 / (2 h^2) = 1.2e7, so the chains must take explicit differences.
    base = rng.standard_normal((100, 16))
    X = np.vstack([base, base + 1e-4 * rng.standard_normal((100, 16))])
    hs = bandwidth.chain_grid(4e-3)
    got = bandwidth.loo_log_likelihood(X, hs)
    np.testing.assert_allclose(got, brute_force_loo(X, hs, np.ones(200)), rtol=0, atol=1e-10)


def test_loo_chains_with_far_points_keep_the_gemm_for_the_other_pairs(engine_parts, rng):
    # Two points 100 out: GEMM distances are inexact for the pairs they are in, and
    # only those pairs take explicit differences (before, the whole grid did).
    calls = engine_parts
    X = rng.standard_normal((300, 12))
    X[0] *= 100.0
    X[1] = -X[0]
    hs = bandwidth.chain_grid(0.5)
    got = bandwidth.loo_log_likelihood(X, hs)
    assert sorted(call[:3] for call in calls) == [(2, 300, True), (298, 2, True), (298, 298, False)]
    np.testing.assert_allclose(got, brute_force_loo(X, hs, np.ones(300)), rtol=1e-13, atol=1e-10)


@pytest.mark.parametrize("prune", [False, True])
@pytest.mark.parametrize("d", [3, 12])
def test_chains_follow_ever_nearer_tiles(d, prune, rng):
    # Small tiles of points ever nearer to the query: in storage order the reference
    # distance drops tile after tile and the sums so far must be rescaled each time.
    from densest.kde._engine import log_sum_exp_chains

    d2 = np.cumsum(rng.uniform(0.0, 3.0, 300))[::-1]
    u = rng.standard_normal((300, d))
    X = np.sqrt(d2)[:, None] * u / np.linalg.norm(u, axis=1, keepdims=True)
    logw = rng.uniform(-3.0, 3.0, 300)
    c_bases = np.array([0.01, 0.013])
    got = log_sum_exp_chains(np.zeros((1, d)), X, (X * X).sum(1), logw, c_bases, 8, block_size=2,
                             prune=prune)  # fmt: skip
    cs = c_bases[:, None] * 2.0 ** np.arange(8)
    expected = logsumexp(logw[None, None, :] - cs[..., None] * d2, axis=-1)
    np.testing.assert_allclose(got[0], expected, rtol=0, atol=1e-10)


def test_row_minimum_reads_distances_as_integers(rng):
    # The chains' row minimum compares the bit patterns of the squared distances
    # (non-negative or +inf) as int64 so that it vectorises; it must be the float
    # minimum of the first nt entries, zeros and infinities included.
    from densest.kde._kernels import _row_min

    for nt in (1, 3, 4, 257):
        d2 = rng.uniform(0.0, 50.0, nt + 5) * 10.0 ** rng.integers(-300, 300, nt + 5)
        d2[rng.integers(0, nt)] = np.inf
        assert _row_min(d2, nt) == d2[:nt].min()
        d2[rng.integers(0, nt)] = 0.0
        assert _row_min(d2, nt) == 0.0
    assert _row_min(np.full(8, np.inf), 8) == np.inf
    assert _row_min(np.array([7.0, 5e-324, 1.0]), 3) == 5e-324


@pytest.mark.parametrize("n_jobs", [None, 2])
def test_loo_chains_free_their_scratch_buffers(n_jobs, rng, nrt_allocations):
    # As test_one_pass_frees_its_scratch_buffers (test_kde_oracle.py), for the
    # chain kernel: every buffer allocated is freed once, the results are exact.
    X = rng.standard_normal((300, 3))
    hs = bandwidth.chain_grid(1.0, 6, 2)
    bandwidth.loo_log_likelihood(X, hs, n_jobs=n_jobs)  # compile before counting
    with nrt_allocations() as counts:
        loo = bandwidth.loo_log_likelihood(X, hs, n_jobs=n_jobs)
    assert counts["alloc"] > 0 and counts["free"] == counts["alloc"]
    assert counts["mi_free"] == counts["mi_alloc"]
    np.testing.assert_allclose(loo, brute_force_loo(X, hs, np.ones(len(X))), rtol=0, atol=1e-9)


def test_sweep_buffers_start_on_a_cache_line():
    # The kernels' sweep buffers start on 64-byte boundaries (Numba's np.empty gives
    # 32), whatever their size and dtype, and keep it as a (q, t) reshape.
    import numba

    from densest.kde._kernels import aligned_empty

    @numba.njit
    def starts(size, dtype):
        buf = aligned_empty(size, dtype)
        rows = aligned_empty(3 * size, dtype).reshape((3, size))
        return buf.ctypes.data % 64, rows.ctypes.data % 64, buf.shape[0], rows.shape, buf.itemsize

    for dtype, itemsize in ((np.float64, 8), (np.float32, 4)):
        for size in (1, 7, 256, 512, 1001):
            assert starts(size, dtype) == (0, 0, size, (3, size), itemsize)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_distance_rows_return_their_minimum(dtype, rng):
    # Explicit differences take one sweep for the first 1 to 4 features and one per
    # further four; the chains use the minimum that each row returns, so every
    # split of d (1 to 9) must give the squared distances and their minimum.
    import numba

    from densest.kde._kernels import _direct_row, _gemm_row

    @numba.njit
    def direct(Q, yt, nt, d2):
        return _direct_row(Q, 0, yt, nt, d2)

    @numba.njit
    def gemm(qs, ys, G, nt, d2):
        return _gemm_row(qs, ys, G, 0, nt, d2)

    for d in range(1, 10):
        Y = rng.standard_normal((37, d))
        q = rng.standard_normal((1, d)).astype(dtype)
        expected = ((q.astype(np.float64) - Y) ** 2).sum(1)
        d2 = np.full(40, -1.0)
        low = direct(q, np.ascontiguousarray(Y.T), 37, d2)
        np.testing.assert_allclose(d2[:37], expected, rtol=1e-14)
        assert low == d2[:37].min() and np.all(d2[37:] == -1.0)
        G = (q.astype(np.float64) @ Y.T).reshape(1, -1)
        qs = float((q.astype(np.float64) ** 2).sum())
        low = gemm(qs, (Y * Y).sum(1), G, 37, d2)
        np.testing.assert_allclose(d2[:37], expected, rtol=1e-10)
        assert low == d2[:37].min()
    assert direct(np.zeros((1, 2)), np.zeros((2, 3)), 3, d2) == 0.0
    assert gemm(0.0, np.zeros(3), np.full((1, 3), 1e-20), 3, d2) == 0.0


@pytest.mark.parametrize("n_chains", [1, 2, 3, 4, 5])
def test_chain_grids_share_one_exponential_and_stay_exact(n_chains, rng):
    # chain_grid's chains start at c (q + b) / q: one exponential per pair serves
    # them all while the largest power 2q - 1 is at most MAX_SHARED_POWER (q <= 4);
    # q = 5 takes one exponential per chain. Either way within 1e-11 of brute force.
    from densest.kde._engine import MAX_SHARED_POWER, _shared_power

    hs = bandwidth.chain_grid(3.0, n_grid=10 * n_chains, n_chains=n_chains)
    c = 0.5 / hs**2
    expected_c = c[0] * np.outer(2.0 ** np.arange(10), (n_chains + np.arange(n_chains)) / n_chains)
    np.testing.assert_allclose(c, expected_c.ravel(), rtol=1e-14)
    c_bases, n_levels, _ = bandwidth._as_chains(hs)
    shared = _shared_power(c_bases)
    assert shared == (n_chains if 2 * n_chains - 1 <= MAX_SHARED_POWER else 0)
    assert _shared_power(c_bases * (1.0 + 1e-9 * np.arange(n_chains))) == (n_chains == 1)
    X = rng.standard_normal((300, 3)) * [0.5, 1.0, 2.0]
    w = rng.uniform(0.2, 3.0, 300)
    np.testing.assert_allclose(bandwidth.loo_log_likelihood(X, hs, w), brute_force_loo(X, hs, w),
                               rtol=0, atol=1e-11)  # fmt: skip


def test_chain_detection():
    grid = bandwidth.chain_grid(1.0, n_grid=12, n_chains=4)
    chains = bandwidth._as_chains(grid[::-1].copy())
    assert chains is not None
    c_bases, n_levels, order = chains
    assert (len(c_bases), n_levels) == (4, 3)
    np.testing.assert_allclose(0.5 / grid[::-1][order] ** 2,
                               c_bases[:, None] * 2.0 ** np.arange(3), rtol=1e-14)  # fmt: skip
    assert bandwidth._as_chains(np.geomspace(0.1, 1.0, 12)) is None
    assert bandwidth._as_chains(grid * (1 + 1e-9 * np.arange(12))) is None
    with pytest.raises(ValueError, match="multiple of n_chains"):
        bandwidth.chain_grid(1.0, n_grid=10, n_chains=3)
    for h_max in (-1.0, 0.0, np.nan, np.inf, 1e-300, 1e300):
        with pytest.raises(ValueError, match="h_max"):
            bandwidth.chain_grid(h_max)
    with pytest.raises(ValueError, match="positive integers"):
        bandwidth.chain_grid(1.0, n_grid=30, n_chains=0)


@pytest.mark.parametrize("bad, match", [([-1.0], "positive finite"), ([0.0], "positive finite"),
                                        ([np.nan], "positive finite"), ([np.inf], "positive finite"),
                                        ([], "empty"), ([1e-300], "float64 range"),
                                        ([0.5, 1e200], "float64 range")])  # fmt: skip
def test_loo_rejects_bad_bandwidths(bad, match, rng):
    # 1e-300 made 1 / (2 h^2) overflow (-inf log-likelihoods and warnings), 1e200 made h^2 overflow
    with pytest.raises(ValueError, match=match):
        bandwidth.loo_log_likelihood(rng.standard_normal((30, 2)), bad)


def test_bandwidth_range_ends_are_exact(rng):
    # At h = 1e-150 only a point's own term counts; at 1e150 every kernel value is 1.
    X = rng.standard_normal((20, 3))
    for h in (bandwidth.MIN_BANDWIDTH, bandwidth.MAX_BANDWIDTH):
        ll = bandwidth.loo_log_likelihood(X, [h])
        assert np.isfinite(ll).all()
    kde = KernelDensity(bandwidth=bandwidth.MIN_BANDWIDTH).fit(X)
    expected = -np.log(20) - 1.5 * np.log(2 * np.pi * bandwidth.MIN_BANDWIDTH**2)
    np.testing.assert_allclose(kde.score_samples(X), expected, rtol=1e-13)
    kde = KernelDensity(bandwidth=bandwidth.MAX_BANDWIDTH).fit(X)
    expected = -1.5 * np.log(2 * np.pi * bandwidth.MAX_BANDWIDTH**2)
    np.testing.assert_allclose(kde.score_samples(X), expected, rtol=1e-13)


@pytest.mark.parametrize("rule", sorted(bandwidth.RULES) + ["loo_log_likelihood"])
@pytest.mark.parametrize("bad, match", [(np.full(30, -1.0), "finite and positive"),
                                        (np.zeros(30), "finite and positive"),
                                        (np.r_[np.nan, np.ones(29)], "finite and positive"),
                                        (np.r_[np.inf, np.ones(29)], "finite and positive"),
                                        (np.ones(29), "shape"), (np.ones((30, 1)), "shape")])
def test_rules_reject_bad_weights(rule, bad, match, rng):
    X = rng.standard_normal((30, 2))
    bad_copy = bad.copy()
    with pytest.raises(ValueError, match=match):
        if rule == "loo_log_likelihood":
            bandwidth.loo_log_likelihood(X, [0.5, 1.0], bad)
        else:
            bandwidth.RULES[rule](X, bad)
    np.testing.assert_array_equal(bad, bad_copy)


def test_loo_off_a_chain_grid_or_with_extreme_weights_is_still_exact(rng):
    X = rng.standard_normal((120, 2))
    w = np.exp(rng.uniform(-80.0, 80.0, 120))  # weights spanning more than e^100
    hs = bandwidth.chain_grid(1.0, n_grid=6, n_chains=2)
    np.testing.assert_allclose(bandwidth.loo_log_likelihood(X, hs, w),
                               brute_force_loo(X, hs, w), rtol=0, atol=1e-10)  # fmt: skip
    hs = np.geomspace(0.1, 1.0, 5)
    np.testing.assert_allclose(bandwidth.loo_log_likelihood(X, hs),
                               brute_force_loo(X, hs, np.ones(120)), rtol=0, atol=1e-10)  # fmt: skip


def test_loo_subset_is_row_order_invariant(rng):
    X = rng.standard_normal((3000, 2))
    idx = bandwidth.query_subset(X, 500)
    perm = rng.permutation(3000)
    idx_perm = bandwidth.query_subset(X[perm], 500)
    np.testing.assert_array_equal(np.sort(perm[idx_perm]), idx)


def test_loo_bandwidth_is_near_the_argmax(rng):
    X = rng.standard_normal((400, 2))
    h = bandwidth.loo_bandwidth(X)
    grid = np.geomspace(h / 3, h * 3, 41)
    ll = bandwidth.loo_log_likelihood(X, grid)
    assert bandwidth.loo_log_likelihood(X, [h])[0] >= ll.max() - 1e-6


@pytest.mark.parametrize("kernel", ["tophat", "epanechnikov", "linear", "cosine"])
def test_loo_bandwidth_of_a_compact_kernel_covers_every_nearest_neighbour(kernel, rng):
    # The first grid tops out at 4 max(nn, silverman) = 2.01 here, below the largest
    # nearest-neighbour distance (2.34): every value leaves a point isolated (-inf),
    # so the grid must move up rather than give up.
    X = np.random.default_rng(1).standard_normal((300, 5))
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D2, np.inf)
    nn_max = math.sqrt(D2.min(1).max())
    assert 4 * max(bandwidth.nn_bandwidth(X), bandwidth.silverman_bandwidth(X)) < nn_max
    h = bandwidth.loo_bandwidth(X, kernel=kernel)
    assert h > nn_max
    ll = bandwidth.loo_log_likelihood(X, [h, 1.5 * h, 3.0 * h], kernel=kernel)
    assert np.isfinite(ll[0]) and ll[0] >= ll[1:].max()
    assert KernelDensity(kernel=kernel, bandwidth="loo").fit(X).bandwidth_ == h


def test_loo_bandwidth_warns_when_repeated_points_leave_no_maximum():
    # Each held-out point has nine exact copies: its leave-one-out density grows
    # without bound as h -> 0, so the grid runs off its small end.
    X = np.repeat(np.eye(2), 10, axis=0)
    with pytest.warns(UserWarning, match="still rises at the smallest bandwidth"):
        h = bandwidth.loo_bandwidth(X)
    assert h < 1e-3


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, None])
def test_rules_reject_a_bad_max_queries(bad, rng):
    X = rng.standard_normal((30, 2))
    with pytest.raises(ValueError, match="max_queries must be a positive integer"):
        bandwidth.nn_bandwidth(X, max_queries=bad)
    with pytest.raises(ValueError, match="max_queries must be a positive integer"):
        bandwidth.loo_log_likelihood(X, [1.0], max_queries=bad)


@pytest.mark.parametrize("bad", [[], [0.0, 0.0], [1.0, np.nan], [1.0, -1.0], [[1.0, 2.0]]])
def test_effective_n_rejects_bad_weights(bad):
    with pytest.raises(ValueError, match="finite non-negative weights"):
        bandwidth.effective_n(bad)


def test_regime_values_match_the_derivation():
    # alpha = 0.1: u* = 0.6527 solves u^2 - u - log u = 0.2
    r = regimes.gaussian_regimes(math.exp(10.0), np.ones(100))
    u = 0.6527
    assert u * u - u - math.log(u) == pytest.approx(0.2, abs=1e-4)
    assert r.h_g == pytest.approx(math.sqrt(u / (1 - u)), rel=1e-3)
    assert r.h_opt == pytest.approx(math.sqrt(u * (1 + u)), rel=1e-3)
    assert r.h_clt == pytest.approx(math.sqrt(2) * r.h_g)
    assert r.kl_min_per_dim == pytest.approx(0.5 * (math.log(1 + u) - u + u * u), abs=1e-4)
    assert r.regime(0.5) == "condensed" and r.regime(1.5) == "heavy-tailed" and r.regime(3) == "CLT"


def test_regimes_scale_with_the_variances():
    a = regimes.gaussian_regimes(1e4, np.ones(50))
    b = regimes.gaussian_regimes(1e4, 9.0 * np.ones(50))
    assert b.h_g == pytest.approx(3 * a.h_g) and b.h_opt == pytest.approx(3 * a.h_opt)
    kl = regimes.gaussian_kl_per_dim(np.geomspace(0.3, 5, 200), 1e4, np.ones(50))
    assert np.geomspace(0.3, 5, 200)[np.argmin(kl)] == pytest.approx(a.h_opt, rel=0.02)
    with pytest.raises(ValueError, match="positive"):
        regimes.gaussian_regimes(100, [1.0, 0.0])


def test_kl_per_dim_is_the_closed_form_and_finite_at_the_float64_ends():
    v, n = np.array([0.5, 1.0, 4.0]), 1e4
    r = regimes.gaussian_regimes(n, v)
    h = np.geomspace(0.05, 20, 50)
    h2 = h[:, None] ** 2
    entropy = 0.5 * np.mean(np.log(2 * np.pi * np.e * v))
    annealed = np.mean(0.5 * np.log(2 * np.pi * (v + h2)) + v / (2 * (v + h2)), axis=1) - entropy
    condensed = 0.5 * np.log(2 * np.pi * h**2) + r.h_opt**2 / (2 * h**2) + r.alpha - entropy
    expected = np.where(h >= r.h_g, annealed, condensed)
    np.testing.assert_allclose(regimes.gaussian_kl_per_dim(h, n, v), expected, rtol=1e-13, atol=1e-14)
    # h^2 left float64 there: NaN at 1e-300 (the limit is +inf), inf at 1e300 (the value is finite)
    assert regimes.gaussian_kl_per_dim(1e-300, n, v) == np.inf
    assert regimes.gaussian_kl_per_dim(1e300, n, v) == pytest.approx(
        0.5 * np.log(2 * np.pi) + np.log(1e300) - entropy, rel=1e-14)


@pytest.mark.parametrize("call, match", [
    (lambda: regimes.gaussian_kl_per_dim(-1.0, 100, [1.0]), "positive finite"),
    (lambda: regimes.gaussian_kl_per_dim([0.5, np.nan], 100, [1.0]), "positive finite"),
    (lambda: regimes.gaussian_regimes(100, [1.0]).regime(np.nan), "positive finite"),
    (lambda: regimes.gaussian_regimes(np.inf, [1.0]), "finite and > 1"),
    (lambda: regimes.gaussian_regimes(1e300, [1.0]), "float64 range"),
])  # fmt: skip
def test_regime_functions_reject_bad_values(call, match):
    # they returned a number for h = -1, called NaN 'CLT', or raised brentq's sign error
    with pytest.raises(ValueError, match=match):
        call()


def test_regimes_of_widely_spread_variances():
    # variances spanning 1e300 put the root outside brentq's old bracket (a raw sign error)
    a = regimes.gaussian_regimes(1e4, [1e300, 1.0])
    b = regimes.gaussian_regimes(1e4, [1e200, 1e-100])
    assert a.h_g == pytest.approx(1e50 * b.h_g, rel=1e-10)
    assert a.h_opt == pytest.approx(1e50 * b.h_opt, rel=1e-10)
    assert np.isfinite([a.h_g, a.h_opt, a.kl_min_per_dim]).all()


@pytest.mark.slow
def test_default_rule_near_kl_optimum_in_high_dimension():
    # d = 64, n = 4000 (alpha = 0.13): KL(h)/d = (E log p - E log p_hat(h))/d on fresh data.
    rng = np.random.default_rng(5)
    d, n = 64, 4000
    X, T = rng.standard_normal((n, d)), rng.standard_normal((2000, d))
    true_logp = stats.multivariate_normal(np.zeros(d)).logpdf(T).mean()

    def kl(h):
        return (true_logp - KernelDensity(bandwidth=h, n_jobs=-1).fit(X).score(T)) / d

    grid = np.geomspace(0.7, 1.6, 19)
    oracle = min(kl(h) for h in grid)
    default = KernelDensity(n_jobs=-1).fit(X)
    assert kl(default.bandwidth_) - oracle < 0.005
    scott = KernelDensity(bandwidth="scott").fit(X).bandwidth_
    assert kl(scott) - oracle > kl(default.bandwidth_) - oracle


def test_diagnose_reports_regimes(rng):
    X = rng.standard_normal((3000, 64))
    Q = rng.standard_normal((200, 64))
    low = KernelDensity(bandwidth=0.5).fit(X).diagnose(Q)
    high = KernelDensity(bandwidth=4.0).fit(X).diagnose(Q)
    assert low["regime"] == "condensed" and low["regime_measured"] == "condensed"
    assert low["n_effective_median"] < 1.5
    assert high["regime"] == "CLT" and high["n_effective_median"] > 100
    assert high["regime_measured"] == "spread"
    with pytest.raises(ValueError, match="Gaussian"):
        KernelDensity(kernel="tophat").fit(X).diagnose(Q)
    # one training point: the error named a bandwidth rule the user had not asked for
    with pytest.raises(ValueError, match="more than one effective training point"):
        KernelDensity(bandwidth=1.0).fit(X[:1]).diagnose(Q)


def test_score_samples_dask_in_process_cluster(rng):
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    X = rng.standard_normal((300, 4))
    kde = KernelDensity(bandwidth=0.6).fit(X)
    Q = rng.standard_normal((1000, 4))
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:  # fmt: skip
        with distributed.Client(cluster):
            lazy = score_samples_dask(kde, da.from_array(Q, chunks=(128, 2)))
            np.testing.assert_allclose(lazy.compute(), kde.score_samples(Q), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="2-D"):
        score_samples_dask(kde, da.ones(5))
    with pytest.raises(NotFittedError):  # at once, not when the graph is computed
        score_samples_dask(KernelDensity(), da.from_array(Q))


def test_combining_parts_rejects_nan_and_keeps_zero_densities():
    from densest.kde import combine_partial_log_densities

    out = combine_partial_log_densities([[-np.inf, 0.0], [-np.inf, -1.0]], [1, 2])
    assert out[0] == -np.inf and np.isfinite(out[1])
    for bad in (np.nan, np.inf):
        with pytest.raises(ValueError, match="NaN or \\+inf"):
            combine_partial_log_densities([[bad, 0.0], [0.0, -1.0]], [1, 2])
    with pytest.raises(ValueError, match="lengths differ"):  # numpy's 'inhomogeneous shape' error before
        combine_partial_log_densities([[0.0, 0.0], [0.0]], [1, 2])


@pytest.mark.parametrize("rule", ["nn", "scott", "silverman", "gauss-kl", "loo", "auto"])
def test_rules_reject_non_finite_data(rule, rng):
    X = rng.standard_normal((20, 2))
    for bad in (np.nan, np.inf):
        X_bad = X.copy()
        X_bad[3, 1] = bad
        with pytest.raises(ValueError, match="finite"):
            bandwidth.RULES[rule](X_bad)
    with pytest.raises(ValueError, match="finite"):
        bandwidth.loo_log_likelihood(X_bad, [0.5])
    # read as KernelDensity reads them: booleans and object arrays of numbers were refused
    # as "non-numbers", complex values were cast with a numpy warning
    expected = bandwidth.RULES[rule](X.astype(object).astype(float))
    assert bandwidth.RULES[rule](X.astype(object)) == expected
    assert bandwidth.RULES[rule](X > 0) == bandwidth.RULES[rule]((X > 0).astype(float))
    with pytest.raises(ValueError, match="[Cc]omplex"):
        bandwidth.RULES[rule](X.astype(complex))
