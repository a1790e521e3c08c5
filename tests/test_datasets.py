"""The synthetic mixture's exact log-density and score, against scipy and finite differences."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from densest.datasets import gaussian_mixture_log_density, gaussian_mixture_score, make_gaussian_mixture


def scipy_log_density(X, params, noise):
    var = params["scale"] ** 2 + np.broadcast_to(np.asarray(noise, dtype=float) ** 2, (X.shape[1],))
    parts = [np.log(w) + multivariate_normal(m, np.diag(var)).logpdf(X)
             for m, w in zip(params["means"], params["weights"])]  # fmt: skip
    return logsumexp(parts, axis=0)


@pytest.mark.parametrize("noise", [0.0, 0.5, [0.1, 0.2, 0.3]])
def test_log_density_equals_scipy_and_score_its_finite_differences(noise):
    X, y, params = make_gaussian_mixture(50, 3, n_components=4, scale=0.7, random_state=0)
    np.testing.assert_allclose(gaussian_mixture_log_density(X, params, noise),
                               scipy_log_density(X, params, noise), rtol=1e-12)  # fmt: skip
    step = 1e-5
    numeric = np.stack([(gaussian_mixture_log_density(X + step * e, params, noise) -
                         gaussian_mixture_log_density(X - step * e, params, noise)) / (2 * step)
                        for e in np.eye(3)], axis=1)  # fmt: skip
    np.testing.assert_allclose(gaussian_mixture_score(X, params, noise), numeric, rtol=1e-6, atol=1e-7)


def test_samples_follow_the_components():
    X, y, params = make_gaussian_mixture(20_000, 2, n_components=2, scale=0.5, random_state=1)
    for k in range(2):
        np.testing.assert_allclose(X[y == k].mean(axis=0), params["means"][k], atol=0.03)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, rtol=0.05)


def test_far_points_stay_finite():
    X, _, params = make_gaussian_mixture(10, 2, random_state=0)
    assert np.all(np.isfinite(gaussian_mixture_log_density(X + 1e5, params)))
    assert np.all(np.isfinite(gaussian_mixture_score(X + 1e5, params)))


@pytest.mark.parametrize("X, noise, match", [
    (np.zeros((3, 1)), 0.0, "shape"),  # broadcast silently against the 2-D means before
    (np.zeros(2), 0.0, "shape"),
    (np.array([[np.nan, 0.0]]), 0.0, "finite"),
    (np.zeros((3, 2)), -1.0, "noise"),  # squared silently before
    (np.zeros((3, 2)), [0.1, 0.2, 0.3], "noise"),
])  # fmt: skip
def test_bad_input_is_named(X, noise, match):
    _, _, params = make_gaussian_mixture(10, 2, random_state=0)
    for func in (gaussian_mixture_log_density, gaussian_mixture_score):
        with pytest.raises(ValueError, match=match):
            func(X, params, noise)
    with pytest.raises(ValueError, match="finite"):
        make_gaussian_mixture(10, scale=np.inf)
