"""LeastSquaresAR on series: statsmodels parity, selection, forecasting, sklearn tooling, bad input."""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit, cross_val_score

from densest.ar import LeastSquaresAR
from densest.datasets import make_ar_process, random_ar_coefficients

sm_ar = pytest.importorskip("statsmodels.tsa.ar_model")
sm_lm = pytest.importorskip("statsmodels.regression.linear_model")


def quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


def series(seed, n=1500, coef=(0.5, -0.3, 0.1), intercept=1.5):
    return make_ar_process(list(coef), n, intercept=intercept, random_state=seed)


@pytest.mark.parametrize("trend", ["c", "n"])
@pytest.mark.parametrize("order", [1, 3, 25])
def test_fit_forecast_and_criteria_equal_autoreg(trend, order):
    y = series(0)
    res = quiet(sm_ar.AutoReg, y, lags=order, trend=trend).fit()
    model = LeastSquaresAR(order, trend=trend).fit(y)
    params = np.concatenate([[model.intercept_], model.coef_]) if trend == "c" else model.coef_
    np.testing.assert_allclose(params, res.params, rtol=0, atol=1e-10)
    np.testing.assert_allclose(model.forecast(12), res.forecast(12), rtol=0, atol=1e-10)
    for ours, theirs in [("sigma2_", "sigma2"), ("llf_", "llf"), ("aic_", "aic"), ("bic_", "bic"),
                         ("hqic_", "hqic")]:  # fmt: skip
        assert getattr(model, ours) == pytest.approx(getattr(res, theirs), rel=1e-10)
    assert model.n_obs_ == res.nobs
    pred = model.predict(y)
    assert np.all(np.isnan(pred[:order]))
    np.testing.assert_allclose(pred[order:], res.fittedvalues, rtol=0, atol=1e-10)
    assert model.score(y) == pytest.approx(r2_score(y[order:], res.fittedvalues), rel=1e-12)


@pytest.mark.slow
@settings(max_examples=200)
@given(seed=st.integers(0, 2**31 - 1), order=st.integers(1, 6),
       criterion=st.sampled_from(["aic", "bic", "hqic"]))  # fmt: skip
def test_selected_order_equals_ar_select_order(seed, order, criterion):
    coef = random_ar_coefficients(order, random_state=seed)
    y = make_ar_process(coef, 600, random_state=seed)
    model = LeastSquaresAR(criterion, max_order=8).fit(y)
    selected = quiet(sm_ar.ar_select_order, y, 8, ic=criterion, trend="c", glob=False)
    assert model.order_ == max(selected.ar_lags or [0])
    res = selected.model.fit()
    np.testing.assert_allclose(np.concatenate([[model.intercept_], model.coef_]), res.params,
                               rtol=0, atol=1e-10)  # fmt: skip
    assert set(model.ic_path_) == {"aic", "bic", "hqic"}
    assert model.ic_path_[criterion].shape == (9,)


def test_yule_walker_and_burg_methods_equal_statsmodels():
    y = series(1)
    yw = LeastSquaresAR(4, method="yule_walker").fit(y)
    rho, sigma = quiet(sm_lm.yule_walker, y, 4, method="adjusted")
    np.testing.assert_allclose(yw.coef_, rho, rtol=0, atol=1e-10)
    assert yw.sigma2_ == pytest.approx(sigma**2, rel=1e-10)
    assert yw.intercept_ == pytest.approx(y.mean() * (1 - rho.sum()), rel=1e-10)
    burg = LeastSquaresAR(4, method="burg").fit(y)
    rho, sigma2 = sm_lm.burg(y, 4)
    np.testing.assert_allclose(burg.coef_, rho, rtol=0, atol=1e-8)
    assert burg.sigma2_ == pytest.approx(sigma2, rel=1e-8)


