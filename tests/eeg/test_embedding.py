"""Delay embedding, auto mutual information and Cao's statistics against references."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import mutual_info_score

from densest.eeg import embedding


def literal_embedding(X, order, lag, n_drop):
    """Trial by trial, block by block, sample by sample."""
    n_trials, n_channels, n_times = X.shape
    width = n_times - n_drop
    out = np.empty((n_trials, order * n_channels, width))
    for i in range(n_trials):
        for k in range(order):
            for c in range(n_channels):
                for t in range(width):
                    out[i, k * n_channels + c, t] = X[i, c, t + k * lag]
    return out


@given(order=st.integers(1, 4), lag=st.integers(1, 3), extra=st.integers(0, 3))
def test_embedding_equals_literal_definition(order, lag, extra):
    X = np.random.default_rng(order * 10 + lag).standard_normal((2, 3, 20))
    for trim, n_drop in (("valid", (order - 1) * lag), ("moabb", 0 if order == 1 else order * lag),
                         ((order - 1) * lag + extra, (order - 1) * lag + extra)):  # fmt: skip
        np.testing.assert_array_equal(embedding.delay_embedding(X, order, lag, trim),
                                      literal_embedding(X, order, lag, n_drop))  # fmt: skip


def test_moabb_trim_equals_moabb_augmented_dataset():
    features = pytest.importorskip("moabb.pipelines.features")
    X = np.random.default_rng(0).standard_normal((4, 3, 50))
    for order in (1, 2, 3, 5):
        for lag in (1, 2, 4):
            expected = features.AugmentedDataset(order=order, lag=lag).fit(X, None).transform(X)
            np.testing.assert_array_equal(embedding.delay_embedding(X, order, lag, "moabb"), expected)


def test_embedding_errors():
    X = np.zeros((2, 3, 10))
    with pytest.raises(ValueError, match="3-D"):
        embedding.delay_embedding(X[0], 2, 1)
    with pytest.raises(ValueError, match="leaves"):
        embedding.delay_embedding(X, 6, 2)
    with pytest.raises(ValueError, match="at least"):
        embedding.delay_embedding(X, 3, 2, trim=3)
    with pytest.raises(ValueError, match="trim"):
        embedding.delay_embedding(X, 3, 2, trim="wrap")
    with pytest.raises(ValueError, match="positive integer"):
        embedding.delay_embedding(X, 0, 1)
    bad = X.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        embedding.delay_embedding(bad, 2, 1)


def test_mutual_information_equals_sklearn_on_the_same_bins():
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.standard_normal(400))
    n_bins = 8
    bins = np.minimum(((x - x.min()) / (x.max() - x.min()) * n_bins).astype(int), n_bins - 1)
    ami = embedding.auto_mutual_information(x[None, None, :], max_lag=5, n_bins=n_bins)
    for k in range(6):
        assert ami[k] == pytest.approx(mutual_info_score(bins[: len(x) - k], bins[k:]), abs=1e-12)


def test_mutual_information_is_averaged_over_series():
    X = np.random.default_rng(2).standard_normal((3, 2, 300))
    ami = embedding.auto_mutual_information(X, max_lag=4)
    each = [embedding.auto_mutual_information(X[i : i + 1, c : c + 1], max_lag=4)
            for i in range(3) for c in range(2)]  # fmt: skip
    np.testing.assert_allclose(ami, np.mean(each, axis=0), rtol=1e-12)


def test_lag_of_a_noisy_sine_is_a_quarter_period():
    rng = np.random.default_rng(3)
    t = np.arange(3000)
    for period in (20, 40, 60):
        X = np.sin(2 * np.pi * t / period) + 0.2 * rng.standard_normal((2, 1, t.size))
        assert abs(embedding.select_lag(X, max_lag=period) - period / 4) <= 1 + period / 20


def brute_force_cao(x, lag, max_dim, theiler):
    """Cao's E and E* by explicit delay vectors and maximum-norm distances."""
    ratio, gap = [], []
    for d in range(1, max_dim + 1):
        n = len(x) - d * lag
        vectors = np.array([[x[i + k * lag] for k in range(d)] for i in range(n)])
        ratios, gaps = [], []
        for i in range(n):
            dist = np.abs(vectors - vectors[i]).max(axis=1)
            allowed = (np.abs(np.arange(n) - i) > theiler) & (dist > 0)
            if not allowed.any():
                continue
            j = np.flatnonzero(allowed)[np.argmin(dist[allowed])]
            step = abs(x[i + d * lag] - x[j + d * lag])
            ratios.append(max(dist[j], step) / dist[j])
            gaps.append(step)
        ratio.append(np.mean(ratios))
        gap.append(np.mean(gaps))
    return np.array(ratio), np.array(gap)


