"""SparseAR: the adaptive lasso on the lag Gram against scikit-learn's Lasso, and lag recovery."""

import numpy as np
import pytest
from sklearn.linear_model import Lasso

from densest.ar import LeastSquaresAR, SparseAR
from densest.datasets import make_ar_process

SPARSE_COEF = [0.2, 0.3, -0.5]  # the AR-Net paper's sparse setting


def lag_matrix(y, order):
    rows = np.lib.stride_tricks.sliding_window_view(y, order + 1)
    return rows[:, order - 1::-1], rows[:, order]


def stpe(estimate, true):
    return 100 * np.abs(estimate - true).sum() / (np.abs(estimate) + np.abs(true)).sum()


@pytest.mark.parametrize("gamma", [0.0, 1.0])
@pytest.mark.parametrize("trend", ["c", "n"])
def test_fixed_penalty_equals_sklearn_lasso_on_the_scaled_lag_matrix(gamma, trend):
    y = make_ar_process([0.5, -0.2, 0.1], 3000, intercept=0.5 if trend == "c" else 0.0, random_state=0)
    order, alpha = 8, 0.03
    X, target = lag_matrix(y, order)
    weights = np.ones(order)
    if gamma:
        ols = LeastSquaresAR(order, trend=trend).fit(y).coef_
        weights = np.abs(ols) ** -gamma
    ref = Lasso(alpha=alpha, fit_intercept=trend == "c", tol=1e-14, max_iter=100_000)
    ref.fit(X / weights, target)
    model = SparseAR(order, alpha=alpha, gamma=gamma, refit=False, trend=trend).fit(y)
    np.testing.assert_allclose(model.coef_, ref.coef_ / weights, rtol=0, atol=1e-8)
    assert model.intercept_ == pytest.approx(ref.intercept_ if trend == "c" else 0.0, abs=1e-8)
    assert 0 < len(model.support_) < order


def test_refit_is_least_squares_on_the_kept_lags():
    y = make_ar_process(SPARSE_COEF, 5000, intercept=1.0, random_state=1)
    model = SparseAR(12).fit(y)
    X, target = lag_matrix(y, 12)
    kept = model.support_ - 1
    design = np.column_stack([np.ones(len(X)), X[:, kept]])
    expected = np.linalg.lstsq(design, target, rcond=None)[0]
    np.testing.assert_allclose(model.coef_[kept], expected[1:], rtol=0, atol=1e-10)
    assert model.intercept_ == pytest.approx(expected[0], abs=1e-10)
    assert np.all(np.delete(model.coef_, kept) == 0.0)


@pytest.mark.parametrize("order", [3, 10, 100])
def test_recovers_the_true_lags_in_the_paper_sparse_setting(order):
    true = np.zeros(order)
    true[:3] = SPARSE_COEF
    for seed in range(3):
        y = make_ar_process(SPARSE_COEF, 20_000, random_state=seed)
        model = SparseAR(order).fit(y)
        np.testing.assert_array_equal(model.support_, [1, 2, 3])
        # n = 20 000: the oracle (least squares on lags 1-3) has sTPE ~2; dense least squares
        # at p = 100 ~30 (the paper's AR-Net, n = 100 000: 0.3-0.8).
        assert stpe(model.coef_, true) < 3.0
        if order == 100:
            assert stpe(LeastSquaresAR(order).fit(y).coef_, true) > 5 * stpe(model.coef_, true)


def test_missing_values_drop_windows_exactly():
    y = make_ar_process(SPARSE_COEF, 4000, random_state=2)
    y[[100, 2000, 2001]] = np.nan
    model = SparseAR(20).fit(y)
    np.testing.assert_array_equal(model.support_, [1, 2, 3])
    rows = np.lib.stride_tricks.sliding_window_view(y, 21)
    rows = rows[np.all(np.isfinite(rows), axis=1)]
    design = np.column_stack([np.ones(len(rows)), rows[:, 19:16:-1]])
    expected = np.linalg.lstsq(design, rows[:, 20], rcond=None)[0]
    np.testing.assert_allclose(model.coef_[:3], expected[1:], rtol=0, atol=1e-10)
    assert model.n_obs_ == len(rows)
    assert np.all(np.isfinite(model.forecast(5)))


def test_bad_input():
    with pytest.raises(ValueError, match="needs at least 12"):
        SparseAR(10).fit(np.arange(5.0))
    with pytest.raises(ValueError, match="requires y"):
        SparseAR().fit(np.ones((20, 3)))
    with pytest.raises(ValueError, match="constant series"):
        SparseAR(3).fit(np.r_[np.ones(30), np.nan])
    with pytest.raises(ValueError, match="gamma"):
        SparseAR(gamma=-1.0).fit(np.arange(50.0))
    # A one-value path holds only the penalty that zeroes every lag.
    with pytest.raises(ValueError, match="n_alphas"):
        SparseAR(n_alphas=1).fit(np.arange(50.0))
