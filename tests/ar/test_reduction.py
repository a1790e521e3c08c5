"""LagEmbedding, lag_matrix and LagRegressor against explicit constructions and LeastSquaresAR."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, TimeSeriesSplit
from sklearn.pipeline import make_pipeline

from densest.ar import LagEmbedding, LagRegressor, LeastSquaresAR, lag_matrix
from densest.datasets import make_ar_process


def gappy_series(seed=0, n=3000):
    y = 1.5 + make_ar_process([0.5, -0.3, 0.1], n, random_state=seed)
    y[np.random.default_rng(seed).choice(n, 40, replace=False)] = np.nan
    return y


def test_lag_matrix_equals_explicit_windows():
    y = gappy_series(n=300)
    lags, targets = lag_matrix(y, 4)
    rows = [(y[t - 4:t][::-1], y[t]) for t in range(4, y.size) if np.isfinite(y[t - 4:t + 1]).all()]
    np.testing.assert_array_equal(lags, np.array([r[0] for r in rows]))
    np.testing.assert_array_equal(targets, np.array([r[1] for r in rows]))


@pytest.mark.parametrize("y, order, match", [
    (np.arange(3.0), 5, "has 3 values; order 5 needs at least 6"),
    (np.arange(3.0), 0, "positive integer order"),
    (np.arange(3.0), 1.5, "positive integer order"),
    (np.ones((4, 2)), 1, "1-D series"),
    (np.arange(5.0) + 1j, 1, "real series"),  # cast silently, with numpy's ComplexWarning
    (np.array(["a", "b", "c"]), 1, "real series"),
    (np.r_[np.arange(5.0), np.inf], 1, "only NaN"),  # dropped silently as if missing
])  # fmt: skip
def test_lag_matrix_rejects_bad_input(y, order, match):
    with pytest.raises(ValueError, match=match):
        lag_matrix(y, order)


def test_lag_matrix_reads_object_arrays_as_floats():
    # numpy's 'isfinite not supported' TypeError before
    y = np.arange(6.0)
    for a, b in zip(lag_matrix(y.astype(object), 2), lag_matrix(y, 2)):
        np.testing.assert_array_equal(a, b)


def test_lag_embedding_equals_shifted_columns():
    X = np.random.default_rng(0).standard_normal((7, 2))
    out = LagEmbedding(order=3).fit_transform(X)
    for t in range(7):
        for lag in range(1, 4):
            expected = X[t - lag] if t - lag >= 0 else [np.nan, np.nan]
            np.testing.assert_array_equal(out[t, 2 * (lag - 1):2 * lag], expected)
    names = LagEmbedding(order=2).fit(X).get_feature_names_out(["a", "b"])
    assert list(names) == ["a_lag1", "b_lag1", "a_lag2", "b_lag2"]
    with pytest.raises(ValueError, match="names"):
        LagEmbedding().fit(X).get_feature_names_out(["a"])


def test_lag_embedding_in_a_pipeline_with_nan_aware_regressor():
    y = make_ar_process([0.7], 600, random_state=1)
    pipe = make_pipeline(LagEmbedding(order=2), HistGradientBoostingRegressor(random_state=0))
    pipe.fit(y[:, None], y)
    assert np.isfinite(pipe.predict(y[:, None])).all()


@pytest.mark.parametrize("order", [1, 3, 8])
def test_linear_lag_regressor_equals_least_squares(order):
    y = gappy_series(seed=order)
    ours = LagRegressor(LinearRegression(), order=order).fit(y)
    ref = LeastSquaresAR(order).fit(y)
    np.testing.assert_allclose(ours.estimator_.coef_, ref.coef_, rtol=1e-8, atol=1e-10)
    assert ours.estimator_.intercept_ == pytest.approx(ref.intercept_, rel=1e-8)
    assert ours.n_obs_ == ref.n_obs_
    np.testing.assert_allclose(ours.predict(y), ref.predict(y), rtol=1e-8, equal_nan=True)
    np.testing.assert_allclose(ours.forecast(6), ref.forecast(6), rtol=1e-8)
    assert ours.score(y[:1000]) == pytest.approx(ref.score(y[:1000]), rel=1e-8)


def test_nonlinear_regressor_forecasts_and_searches():
    rng = np.random.default_rng(3)
    y = np.zeros(1500)
    for t in range(1, y.size):  # a threshold AR: linear models miss it
        y[t] = (0.9 if y[t - 1] < 0 else -0.5) * y[t - 1] + 0.3 * rng.standard_normal()
    tree = LagRegressor(HistGradientBoostingRegressor(max_iter=50, random_state=0), order=1).fit(y[:1000])
    linear = LagRegressor(LinearRegression(), order=1).fit(y[:1000])
    assert tree.score(y[1000:]) > linear.score(y[1000:])
    assert tree.forecast(4).shape == (4,)
    search = GridSearchCV(LagRegressor(Ridge()), {"order": [1, 2], "estimator__alpha": [0.1, 10.0]},
                          cv=TimeSeriesSplit(3)).fit(y)
    assert search.best_params_["order"] in (1, 2)
    restored = pickle.loads(pickle.dumps(clone(search.best_estimator_).fit(y)))
    np.testing.assert_array_equal(restored.forecast(3), search.best_estimator_.forecast(3))


def test_lag_regressor_errors():
    with pytest.raises(ValueError, match="needs at least"):
        LagRegressor(LinearRegression(), order=5).fit(np.arange(6.0))
    with pytest.raises(ValueError, match="windows"):
        LagRegressor(LinearRegression(), order=2).fit(np.tile([1.0, 2.0, np.nan], 5))
    with pytest.raises(ValueError, match="steps"):
        LagRegressor(LinearRegression()).fit(np.arange(10.0)).forecast(0)
