"""riemann_mean: Newton's method for the Karcher mean against pyRiemann, closed forms and invariances."""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.linalg import expm, fractional_matrix_power, logm, sqrtm
from sklearn.exceptions import ConvergenceWarning

pytest.importorskip("pyriemann")

from pyriemann.geometry.distance import distance_riemann  # noqa: E402
from pyriemann.geometry.mean import mean_riemann  # noqa: E402

from densest.eeg import AugmentedCovariances, make_acm_pipeline, riemann_mean  # noqa: E402
from densest.exceptions import NotPositiveDefiniteError  # noqa: E402


def spd_set(n_matrices, dim, spread=1.0, seed=0):
    """SPD matrices exp(spread * symmetric Gaussian) congruent by a random matrix (condition numbers vary)."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((dim, dim)) + dim * np.eye(dim)
    out = []
    for _ in range(n_matrices):
        s = rng.standard_normal((dim, dim)) * spread / np.sqrt(dim)
        out.append(mixing @ expm((s + s.T) / 2) @ mixing.T)
    return np.array(out)


def gradient_norm(X, mean, weights=None):
    """||sum_i w_i log(M^-1/2 X_i M^-1/2)||_F, by scipy's sqrtm and logm."""
    weights = np.full(len(X), 1 / len(X)) if weights is None else np.asarray(weights) / np.sum(weights)
    root = np.real(fractional_matrix_power(mean, -0.5))
    return np.linalg.norm(sum(w * np.real(logm(root @ x @ root)) for w, x in zip(weights, X)))


@given(n_matrices=st.integers(1, 8), dim=st.integers(1, 6), spread=st.floats(0.1, 2.0), seed=st.integers(0, 10**6))
def test_equals_pyriemann_and_zeroes_the_gradient(n_matrices, dim, spread, seed):
    X = spd_set(n_matrices, dim, spread, seed)
    mean = riemann_mean(X)
    # Both stop at ||J|| <= 1e-8, so they agree to about that in the affine-invariant distance.
    assert distance_riemann(mean, mean_riemann(X)) < 1e-7
    assert gradient_norm(X, mean) < 1e-7


def test_two_matrices_give_the_geodesic_point():
    A, B = spd_set(2, 4, spread=1.5, seed=1)
    root = np.real(sqrtm(A))
    inverse = np.linalg.inv(root)
    for t in (0.5, 0.2):
        geodesic = root @ np.real(fractional_matrix_power(inverse @ B @ inverse, t)) @ root
        np.testing.assert_allclose(riemann_mean([A, B], [1 - t, t]), geodesic, rtol=1e-8, atol=1e-10)


def test_commuting_matrices_give_the_exp_of_the_mean_log():
    values = np.random.default_rng(2).uniform(0.01, 100, size=(5, 3))
    X = np.stack([np.diag(v) for v in values])
    np.testing.assert_allclose(riemann_mean(X), np.diag(np.exp(np.log(values).mean(axis=0))), rtol=1e-8)


@given(seed=st.integers(0, 10**6))
def test_affine_equivariance_permutation_and_repetition(seed):
    rng = np.random.default_rng(seed)
    X = spd_set(5, 4, 1.0, seed)
    mean = riemann_mean(X)
    G = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    np.testing.assert_allclose(riemann_mean(G @ X @ G.T), G @ mean @ G.T, rtol=1e-7, atol=1e-9 * np.abs(G @ mean @ G.T).max())
    np.testing.assert_allclose(riemann_mean(X[rng.permutation(5)]), mean, rtol=1e-8)
    counts = np.array([1, 3, 2, 1, 4])
    np.testing.assert_allclose(riemann_mean(X, counts), riemann_mean(np.repeat(X, counts, axis=0)), rtol=1e-8)


def test_starting_points_reach_the_same_mean():
    X = spd_set(6, 5, 1.5, seed=3)
    mean = riemann_mean(X)
    for init in ("arithmetic", "identity", X[0], 7 * np.eye(5)):
        assert distance_riemann(riemann_mean(X, init=init), mean) < 1e-7


