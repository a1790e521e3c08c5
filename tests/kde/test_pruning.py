"""k-d tree order and skipped tiles: the low-dimensional engine stays exact."""

import itertools
import math

import numba
import numpy as np
import pytest
from scipy.special import logsumexp

from densest.kde import bandwidth
from densest.kde._engine import log_sum_exp_chains, log_sum_exp_terms, spatial_order
from densest.kde._kernels import GAUSSIAN, SKIP_NATS, SWEEP_EXP_ERROR, TOPHAT, _negligible


def clusters(rng, n_clusters, size, d, spread=0.05, lattice=False):
    if lattice:  # centres at least 1 apart
        side = math.ceil(n_clusters ** (1.0 / d) - 1e-9)
        centres = np.array(list(itertools.product(range(side), repeat=d))[:n_clusters], float)
    else:
        centres = rng.uniform(-5.0, 5.0, (n_clusters, d))
    X = np.repeat(centres, size, axis=0) + spread * rng.standard_normal((n_clusters * size, d))
    labels = np.repeat(np.arange(n_clusters), size)
    perm = rng.permutation(len(X))
    return X[perm], labels[perm]


@pytest.mark.parametrize("d", [1, 2, 5])
def test_spatial_order_puts_each_cluster_in_its_own_leaf(d, rng):
    X, labels = clusters(rng, 16, 32, d, spread=1e-3, lattice=True)
    order = spatial_order(X, 32)
    assert np.array_equal(np.sort(order), np.arange(len(X)))
    leaves = labels[order].reshape(16, 32)
    assert np.all(leaves == leaves[:, :1])


def test_spatial_order_with_ties_and_ragged_leaves(rng):
    for X in (np.zeros((1000, 2)), rng.integers(0, 3, (1001, 3)).astype(np.float32)):
        order = spatial_order(X, 64)
        assert np.array_equal(np.sort(order), np.arange(len(X)))
    X = rng.standard_normal((1000, 2))
    order = spatial_order(X, 100)
    # a split at a multiple of the leaf: the leaves' x- or y-ranges do not interleave
    # with their sibling's, so every leaf's box holds about 10 % of the points.
    boxes = [(X[order[i:i + 100]].min(0), X[order[i:i + 100]].max(0)) for i in range(0, 1000, 100)]
    inside = [np.all((X >= lo) & (X <= hi), axis=1).sum() for lo, hi in boxes]
    assert inside == [100] * 10


@numba.njit
def negligible(M, S, cs, kernel, gap2, lw_top):
    return _negligible(M, S, 0, M.shape[0], cs[0], 0, kernel, gap2, lw_top)


def test_skip_rule():
    # Two queries whose sums so far are e^0 and e^-5: a tile with terms up to
    # lw_top - c gap2 is skipped only when that is SKIP_NATS below both.
    M = np.array([[0.0], [-5.0]])
    S = np.ones((2, 1))
    cs = np.array([0.5])
    margin = -5.0 - SKIP_NATS
    assert negligible(M, S, cs, GAUSSIAN, 2.0 * (1.1 - margin), 1.0)
    assert not negligible(M, S, cs, GAUSSIAN, 2.0 * (-0.1 - margin), 0.0)
    assert not negligible(M, S, cs, GAUSSIAN, 1e6, 1e6 - 0.1)  # a heavy far tile
    assert negligible(M, S, cs, TOPHAT, 1.0, 50.0)  # beyond the support: exactly zero
    assert not negligible(M, S, cs, TOPHAT, 0.99, margin + 1.0)  # inside: the weight decides
    S[1, 0] = 0.0  # a query with nothing yet bounds nothing
    assert not negligible(M, S, cs, GAUSSIAN, 1e6, 0.0)


