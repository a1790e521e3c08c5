"""FlowDensity: normalised densities, Tweedie denoising against a closed form, instance noise, devices."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zuko")

from densest.datasets import make_manifold  # noqa: E402
from densest.deep import FlowDensity, wasserstein2  # noqa: E402

FAST = {"max_iter": 30, "batch_size": 64, "transforms": 1, "hidden_sizes": (16,), "device": "cpu", "random_state": 0}


@pytest.fixture(scope="module")
def circle_flow():
    X = make_manifold("circle", 400, random_state=0)
    return FlowDensity(0.1, denoise="tweedie", **{**FAST, "max_iter": 200}).fit(X), X


def test_density_integrates_to_one(circle_flow):
    flow, _ = circle_flow
    axis = np.linspace(-3, 3, 401)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    value = np.exp(flow.score_samples(grid)).sum() * (axis[1] - axis[0]) ** 2
    assert value == pytest.approx(1.0, abs=0.01)


def test_score_function_is_the_gradient_of_score_samples(circle_flow):
    flow, X = circle_flow
    h, x = 1e-5, X[:5]
    numeric = np.column_stack([(flow.score_samples(x + h * e) - flow.score_samples(x - h * e)) / (2 * h)
                               for e in np.eye(2)])  # fmt: skip
    np.testing.assert_allclose(flow.score_function(x), numeric, rtol=1e-4, atol=1e-5)


def test_tweedie_moves_samples_by_noise_squared_times_the_score(circle_flow):
    flow, _ = circle_flow
    raw = flow.sample(50, denoise=None, random_state=3)
    denoised = flow.sample(50, denoise="tweedie", random_state=3)
    np.testing.assert_allclose(denoised, raw + 0.1**2 * flow.score_function(raw), rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(flow.sample(50, random_state=3), denoised)  # the estimator's default


def test_tweedie_is_exact_for_a_gaussian():
    """Flow fitted to N(0, 1 + s^2) data per axis: the denoised point is y / (1 + s^2), the posterior mean."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 2))
    flow = FlowDensity(0.5, denoise="tweedie", flow="maf", perturbation="fresh", max_iter=800, device="cpu", random_state=0).fit(X)
    y = flow.sample(200, denoise=None, random_state=1)
    posterior_mean = flow.mean_ + (y - flow.mean_) / (1 + 0.5**2 / flow.scale_**2)
    error = np.linalg.norm(flow.sample(200, random_state=1) - posterior_mean, axis=1)
    assert np.sqrt(np.mean(error**2)) < 0.05 and error.max() < 0.25


@pytest.mark.slow
def test_instance_noise_and_tweedie_recover_the_circle():
    X = make_manifold("circle", 1000, random_state=0)
    truth = make_manifold("circle", 1000, random_state=1)
    flow = FlowDensity(0.05, denoise="tweedie", max_iter=600, device="cpu", random_state=0).fit(X)
    raw, denoised = flow.sample(1000, denoise=None, random_state=0), flow.sample(1000, random_state=0)
    assert wasserstein2(denoised, truth) < 0.15

    def off_circle(points):
        return np.abs(np.linalg.norm(points, axis=1) - 1).mean()

    assert off_circle(denoised) < 0.6 * off_circle(raw)


def test_plain_maximum_likelihood_and_auto_noise():
    X = make_manifold("curve", 300, random_state=0)
    plain = FlowDensity(0, **FAST).fit(X)
    assert plain.instance_noise_ == 0.0
    np.testing.assert_array_equal(plain.sample(5, denoise="tweedie", random_state=0),
                                  plain.sample(5, random_state=0))  # fmt: skip
    auto = FlowDensity(**FAST).fit(X)
    assert auto.instance_noise_ > 0


@pytest.mark.parametrize(
    ("params", "X", "match"),
    [
        ({"instance_noise": -1.0}, None, "instance_noise"),
        ({"hidden_sizes": (0,)}, None, "hidden_sizes"),
        ({}, np.arange(10.0)[:, None], "feature"),
        ({}, np.array([[0.0, 1.0], [np.inf, 2.0], [1.0, 1.0]]), "infinity"),
        ({"flow": "naf"}, None, "flow"),
    ],
)
def test_bad_input_names_the_problem(params, X, match):
    X = make_manifold("circle", 20, random_state=0) if X is None else X
    with pytest.raises(ValueError, match=match):
        FlowDensity(**{**FAST, **params}).fit(X)


def test_bad_denoise_in_sample(circle_flow):
    with pytest.raises(ValueError, match="denoise"):
        circle_flow[0].sample(2, denoise="median")


def test_pickle_round_trip(circle_flow):
    flow, X = circle_flow
    loaded = pickle.loads(pickle.dumps(flow))
    np.testing.assert_array_equal(loaded.score_samples(X[:20]), flow.score_samples(X[:20]))
    np.testing.assert_array_equal(loaded.sample(4, random_state=1), flow.sample(4, random_state=1))


def test_data_near_the_float64_limits_fit_as_rescaled_data():
    # Only the data's units change: log-densities shift by -d log c and samples
    # scale by c. Squares of such data overflow or underflow; the standardisation
    # and the noise rule once called 1e-200-scale data constant and diverged at 1e200.
    X = make_manifold("circle", 200, random_state=0)
    base = FlowDensity(**FAST).fit(X)
    for c in (1e-200, 1e200):
        flow = FlowDensity(**FAST).fit(X * c)
        assert flow.instance_noise_ == pytest.approx(base.instance_noise_ * c, rel=1e-12)
        np.testing.assert_allclose(flow.score_samples(X[:5] * c), base.score_samples(X[:5]) - 2 * np.log(c),
                                   rtol=1e-9)  # fmt: skip
        np.testing.assert_allclose(flow.sample(3, random_state=0) / c, base.sample(3, random_state=0),
                                   rtol=1e-9)  # fmt: skip
