"""Lag-matrix-free least squares, Yule-Walker and Burg against statsmodels and brute force."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from densest.ar import _core
from densest.datasets import is_stationary, make_ar_process, random_ar_coefficients

sm_ar = pytest.importorskip("statsmodels.tsa.ar_model")
sm_lm = pytest.importorskip("statsmodels.regression.linear_model")


def autoreg(y, lags, trend, hold_back=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sm_ar.AutoReg(y, lags=lags, trend=trend, hold_back=hold_back).fit()


def fit(y, order, trend, hold_back=None, refine="auto"):
    mu = np.nanmean(y) if trend == "c" else 0.0
    z = y - mu
    cp = _core.cross_products(z, order, hold_back)
    coef, const, _ = _core.solve_least_squares(z, cp, trend, refine=refine)
    rss = _core.residual_sum_of_squares(z, cp, coef, const)
    intercept = const + mu * (1.0 - coef.sum())
    return coef, intercept, rss / cp.n_obs, cp


def lag_matrix_fit(y, order, trend):
    """Brute force: explicit lag matrix, every window with a NaN dropped, lstsq."""
    rows = np.lib.stride_tricks.sliding_window_view(y, order + 1)
    rows = rows[np.all(np.isfinite(rows), axis=1)]
    X = rows[:, :-1][:, ::-1]
    if trend == "c":
        X = np.column_stack([np.ones(len(X)), X])
    params, *_ = np.linalg.lstsq(X, rows[:, -1], rcond=None)
    return params


SERIES = {
    "ar3": lambda rng: make_ar_process([0.2, 0.3, -0.5], 3000, intercept=2.0, random_state=int(rng.integers(2**31))),
    "offset": lambda rng: 1e4 + make_ar_process([0.5, -0.2], 3000, random_state=int(rng.integers(2**31))),
    "near_unit_root": lambda rng: make_ar_process([0.999], 3000, random_state=int(rng.integers(2**31))),
    "random_walk": lambda rng: np.cumsum(rng.standard_normal(3000)),
}


@pytest.mark.parametrize("kind", list(SERIES))
@pytest.mark.parametrize("order", [1, 10, 60])
@pytest.mark.parametrize("trend", ["c", "n"])
def test_least_squares_equals_autoreg(kind, order, trend, rng):
    y = SERIES[kind](rng)
    res = autoreg(y, order, trend)
    coef, intercept, sigma2, _ = fit(y, order, trend)
    tol = 1e-10 if kind in ("ar3", "offset") else 1e-8
    got = np.concatenate([[intercept], coef]) if trend == "c" else coef
    scale = np.maximum(1.0, np.abs(res.params))  # the constant of an offset series is large
    np.testing.assert_array_less(np.abs(got - res.params) / scale, tol)
    assert sigma2 == pytest.approx(res.sigma2, rel=1e-8)


def test_nested_orders_and_information_criteria_equal_autoreg_on_the_common_sample(rng):
    y = make_ar_process([0.4, -0.3, 0.2], 1500, random_state=int(rng.integers(2**31)))
    maxlag = 12
    cp = _core.cross_products(y - y.mean(), maxlag)
    rss = _core.nested_rss(cp, "c")
    ics, _ = _core.information_criteria(rss, cp.n_obs, np.arange(maxlag + 1) + 1)
    for k in range(1, maxlag + 1):
        res = autoreg(y, k, "c", hold_back=maxlag)
        assert rss[k] == pytest.approx(res.ssr, rel=1e-10)
        for name in ("aic", "bic", "hqic"):
            assert ics[name][k] == pytest.approx(getattr(res, name), rel=1e-10)


@pytest.mark.parametrize("trend", ["c", "n"])
def test_missing_values_drop_exactly_the_windows_that_contain_them(trend, rng):
    y = make_ar_process([0.5, -0.25, 0.1], 800, intercept=1.0, random_state=int(rng.integers(2**31)))
    y[[50, 51, 300, 301, 302, 303, 304, 305, 600]] = np.nan
    y[700:702] = np.nan
    coef, intercept, _, cp = fit(y, 4, trend, refine=2)
    expected = lag_matrix_fit(y, 4, trend)
    got = np.concatenate([[intercept], coef]) if trend == "c" else coef
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-10)
    windows = np.lib.stride_tricks.sliding_window_view(y, 5)
    assert cp.n_obs == int(np.all(np.isfinite(windows), axis=1).sum())


def test_cross_products_equal_the_lag_matrix_products(rng):
    y = rng.standard_normal(400)
    y[[100, 250]] = np.nan
    p, hold_back = 6, 9
    cp = _core.cross_products(y, p, hold_back)
    Xs, ys = [], []
    for start, stop in _core.finite_segments(y, p):
        for t in range(start + hold_back, stop):
            Xs.append(y[t - p:t][::-1])
            ys.append(y[t])
    X, target = np.array(Xs), np.array(ys)
    np.testing.assert_allclose(cp.gram, X.T @ X, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(cp.xy, X.T @ target, rtol=1e-12, atol=1e-10)
    np.testing.assert_allclose(cp.x_sum, X.sum(0), rtol=1e-12, atol=1e-10)
    assert cp.n_obs == len(target) and cp.yy == pytest.approx(target @ target)


@pytest.mark.parametrize("order", [1, 4, 40])
@pytest.mark.parametrize("method", ["adjusted", "mle"])
def test_yule_walker_equals_statsmodels(order, method, rng):
    y = make_ar_process([0.6, -0.2], 2000, intercept=3.0, random_state=int(rng.integers(2**31)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # statsmodels' coming return type
        rho, sigma = sm_lm.yule_walker(y, order, method=method)
    coef, sigma2 = _core.yule_walker(y - y.mean(), order, method)
    np.testing.assert_allclose(coef, rho, rtol=0, atol=1e-10)
    assert sigma2 == pytest.approx(sigma**2, rel=1e-10)


@pytest.mark.parametrize("order", [1, 4, 40])
def test_burg_equals_statsmodels(order, rng):
    y = make_ar_process([0.6, -0.2], 2000, intercept=3.0, random_state=int(rng.integers(2**31)))
    rho, sigma2 = sm_lm.burg(y, order)
    coef, s2 = _core.burg(y - y.mean(), order)
    np.testing.assert_allclose(coef, rho, rtol=0, atol=1e-8)
    assert s2 == pytest.approx(sigma2, rel=1e-8)


@given(order=st.integers(1, 30), seed=st.integers(0, 2**31 - 1))
def test_random_coefficients_are_stationary_and_reproducible(order, seed):
    coef = random_ar_coefficients(order, random_state=seed)
    assert coef.shape == (order,) and is_stationary(coef)
    np.testing.assert_array_equal(coef, random_ar_coefficients(order, random_state=seed))
    assert abs(coef.mean()) < 1e-12


@pytest.mark.slow
@given(seed=st.integers(0, 2**31 - 1))
def test_least_squares_recovers_the_generating_coefficients(seed):
    # Statistical: with n = 20 000 and unit noise the OLS error is O(1/sqrt(n)) = 0.007
    # per coefficient; 0.05 is over 5 standard errors for these stationary draws.
    coef = random_ar_coefficients(5, random_state=seed)
    y = make_ar_process(coef, 20_000, random_state=seed)
    estimate, _, sigma2, _ = fit(y, 5, "c")
    np.testing.assert_allclose(estimate, coef, atol=0.05)
    assert sigma2 == pytest.approx(1.0, abs=0.05)


def test_simulating_an_explosive_process_fails_clearly():
    # A non-stationary AR is allowed (it grows) until it overflows float64.
    assert np.isfinite(make_ar_process([1.01], 500, random_state=0)).all()
    with pytest.raises(ValueError, match="overflows float64"):
        make_ar_process([1.5], 5000, random_state=0)
    for bad in (np.nan, np.inf):  # a NaN intercept was reported as an overflow
        with pytest.raises(ValueError, match="intercept must be finite"):
            make_ar_process([0.5], 50, intercept=bad, random_state=0)


@pytest.mark.parametrize("bad", [[np.nan], [0.5, np.inf], [[0.5], [0.1]], np.array([0.5 + 1j]), ["a"]])
def test_stationarity_check_rejects_bad_coefficients(bad):
    # complex coefficients were cast to real with numpy's ComplexWarning
    with pytest.raises(ValueError, match="finite 1-D array of real"):
        is_stationary(bad)
    with pytest.raises(ValueError, match="finite 1-D array of real"):
        make_ar_process(bad, 10, random_state=0)
    assert is_stationary(np.array([0.5], dtype=object))


def test_random_coefficients_need_a_positive_number_of_tries():
    with pytest.raises(ValueError, match="max_tries"):  # a RuntimeError "no draw in 0 draws" before
        random_ar_coefficients(3, max_tries=0)