@pytest.mark.parametrize("kernel", ["gaussian", "tophat", "epanechnikov", "exponential"])
def test_pruned_sums_are_exact_on_clustered_weighted_data(kernel, rng):
    # Tight clusters and a small bandwidth, so most tiles are skipped; one cluster
    # weighs e^60 more, so far tiles holding it must not be; leave-one-out rows.
    X, labels = clusters(rng, 12, 40, 2)
    logw = rng.uniform(-1.0, 1.0, len(X)) + 60.0 * (labels == 0)
    Q = np.vstack([X[:200], rng.uniform(-5.0, 5.0, (50, 2))])
    own = np.concatenate([np.arange(200), np.full(50, -1)])
    hs = np.array([0.05, 0.4])
    if kernel != "gaussian":
        hs = hs * 4.0
    results = []
    for prune in (True, False):
        M, S, _ = log_sum_exp_terms(Q, X, (X * X).sum(1), logw, hs, kernel, self_index=own,
                                    block_size=4, prune=prune)  # fmt: skip
        with np.errstate(divide="ignore"):  # queries beyond every compact support
            results.append(M + np.log(S))
    D2 = ((Q[:, None] - X[None]) ** 2).sum(-1)
    D2[np.arange(200), own[:200]] = np.inf
    for k, h in enumerate(hs):
        r2 = D2 / h**2
        with np.errstate(divide="ignore", invalid="ignore"):
            log_k = {
                "gaussian": -0.5 * r2,
                "tophat": np.where(r2 < 1, 0.0, -np.inf),
                "epanechnikov": np.log1p(-np.minimum(r2, 1)),
                "exponential": -np.sqrt(r2),
            }[kernel]
        expected = logsumexp(log_k + logw, axis=1)
        for got in results:
            np.testing.assert_allclose(got[:, k], expected, rtol=0, atol=1e-10)
    assert np.isfinite(results[0][:200]).all()


def test_pruned_sums_keep_the_effective_number_of_points(rng):
    X, _ = clusters(rng, 12, 40, 3)
    Q = rng.uniform(-5.0, 5.0, (60, 3))
    out = [log_sum_exp_terms(Q, X, (X * X).sum(1), np.zeros(len(X)), np.array([0.3]), "gaussian",
                             want_s2=True, block_size=4, prune=prune) for prune in (True, False)]  # fmt: skip
    (M1, S1, T1), (M0, S0, T0) = out
    # Other tile orders, other references: each term within SWEEP_EXP_ERROR (relative).
    np.testing.assert_allclose(M1 + np.log(S1), M0 + np.log(S0), rtol=0, atol=2 * SWEEP_EXP_ERROR)
    np.testing.assert_allclose(S1**2 / T1, S0**2 / T0, rtol=4 * SWEEP_EXP_ERROR)  # S^2 and S2: 2 errors each


def test_pruned_chains_are_the_brute_force_leave_one_out(rng):
    X, labels = clusters(rng, 10, 50, 2)
    w = np.exp(rng.uniform(-2.0, 2.0, len(X)) + 30.0 * (labels == 3))
    hs = bandwidth.chain_grid(0.5)
    c_bases, n_levels, order = bandwidth._as_chains(hs)
    index = np.arange(len(X))
    got = {prune: log_sum_exp_chains(X, X, (X * X).sum(1), np.log(w), c_bases, n_levels,
                                     self_index=index, block_size=4, prune=prune)  # fmt: skip
           for prune in (True, False)}
    D2 = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(D2, np.inf)
    cs = c_bases[:, None] * 2.0 ** np.arange(n_levels)
    expected = logsumexp(np.log(w)[None, None, None, :] - cs[None, :, :, None] * D2[:, None, None, :],
                         axis=-1)  # fmt: skip
    for out in got.values():
        np.testing.assert_allclose(out, expected, rtol=0, atol=1e-11)


def test_reference_tiles_built_once_serve_every_call(rng):
    from densest.kde import KernelDensity
    from densest.kde._engine import reference_tiles

    X, _ = clusters(rng, 12, 40, 2)
    Q = rng.uniform(-5.0, 5.0, (300, 2))
    logw = rng.uniform(-1.0, 1.0, len(X))
    ysq = (X * X).sum(1)
    tiles = reference_tiles(X, ysq, logw, block_size=4)
    hs = np.array([0.1, 0.5])
    for half in (Q[:150], Q[150:]):
        got = log_sum_exp_terms(half, X, ysq, logw, hs, "gaussian", block_size=4, tiles=tiles)
        fresh = log_sum_exp_terms(half, X, ysq, logw, hs, "gaussian", block_size=4)
        for a, b in zip(got, fresh):
            np.testing.assert_array_equal(a, b)
    # tiles made for other settings are not used: block_size changed after fit
    kde = KernelDensity(bandwidth=0.3).fit(X)
    kde.set_params(block_size=3)
    expected = KernelDensity(bandwidth=0.3, block_size=3).fit(X).score_samples(Q)
    np.testing.assert_array_equal(kde.score_samples(Q), expected)
    progress = KernelDensity(bandwidth=0.3, progress=True).fit(X).score_samples(Q)
    # other tiles (block_size 3), so other references: see SWEEP_EXP_ERROR
    np.testing.assert_allclose(progress, kde.score_samples(Q), rtol=0, atol=2 * SWEEP_EXP_ERROR)
