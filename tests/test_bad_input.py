"""Bad input to every public method of every discovered estimator gets a clear error."""

import functools

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from densest.utils import all_estimators
from densest.utils._test_common import INSTANCE_PARAMS, fit_data, fitted, is_3d

X_METHODS = ("score_samples", "score", "predict", "predict_proba", "decision_function",
             "transform")  # fmt: skip
INSTANCES = [cls(**params) for name, cls in all_estimators()
             for params in INSTANCE_PARAMS.get(name, [{}])[:2]]  # fmt: skip


def _id(est):
    return repr(est).replace("\n", "").replace(" ", "")


def _methods(est):
    return [m for m in X_METHODS if hasattr(est, m)]


def _bad_values(X):
    out = {}
    for label, value in (("NaN", np.nan), ("inf", np.inf), ("-inf", -np.inf)):
        bad = X.copy()
        bad.flat[1] = value
        out[label] = bad
    return out


@pytest.mark.parametrize("estimator", INSTANCES, ids=_id)
def test_unfitted_use_raises_not_fitted(estimator):
    X, y = fit_data(estimator)
    for method in _methods(estimator):
        extra = (y,) if method == "score" and y is not None else ()  # a supervised score takes y
        with pytest.raises(NotFittedError):
            getattr(clone(estimator), method)(X, *extra)
    if hasattr(estimator, "sample"):
        with pytest.raises(NotFittedError):
            clone(estimator).sample(3)


@pytest.mark.parametrize("estimator", INSTANCES, ids=_id)
def test_fit_rejects_non_finite(estimator):
    X, y = fit_data(estimator)
    for label, bad in _bad_values(X).items():
        with pytest.raises(ValueError, match="NaN|infinity"):
            clone(estimator).fit(bad, y)


@pytest.mark.parametrize("estimator", INSTANCES, ids=_id)
def test_fit_rejects_wrong_shape_and_empty(estimator):
    X, y = fit_data(estimator)
    flat = X.reshape(X.shape[0], -1)[:, 0]
    with pytest.raises(ValueError):
        clone(estimator).fit(flat, y)
    with pytest.raises(ValueError):
        clone(estimator).fit(X[:0], None if y is None else y[:0])
    with pytest.raises(ValueError):
        clone(estimator).fit(X[..., None], y)


@pytest.mark.parametrize("estimator", INSTANCES, ids=_id)
def test_methods_reject_bad_queries(estimator):
    est, X, y = fitted(estimator)
    Q = X[:5].copy()
    for method in _methods(est):
        if method == "score" and y is not None:  # a regressor's score takes the targets too
            call = functools.partial(est.score, y=y[:5])
        else:
            call = getattr(est, method)
        for label, bad in _bad_values(Q).items():
            with pytest.raises(ValueError, match="NaN|infinity"):
                call(bad)
        wrong = np.concatenate([Q, Q[:, :1]], axis=1)
        with pytest.raises(ValueError, match="features|channels"):
            call(wrong)
        with pytest.raises(ValueError):
            call(Q.reshape(Q.shape[0], -1)[:, 0])
        with pytest.raises(ValueError):
            call(Q[:0])


@pytest.mark.parametrize("estimator", [e for e in INSTANCES if hasattr(e, "sample")], ids=_id)
def test_sample_rejects_bad_n_samples(estimator):
    est, _, _ = fitted(estimator)
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="n_samples"):
            est.sample(bad)


@pytest.mark.parametrize("estimator", INSTANCES, ids=_id)
def test_nothing_passed_is_mutated_and_lists_work(estimator):
    X, y = fit_data(estimator)
    X_before = X.copy()
    est = clone(estimator).fit(X, y)
    list_est = clone(estimator).fit(X.tolist(), None if y is None else y.tolist())
    np.testing.assert_array_equal(X, X_before)
    for method in _methods(est):
        if is_3d(est) and method == "score":
            continue
        extra = (y[:6],) if method == "score" and y is not None else ()  # a regressor's score
        expected = getattr(est, method)(X[:6], *extra)
        np.testing.assert_array_equal(X, X_before)
        np.testing.assert_allclose(getattr(list_est, method)(X[:6].tolist(), *extra), expected,
                                   rtol=1e-10, atol=1e-12)  # fmt: skip


def test_check_magnitude_ignores_non_finite_values():
    from densest.utils._numeric import check_magnitude

    check_magnitude(np.array([np.nan, 1.0, np.inf, -2.0]), "y", "")
    check_magnitude(np.array([np.nan, np.inf]), "y", "")
    for bad in ([np.nan, 1e150, -np.inf], [1e-150, np.nan, 2e-150]):
        with pytest.raises(ValueError, match="rescale it"):
            check_magnitude(np.array(bad), "y", "")
