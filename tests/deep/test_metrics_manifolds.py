"""Sample distances against brute force and 1-D closed forms; manifold samplers against their laws."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import i0, i1
from scipy.spatial.distance import pdist

from densest.datasets import make_manifold, manifold_embedding
from densest.deep import mmd_squared, wasserstein2


@given(st.integers(1, 6), st.integers(1, 3), st.integers(0, 2**16))
def test_wasserstein2_equals_the_best_permutation(n, d, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    best = min(((X - Y[list(p)]) ** 2).sum(1).mean() for p in itertools.permutations(range(n)))
    assert wasserstein2(X, Y) == pytest.approx(np.sqrt(best), rel=1e-12, abs=1e-12)


@given(st.integers(2, 200), st.integers(0, 2**16))
def test_wasserstein2_in_one_dimension_matches_sorted_samples(n, seed):
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(n), rng.exponential(size=n)
    expected = np.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2))
    assert wasserstein2(x[:, None], y[:, None]) == pytest.approx(expected, rel=1e-10)


def test_mmd_squared_against_a_loop():
    rng = np.random.default_rng(0)
    X, Y, h = rng.standard_normal((7, 2)), rng.standard_normal((5, 2)) + 1, 0.8

    def k(a, b):
        return np.exp(-((a - b) ** 2).sum() / (2 * h**2))

    xx = np.mean([k(X[i], X[j]) for i in range(7) for j in range(7) if i != j])
    yy = np.mean([k(Y[i], Y[j]) for i in range(5) for j in range(5) if i != j])
    xy = np.mean([k(a, b) for a in X for b in Y])
    assert mmd_squared(X, Y, bandwidth=h) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
    assert mmd_squared(X, Y) > 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: wasserstein2(np.ones((3, 2)), np.ones((4, 2))), "equal-size"),
        (lambda: wasserstein2(np.ones((3, 2)), np.ones((3, 3))), "features"),
        (lambda: mmd_squared(np.ones((1, 2)), np.ones((4, 2))), "at least 2"),
        (lambda: mmd_squared(np.zeros((3, 2)), np.zeros((4, 2))), "bandwidth"),
        (lambda: make_manifold("torus", 10), "name"),
        (lambda: make_manifold("sphere", 10, ambient_dim=2), "smaller"),
        (lambda: make_manifold("circle", 10, noise=-1), "noise"),
        (lambda: make_manifold("circle", 0), "n_samples"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize(("name", "native"), [("circle", 2), ("curve", 5), ("sphere", 3)])
def test_embedding_is_an_isometry_and_noise_is_added(name, native):
    low = make_manifold(name, 50, random_state=0)
    high = make_manifold(name, 50, ambient_dim=12, random_state=0)
    assert low.shape == (50, native) and high.shape == (50, 12)
    np.testing.assert_allclose(pdist(high), pdist(low), rtol=1e-10)
    np.testing.assert_allclose(high, low @ manifold_embedding(name, 12).T)
    noisy = make_manifold(name, 4000, ambient_dim=12, noise=0.1, random_state=0)
    clean = make_manifold(name, 4000, ambient_dim=12, random_state=0)
    assert np.std(noisy - clean) == pytest.approx(0.1, rel=0.05)


def test_circle_and_sphere_laws():
    kappa = 2.0
    circle = make_manifold("circle", 200_000, concentration=kappa, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(circle, axis=1), 1.0)
    assert circle[:, 0].mean() == pytest.approx(i1(kappa) / i0(kappa), abs=0.005)  # E cos(angle)
    sphere = make_manifold("sphere", 200_000, concentration=kappa, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(sphere, axis=1), 1.0)
    assert sphere[:, 2].mean() == pytest.approx(1 / np.tanh(kappa) - 1 / kappa, abs=0.005)
    uniform = make_manifold("sphere", 200_000, concentration=0, random_state=0)
    assert np.abs(uniform.mean(axis=0)).max() < 0.01


def test_curve_follows_its_parameterisation():
    X = make_manifold("curve", 1000, random_state=0)
    t = (X[:, 4] + 1) / 2
    a = 2 * np.pi * t
    np.testing.assert_allclose(X[:, :4], np.column_stack([np.cos(a), np.sin(a), np.cos(2 * a) / 2,
                                                          np.sin(2 * a) / 2]), atol=1e-12)  # fmt: skip
    assert t.mean() == pytest.approx(2 / 7, abs=0.02)  # Beta(2, 5)
