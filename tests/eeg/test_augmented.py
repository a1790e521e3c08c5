"""AugmentedCovariances against MOABB + pyRiemann and against np.cov of the literal embedding."""

import numpy as np
import pytest

pytest.importorskip("pyriemann")

from densest.eeg import AugmentedCovariances, embedding  # noqa: E402
from densest.eeg._augmented import augmented_covariances  # noqa: E402
from densest.exceptions import NotPositiveDefiniteError  # noqa: E402


def epochs(n_trials=6, n_channels=3, n_times=120, seed=0):
    return np.random.default_rng(seed).standard_normal((n_trials, n_channels, n_times))


def test_moabb_trim_equals_moabb_then_pyriemann_covariances():
    features = pytest.importorskip("moabb.pipelines.features")
    from pyriemann.estimation import Covariances

    X = epochs()
    for order in (1, 2, 4):
        for lag in (1, 3):
            augmented = features.AugmentedDataset(order=order, lag=lag).fit(X, None).transform(X)
            expected = Covariances("cov").fit_transform(augmented)
            ours = AugmentedCovariances(order, lag, trim="moabb").fit_transform(X)
            np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-12 * np.abs(expected).max())


@pytest.mark.parametrize("trim", ["valid", "moabb", 9])
def test_equals_numpy_covariance_of_the_literal_embedding(trim):
    X = epochs(seed=1)
    order, lag = 3, 3
    n_drop = embedding.n_dropped(order, lag, trim)
    covs = AugmentedCovariances(order, lag, trim=trim).fit_transform(X)
    for i, trial in enumerate(X):
        blocks = [trial[:, k * lag : k * lag + X.shape[2] - n_drop] for k in range(order)]
        np.testing.assert_allclose(covs[i], np.cov(np.vstack(blocks)), rtol=1e-12, atol=1e-14)


def test_smaller_orders_are_leading_blocks_in_a_common_window():
    X = epochs(seed=2)
    lag, largest = 2, 5
    window = embedding.n_dropped(largest, lag)
    full = augmented_covariances(X, largest, lag, "cov", window)
    for order in range(1, largest):
        dim = order * X.shape[1]
        np.testing.assert_allclose(augmented_covariances(X, order, lag, "cov", window), full[:, :dim, :dim],
                                   rtol=1e-13, atol=1e-15)  # fmt: skip


def test_blocks_are_lagged_cross_covariances():
    # Block (i, j) of the ACM is the covariance of x(t + i lag) and x(t + j lag).
    X = epochs(n_trials=1, seed=3)
    covs = AugmentedCovariances(order=3, lag=4).fit_transform(X)[0]
    width = X.shape[2] - 8
    c = X.shape[1]
    for i in range(3):
        for j in range(3):
            a, b = X[0, :, 4 * i : 4 * i + width], X[0, :, 4 * j : 4 * j + width]
            expected = np.cov(a, b)[:c, c:]
            np.testing.assert_allclose(covs[i * c : (i + 1) * c, j * c : (j + 1) * c], expected, rtol=1e-12)


def test_no_wrap_around_unlike_time_delay_covariances():
    # Late samples must not meet early ones: a spike at the end of an epoch
    # leaves the lagged block's first column pair untouched.
    X = epochs(n_trials=1, n_channels=1, n_times=50, seed=4)
    spiked = X.copy()
    spiked[0, 0, -1] += 1e3
    a = AugmentedCovariances(order=2, lag=1).fit_transform(X)[0]
    b = AugmentedCovariances(order=2, lag=1).fit_transform(spiked)[0]
    assert b[1, 1] > 1e3 * a[1, 1] and b[0, 0] == pytest.approx(a[0, 0])


def test_singular_dimensions_name_the_remedy():
    X = epochs(n_trials=2, n_channels=8, n_times=40)
    with pytest.raises(NotPositiveDefiniteError, match="shrinkage estimator.*smaller order"):
        AugmentedCovariances(order=5, lag=1).fit_transform(X)
    assert np.isfinite(AugmentedCovariances(order=5, lag=1, estimator="oas").fit_transform(X)).all()


def test_rank_deficient_epochs_name_the_remedy():
    X = epochs(n_trials=3)
    X[1, 2] = X[1, 0] + X[1, 1]  # a re-referenced (linearly dependent) channel in trial 1
    # NotPositiveDefiniteError (a ValueError) was documented but never raised
    with pytest.raises(NotPositiveDefiniteError, match=r"trial 1 .*not positive definite.*shrinkage"):
        AugmentedCovariances(order=2, lag=1).fit_transform(X)
    covs = AugmentedCovariances(order=2, lag=1, estimator="lwf").fit_transform(X)
    assert np.linalg.eigvalsh(covs).min() > 0


def test_auto_order_and_lag_come_from_training_data():
    rng = np.random.default_rng(5)
    t = np.arange(400)
    X = np.sin(2 * np.pi * t / 24.0) + 0.3 * rng.standard_normal((6, 2, t.size))
    acm = AugmentedCovariances(order="auto", lag="auto").fit(X)
    assert acm.lag_ == embedding.select_lag(X)
    assert acm.order_ == embedding.select_order(X, acm.lag_, max_order=10)
    assert acm.transform(X[:2]).shape == (2, 2 * acm.order_, 2 * acm.order_)
    assert acm.order == "auto" and acm.lag == "auto"


def test_errors():
    X = epochs()
    with pytest.raises(ValueError, match="estimator must be one of"):
        AugmentedCovariances(estimator="nope").fit(X)
    with pytest.raises(ValueError, match="leaves"):
        AugmentedCovariances(order=30, lag=5).fit_transform(X)
    with pytest.raises(ValueError, match="at least"):
        AugmentedCovariances(order=3, lag=2, trim=1).fit(X)
    with pytest.raises(ValueError, match="3-D"):
        AugmentedCovariances().fit(X[0])
    fitted = AugmentedCovariances().fit(X)
    with pytest.raises(ValueError, match="channels"):
        fitted.transform(X[:, :2])
    with pytest.raises(ValueError, match="dtype"):
        AugmentedCovariances().fit(X.astype(complex))


def test_float32_input_gives_float64_and_is_not_mutated():
    X = epochs().astype(np.float32)
    before = X.copy()
    covs = AugmentedCovariances(order=2).fit_transform(X)
    assert covs.dtype == np.float64
    np.testing.assert_array_equal(X, before)
    np.testing.assert_allclose(covs, AugmentedCovariances(order=2).fit_transform(X.astype(np.float64)))


@pytest.mark.parametrize("factor", [1e200, 1e-200])
def test_epochs_beyond_the_float64_square_range_name_the_remedy(factor):
    # Their covariances overflowed or underflowed, and the error blamed linear dependence.
    with pytest.raises(ValueError, match="rescale it"):
        AugmentedCovariances(order=2).fit_transform(epochs() * factor)


@pytest.mark.parametrize("factor", [1e-120, 1e120])
def test_covariances_scale_with_the_square_of_a_common_factor(factor):
    X = epochs()
    expected = AugmentedCovariances(order=2).fit_transform(X)
    got = AugmentedCovariances(order=2).fit_transform(X * factor) / factor**2
    np.testing.assert_allclose(got, expected, rtol=1e-12)