def test_missing_values_drop_only_the_windows_that_contain_them():
    y = series(2, n=600)
    y[[40, 41, 300]] = np.nan
    model = LeastSquaresAR(3).fit(y)
    rows = np.lib.stride_tricks.sliding_window_view(y, 4)
    rows = rows[np.all(np.isfinite(rows), axis=1)]
    X = np.column_stack([np.ones(len(rows)), rows[:, 2::-1]])
    expected = np.linalg.lstsq(X, rows[:, 3], rcond=None)[0]
    np.testing.assert_allclose(np.concatenate([[model.intercept_], model.coef_]), expected,
                               rtol=0, atol=1e-10)  # fmt: skip
    assert model.n_obs_ == len(rows)
    pred = model.predict(y)
    assert np.isnan(pred[[41, 42, 43, 44]]).all()  # a lag is missing
    assert np.isfinite(pred[[40, 45]]).all()  # the target is missing, the lags are not
    with pytest.raises(ValueError, match="without missing values"):
        LeastSquaresAR(3, method="burg").fit(y)


def test_grid_search_over_time_series_splits_clone_and_pickle():
    y = series(3, n=2000)
    search = GridSearchCV(LeastSquaresAR(), {"order": [1, 3, 8]}, cv=TimeSeriesSplit(4)).fit(y)
    assert search.best_params_["order"] in (3, 8)
    scores = cross_val_score(LeastSquaresAR(3), y, cv=TimeSeriesSplit(3))
    assert np.all(scores > 0.05)  # one-step R^2 of this AR(3) is about 0.17
    model = LeastSquaresAR(3).fit(y)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.forecast(5), model.forecast(5))
    assert clone(model).get_params() == model.get_params()


def test_forecast_from_a_given_history_and_from_an_embedding_fit():
    y = series(4)
    model = LeastSquaresAR(3).fit(y)
    np.testing.assert_allclose(model.forecast(4, y=y[:500]),
                               LeastSquaresAR(3).fit(y).forecast(4, y=y[:500]))  # fmt: skip
    one_step = model.forecast(1, y=y[:500])[0]
    assert one_step == pytest.approx(model.predict(y[:501])[500])
    X = np.lib.stride_tricks.sliding_window_view(y, 4)[:, 2::-1]
    emb = LeastSquaresAR(3).fit(X, y[3:])
    np.testing.assert_allclose(emb.coef_, model.coef_, rtol=0, atol=1e-10)
    with pytest.raises(ValueError, match="pass the history"):
        emb.forecast(2)
    np.testing.assert_allclose(emb.forecast(2, y=y), model.forecast(2), rtol=0, atol=1e-10)


@pytest.mark.parametrize(
    ("y", "params", "match"),
    [
        (np.arange(4.0), {"order": 3}, "needs at least 5"),
        (np.full(50, 2.0), {"order": 2}, "collinear"),
        (np.full(50, 2.0), {"order": 2, "method": "burg"}, "constant"),
        (np.where(np.arange(60) % 3 == 0, np.nan, 1.0), {"order": 2}, "windows"),
        (np.r_[np.ones(10), np.inf], {}, "inf"),
        (np.ones((10, 2)), {}, "requires y"),
        (np.ones((4, 3, 2)), {}, "1-D series"),
        (np.array(["a", "b", "c"]), {}, "numeric"),
    ],
)
def test_bad_series_get_clear_errors(y, params, match):
    with pytest.raises(ValueError, match=match):
        LeastSquaresAR(**params).fit(y)


def test_bad_parameters_and_forecast_arguments():
    with pytest.raises(ValueError, match="order"):
        LeastSquaresAR(0).fit(series(5))
    model = LeastSquaresAR(2).fit(series(5))
    with pytest.raises(ValueError, match="steps"):
        model.forecast(0)
    with pytest.raises(ValueError, match="end with 2 non-missing"):
        model.forecast(3, y=[1.0, np.nan])
    with pytest.raises(ValueError, match="order \\+ 2"):
        model.score(np.ones(3))


def test_the_series_is_not_modified():
    y = series(6)
    y[10] = np.nan
    before = y.copy()
    model = LeastSquaresAR("aic").fit(y)
    model.predict(y)
    model.score(y)
    np.testing.assert_array_equal(y, before)