def test_ill_conditioned_augmented_covariances_converge():
    # Order-8 ACM of 17 EEG channels: condition numbers near 1e9, where pyRiemann's gradient
    # ran out of its 50 iterations on 36 trials (measured); Newton's method converges from the
    # arithmetic mean. Reference: pyRiemann on the whitened matrices, mapped back (the mean is
    # affine-equivariant), compared in the affine-invariant distance.
    from pyriemann.preprocessing import Whitening

    from densest.datasets import load_eegbci_sample

    X, _ = load_eegbci_sample()[:2]
    covs = AugmentedCovariances(order=8, lag=1).fit_transform(X[:36])
    whitening = Whitening(metric="logeuclid").fit(covs)
    unwhiten = np.linalg.inv(whitening.filters_)
    reference = unwhiten.T @ mean_riemann(whitening.transform(covs)) @ unwhiten
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        mean = riemann_mean(covs)
    assert distance_riemann(mean, reference) < 1e-6


def test_tangent_space_pipeline_equals_pyriemanns_own_mean():
    from densest.datasets import load_eegbci_sample

    X, y = load_eegbci_sample()[:2]
    ours = make_acm_pipeline(order=2).fit(X, y)
    theirs = make_acm_pipeline(order=2).set_params(ts__metric="riemann").fit(X, y)
    assert distance_riemann(ours["ts"].reference_, theirs["ts"].reference_) < 1e-7
    np.testing.assert_allclose(ours.decision_function(X), theirs.decision_function(X), atol=1e-6)
    mdm = make_acm_pipeline("mdm", order=2).fit(X, y)
    plain = make_acm_pipeline("mdm", order=2).set_params(mdm__metric="riemann").fit(X, y)
    np.testing.assert_allclose(mdm.transform(X), plain.transform(X), rtol=1e-7)


@pytest.mark.parametrize(
    "X, kwargs, match",
    [
        (np.ones((2, 3)), {}, "stack of square"),
        (np.ones((2, 3, 4)), {}, "stack of square"),
        (np.full((2, 2, 2), np.nan), {}, "NaN"),
        (np.array([np.eye(2), np.diag([1.0, -1.0])]), {}, r"X\[1\] is not positive definite"),
        (np.array([np.eye(2), [[2.0, 1.0], [0.0, 2.0]]]), {}, r"X\[1\] is not symmetric"),
        (np.array([np.eye(2)] * 2, dtype=complex), {}, "real numbers"),
        (np.array([np.eye(2)] * 2), {"sample_weight": [1.0, -1.0]}, "sample_weight"),
        (np.array([np.eye(2)] * 2), {"sample_weight": [1.0]}, "sample_weight"),
        (np.array([np.eye(2)] * 2), {"init": "harmonic"}, "init must be"),
        (np.array([np.eye(2)] * 2), {"init": -np.eye(2)}, "init is not positive definite"),
        (np.array([np.eye(2)] * 2), {"init": np.eye(3)}, "shape"),
        (np.array([np.eye(2)] * 2), {"tol": 0}, "tol"),
        (np.array([np.eye(2)] * 2), {"maxiter": 0}, "maxiter"),
    ],
)
def test_bad_input_raises_a_clear_error(X, kwargs, match):
    # matrices that are not SPD raise the documented NotPositiveDefiniteError (a ValueError)
    expected = NotPositiveDefiniteError if "positive definite" in match else ValueError
    with pytest.raises(expected, match=match):
        riemann_mean(X, **kwargs)


def test_maxiter_warns_and_input_is_not_mutated():
    X = spd_set(4, 3, 2.0, seed=4)
    before = X.copy()
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        riemann_mean(X, maxiter=1)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize("maxiter", [50, 1])
def test_mean_and_log_map_equal_pyriemanns_tangent_space(maxiter):
    from pyriemann.geometry.tangentspace import log_map_riemann

    from densest.eeg._riemann import mean_and_log_map

    X = spd_set(7, 5, 1.5, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mean, logs = mean_and_log_map(X, maxiter=maxiter)
        np.testing.assert_allclose(mean, riemann_mean(X, maxiter=maxiter), rtol=1e-12)
    np.testing.assert_allclose(logs, log_map_riemann(X, mean), atol=1e-10)


def test_rounding_asymmetry_is_symmetrised():
    # Covariances from floating-point products are symmetric only up to rounding.
    A = np.array([[2.0, 0.5], [0.5, 1.0]])
    B = A.copy()
    B[0, 1] += 1e-14
    np.testing.assert_allclose(riemann_mean(np.array([A, B])), A, rtol=1e-12)