@pytest.mark.parametrize("lag, theiler", [(1, 0), (2, 2), (3, 5)])
def test_cao_kernel_equals_brute_force(lag, theiler):
    x = np.round(np.cumsum(np.random.default_rng(lag).standard_normal(120)), 1)  # ties, as in EDF data
    ratio, gap = brute_force_cao(x, lag, 5, theiler)
    e1, e2 = embedding.cao_statistics(x[None, None, :], lag, max_order=4, theiler=theiler)
    np.testing.assert_allclose(e1, ratio[1:] / ratio[:-1], rtol=1e-12)
    np.testing.assert_allclose(e2, gap[1:] / gap[:-1], rtol=1e-12)


def test_cao_twins_equal_the_python_function():
    X = np.random.default_rng(4).standard_normal((3, 2, 80))
    series = np.ascontiguousarray(X.reshape(-1, 80))
    kernel = embedding._kernels.cao_sums
    expected = np.empty((6, 4)), np.empty((6, 4))
    kernel.py_func(series, 2, 2, *expected)
    for twin in (kernel.parallel, kernel.serial):
        got = np.empty((6, 4)), np.empty((6, 4))
        twin(series, 2, 2, *got)
        np.testing.assert_allclose(got[0], expected[0], rtol=1e-12)
        np.testing.assert_allclose(got[1], expected[1], rtol=1e-12)
    serial = embedding.cao_statistics(X, lag=2, max_order=3)
    parallel = embedding.cao_statistics(X, lag=2, max_order=3, n_jobs=2)
    np.testing.assert_allclose(parallel, serial, rtol=1e-12)


def lorenz_x(n=2000, dt=0.02):
    from scipy.integrate import solve_ivp

    def field(t, s):
        return [10 * (s[1] - s[0]), s[0] * (28 - s[2]) - s[1], s[0] * s[1] - 8 / 3 * s[2]]

    t = np.arange(0, (n + 500) * dt, dt)
    return solve_ivp(field, (0, t[-1]), [1.0, 1.0, 1.0], t_eval=t, rtol=1e-9, atol=1e-9).y[0, 500:]


def test_cao_saturates_at_three_or_four_for_lorenz_and_never_for_noise():
    # Lorenz's attractor (dimension 2.06) unfolds at d = 3; E1 is within 7 % of its
    # plateau there and within 2 % at d = 4 on 2000 points.
    x = lorenz_x()
    e1, _ = embedding.cao_statistics(x[None, None, :], lag=8, max_order=7)
    assert e1[2] > 0.85 and e1[3] > 0.93 and e1[1] < 0.6
    assert embedding.select_order(x[None, None, :], lag=8, max_order=8, tol=0.05) in (3, 4)
    noise = np.random.default_rng(5).standard_normal((1, 1, 1500))
    _, e2 = embedding.cao_statistics(noise, lag=1, max_order=6)
    np.testing.assert_allclose(e2, 1.0, atol=0.1)  # Cao's E2 test for randomness


@pytest.mark.parametrize("theiler", [-1, 1.5, "a", True])
def test_bad_theiler_window_is_named(theiler):
    X = np.random.default_rng(8).standard_normal((2, 2, 200))
    for call in (embedding.cao_statistics, embedding.select_order):
        with pytest.raises(ValueError, match="theiler must be a non-negative integer"):
            call(X, 2, 4, theiler=theiler)


def test_short_epochs_lower_the_searches():
    X = np.random.default_rng(6).standard_normal((4, 2, 30))
    assert 1 <= embedding.select_order(X, lag=3, max_order=12) <= 5
    assert 1 <= embedding.select_lag(X, max_lag=100) <= 28
    with pytest.raises(ValueError, match="too short"):
        embedding.cao_statistics(X, lag=3, max_order=12)


def test_prune_grid_keeps_the_smallest_values():
    X = np.random.default_rng(7).standard_normal((4, 2, 200))
    orders, lags = embedding.prune_grid(X, [3, 1, 8, 2], [1, 2, 30], max_lag=20, max_order=6)
    assert orders[0] == 1 and lags[0] == 1
    assert orders == sorted(orders) and set(lags) <= {1, 2}