@pytest.mark.parametrize("trend, order", [("c", 3), ("n", 1), ("c", 12)])
def test_forecast_interval_equals_autoreg(trend, order):
    from statsmodels.tsa.ar_model import AutoReg

    y = 2.0 + make_ar_process([0.6, -0.2, 0.1], 3000, random_state=order)
    ours = LeastSquaresAR(order, trend=trend).fit(y)
    ref = AutoReg(y, lags=order, trend=trend).fit().get_prediction(start=y.size, end=y.size + 9)
    mean, lower, upper = ours.forecast_interval(10, coverage=0.9)
    np.testing.assert_allclose(mean, ref.predicted_mean, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(np.column_stack([lower, upper]), ref.conf_int(alpha=0.1), rtol=1e-9, atol=1e-9)


def test_forecast_interval_errors_and_width():
    model = LeastSquaresAR(2).fit(make_ar_process([0.5, 0.2], 500, random_state=0))
    for coverage in [0.0, 1.0, 1.5]:
        with pytest.raises(ValueError, match="coverage"):
            model.forecast_interval(3, coverage=coverage)
    _, lower, upper = model.forecast_interval(20)
    assert np.all(np.diff(upper - lower) >= 0)  # the error variance grows with the horizon


def _linear_ars():
    from densest.ar import ARNet, SparseAR

    return [LeastSquaresAR(2), LeastSquaresAR(2, method="burg"), SparseAR(order=4),
            ARNet(order=2, n_epochs=5, random_state=0)]  # fmt: skip


@pytest.mark.parametrize("estimator", _linear_ars(), ids=lambda e: type(e).__name__)
def test_scale_does_not_change_the_coefficients_and_extreme_scales_are_refused(estimator):
    # Coefficients are scale-free; the intercept and innovation variance scale with
    # the series. Beyond 1e140 (or a spread below 1e-140) sums of squares leave the
    # float64 range: fits used to return NaN or call the series constant.
    if type(estimator).__name__ == "ARNet":
        pytest.importorskip("torch")
    y = series(3, n=400)
    base = clone(estimator).fit(y)
    for factor in (1e-100, 1e100):
        scaled = clone(estimator).fit(y * factor)
        np.testing.assert_allclose(scaled.coef_, base.coef_, rtol=1e-9, atol=1e-12)
        assert scaled.intercept_ == pytest.approx(base.intercept_ * factor, rel=1e-9)
        assert scaled.sigma2_ == pytest.approx(base.sigma2_ * factor**2, rel=1e-9)
    for factor in (1e-170, 1e170):
        with pytest.raises(ValueError, match="rescale it"):
            clone(estimator).fit(y * factor)
        lags, targets = np.lib.stride_tricks.sliding_window_view(y, 3)[:, 1::-1], y[2:]
        with pytest.raises(ValueError, match="rescale it"):
            clone(estimator).fit(lags * factor, targets * factor)


@pytest.mark.parametrize("Estimator", ["LeastSquaresAR", "SparseAR"])
def test_object_and_pandas_nullable_series_read_as_floats(Estimator):
    # They raised "must be numeric"; scikit-learn's check_array reads both as floats,
    # and pd.NA is a missing value like NaN.
    pd = pytest.importorskip("pandas")
    import densest.ar

    make = getattr(densest.ar, Estimator)
    y = make_ar_process([0.5, -0.3], 300, random_state=0)
    y_nan = y.copy()
    y_nan[10] = np.nan
    with_na = pd.Series(y_nan).astype("Float64")
    assert with_na.isna().sum() == 1
    expected = make(order=2).fit(y_nan).coef_
    np.testing.assert_array_equal(make(order=2).fit(with_na).coef_, expected)
    np.testing.assert_array_equal(make(order=2).fit(y.astype(object)).coef_, make(order=2).fit(y).coef_)
    model = make(order=2).fit(y)
    np.testing.assert_array_equal(model.predict(with_na), model.predict(y_nan))
    with pytest.raises(ValueError, match="numeric"):
        make(order=2).fit(np.array([1.0, "x"] * 20, dtype=object))
