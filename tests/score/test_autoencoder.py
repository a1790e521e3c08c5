"""ScoreAutoEncoder against analytic scores, Hessians and densities; the samplers against exact scores."""

import pickle

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import logsumexp

torch = pytest.importorskip("torch")

from densest.score import ScoreAutoEncoder  # noqa: E402
from densest.score import _nets, _samplers  # noqa: E402

MEANS = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]])
WEIGHTS = np.array([0.3, 0.3, 0.4])
SD = 0.3


def mixture(n, rng):
    """The notes' gmm3: three isotropic components of sd 0.3."""
    k = rng.choice(3, n, p=WEIGHTS)
    return MEANS[k] + SD * rng.standard_normal((n, 2))


def mixture_terms(X, var):
    diff = X[:, None, :] - MEANS[None]
    logp = np.log(WEIGHTS) - 0.5 * (diff**2 / var).sum(-1) - 0.5 * np.log(var).sum() - np.log(2 * np.pi)
    resp = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
    return diff, logp, resp


def mixture_score(X, var):
    """grad log of the mixture whose components have per-feature variance ``var``."""
    diff, _, resp = mixture_terms(X, var)
    return (resp[:, :, None] * (-diff / var)).sum(1)


def mixture_hessian(X, var):
    diff, _, resp = mixture_terms(X, var)
    g = -diff / var
    s = (resp[:, :, None] * g).sum(1)
    outer = (resp[:, :, None, None] * g[..., :, None] * g[..., None, :]).sum(1)
    return outer - np.diag(1.0 / var)[None] - s[:, :, None] * s[:, None, :]


def mixture_log_density(X, var):
    return logsumexp(mixture_terms(X, var)[1], axis=1)


def relative_error(estimate, truth):
    axes = tuple(range(1, truth.ndim))
    return np.sqrt(((estimate - truth) ** 2).sum(axis=axes).mean() / (truth**2).sum(axis=axes).mean())


def smoothed_variance(model, component_variance):
    """Per-feature variance after the model's noise (sigma relative to each feature's scale)."""
    return component_variance + (model.sigma * model.scale_) ** 2


@pytest.mark.slow
def test_gaussian_score_within_five_percent():
    rng = np.random.default_rng(0)
    X, T = rng.standard_normal((10_000, 2)), rng.standard_normal((2000, 2))
    model = ScoreAutoEncoder(0.1, device="cpu", random_state=0).fit(X)
    truth = -T / smoothed_variance(model, 1.0)  # approximately: X is standardised by its sample moments
    assert relative_error(model.score_function(T), truth) <= 0.05


@pytest.mark.slow
@pytest.mark.parametrize("parameterization", ["residual", "energy"])
def test_mixture_score_and_hessian(parameterization):
    rng = np.random.default_rng(1)
    X, T = mixture(10_000, rng), mixture(2000, rng)
    model = ScoreAutoEncoder(0.1, parameterization=parameterization, device="cpu", random_state=0).fit(X)
    var = smoothed_variance(model, SD**2)
    assert relative_error(model.score_function(T), mixture_score(T, var)) <= 0.15
    assert relative_error(model.hessian_log_density(T[:500]), mixture_hessian(T[:500], var)) <= 0.35
    if parameterization == "energy":
        log_p = model.score_samples(T)
        truth = mixture_log_density(T, var)
        assert np.abs(log_p - truth).mean() <= 0.15
        from sklearn.neighbors import KernelDensity

        assert model.score(T) > KernelDensity(bandwidth="scott").fit(X).score_samples(T).mean()


def test_energy_hessian_is_symmetric_and_the_derivative_of_the_score():
    rng = np.random.default_rng(2)
    X = mixture(2000, rng)
    model = ScoreAutoEncoder(0.2, parameterization="energy", max_iter=200, device="cpu", random_state=0).fit(X)
    points = X[:20]
    H = model.hessian_log_density(points)
    np.testing.assert_allclose(H, H.transpose(0, 2, 1), rtol=1e-4, atol=1e-4 * np.abs(H).max())
    step = 1e-2 * model.scale_
    for j in range(2):
        shift = np.zeros(2)
        shift[j] = step[j]
        column = (model.score_function(points + shift) - model.score_function(points - shift)) / (2 * step[j])
        np.testing.assert_allclose(H[:, :, j], column, rtol=0.02, atol=0.02 * np.abs(H).max())


def test_outputs_are_in_original_units():
    # Scaling and shifting the data changes z by nothing, so the score scales by 1 / c.
    rng = np.random.default_rng(3)
    X = mixture(1000, rng)
    c, shift = 7.0, np.array([100.0, -3.0])
    a = ScoreAutoEncoder(max_iter=50, device="cpu", random_state=0).fit(X)
    b = ScoreAutoEncoder(max_iter=50, device="cpu", random_state=0).fit(c * X + shift)
    np.testing.assert_allclose(b.score_function(c * X[:10] + shift), a.score_function(X[:10]) / c, rtol=1e-4,
                               atol=1e-5)  # fmt: skip
    np.testing.assert_allclose(b.reconstruct(c * X[:10] + shift), c * a.reconstruct(X[:10]) + shift, rtol=1e-5,
                               atol=1e-4)  # fmt: skip
    r = a.reconstruct(X[:10])
    np.testing.assert_allclose((r - X[:10]) / (a.sigma * a.scale_) ** 2, a.score_function(X[:10]), rtol=1e-4,
                               atol=1e-4)  # fmt: skip


def test_energy_log_density_integrates_to_one():
    rng = np.random.default_rng(4)
    X = mixture(2000, rng)
    model = ScoreAutoEncoder(0.2, parameterization="energy", max_iter=300, device="cpu", random_state=0).fit(X)
    axes = [np.linspace(-4, 4, 401), np.linspace(-3, 4.5, 401)]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    mass = np.exp(model.score_samples(grid)).sum() * (axes[0][1] - axes[0][0]) * (axes[1][1] - axes[1][0])
    assert mass == pytest.approx(1.0, abs=0.01)


def test_importance_sampled_normaliser_matches_a_grid_in_three_dimensions():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((2000, 3)) @ np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.3], [0.0, 0.0, 1.0]])
    params = dict(parameterization="energy", max_iter=200, device="cpu", random_state=0)
    model = ScoreAutoEncoder(0.2, **params).fit(X)
    import densest.score._autoencoder as module

    z = torch.as_tensor((X - model.mean_) / model.scale_, dtype=torch.float32)
    original = module.MAX_GRID
    try:
        module.MAX_GRID = 2  # force importance sampling at d = 3
        log_z, se = model._log_normalizer(torch, z, 0)
    finally:
        module.MAX_GRID = original
    assert se < 0.02
    assert log_z == pytest.approx(model.log_normalizer_, abs=4 * se + 0.01)


def test_score_samples_only_where_it_can_be_honest():
    X = np.random.default_rng(6).standard_normal((300, 13))
    residual = ScoreAutoEncoder(max_iter=5, device="cpu", random_state=0).fit(X)
    assert not hasattr(residual, "score_samples") and not hasattr(residual, "score")
    energy = ScoreAutoEncoder(parameterization="energy", max_iter=5, device="cpu", random_state=0).fit(X)
    with pytest.raises(ValueError, match="not reliable beyond 12 features"):
        energy.score_samples(X[:2])
    with pytest.raises(ValueError, match="limited to 8 features"):
        energy.hessian_log_density(X[:2])


def test_fit_errors():
    X = np.random.default_rng(7).standard_normal((50, 2))
    X[:, 1] = 3.0
    with pytest.raises(ValueError, match="constant"):
        ScoreAutoEncoder(max_iter=2, device="cpu").fit(X)
    with pytest.raises(ValueError, match="not a torch device"):
        ScoreAutoEncoder(max_iter=2, device="nope").fit(X[:, :1])
    with pytest.raises(ValueError, match="diverged"):
        ScoreAutoEncoder(max_iter=50, learning_rate=1e6, device="cpu", random_state=0).fit(
            np.random.default_rng(0).standard_normal((100, 2)))  # fmt: skip


def test_data_near_the_float64_limits_fit_as_rescaled_data():
    # In units scaled by c the score scales by 1/c and reconstructions by c. The
    # features' spread once underflowed to zero at 1e-200 ("constant").
    X = mixture(300, np.random.default_rng(5))
    params = {"parameterization": "energy", "max_iter": 20, "device": "cpu", "random_state": 0}
    base = ScoreAutoEncoder(**params).fit(X)
    for c in (1e-200, 1e200):
        model = ScoreAutoEncoder(**params).fit(X * c)
        np.testing.assert_allclose(model.score_function(X[:5] * c) * c, base.score_function(X[:5]), rtol=1e-9)
        np.testing.assert_allclose(model.reconstruct(X[:5] * c) / c, base.reconstruct(X[:5]), rtol=1e-9)
        np.testing.assert_allclose(model.score_samples(X[:5] * c), base.score_samples(X[:5]) - 2 * np.log(c),
                                   rtol=1e-9)  # fmt: skip


def test_a_query_beyond_float32_gets_a_clear_error_not_nan():
    X = mixture(300, np.random.default_rng(6))
    model = ScoreAutoEncoder(parameterization="energy", max_iter=5, device="cpu", random_state=0).fit(X)
    far = np.array([[1e40, 0.0]])
    for method in (model.score_function, model.score_samples):
        with pytest.raises(ValueError, match="float32"):
            method(far)
    # at 1e30 the score is finite, but the energy (quadratic) overflowed: log-density -inf
    assert np.isfinite(model.score_function(far / 1e10)).all()
    with pytest.raises(ValueError, match="float32"):
        model.score_samples(far / 1e10)
    assert np.isfinite(model.score_function(np.array([[1e6, 0.0]]))).all()


def test_diverging_langevin_chains_raise():
    X = mixture(300, np.random.default_rng(6))
    model = ScoreAutoEncoder(max_iter=5, device="cpu", random_state=0).fit(X)
    with pytest.raises(ValueError, match="diverged"):
        model.sample(3, method="langevin", n_steps=50, step_size=1e10, random_state=0)


def test_pickle_loads_on_cpu_and_predicts_the_same():
    X = mixture(500, np.random.default_rng(8))
    model = ScoreAutoEncoder(parameterization="energy", max_iter=20, device="cpu", random_state=0).fit(X)
    again = pickle.loads(pickle.dumps(model))
    assert again.device_ == torch.device("cpu")
    np.testing.assert_array_equal(again.score_function(X[:5]), model.score_function(X[:5]))
    np.testing.assert_array_equal(again.score_samples(X[:5]), model.score_samples(X[:5]))


def test_reproducible_fits_and_samples():
    X = mixture(500, np.random.default_rng(9))
    a = ScoreAutoEncoder(max_iter=30, device="cpu", random_state=3).fit(X)
    b = ScoreAutoEncoder(max_iter=30, device="cpu", random_state=3).fit(X)
    np.testing.assert_array_equal(a.score_function(X[:5]), b.score_function(X[:5]))
    np.testing.assert_array_equal(a.sample(4, n_steps=10, random_state=1), b.sample(4, n_steps=10, random_state=1))
    assert not np.array_equal(a.sample(4, n_steps=10, random_state=1), a.sample(4, n_steps=10, random_state=2))


def test_sample_from_given_starting_points():
    X = mixture(500, np.random.default_rng(11))
    model = ScoreAutoEncoder(max_iter=30, device="cpu", random_state=0).fit(X)
    np.testing.assert_allclose(model.sample(3, n_steps=0, init=X[:3]), X[:3], rtol=1e-6, atol=1e-6)
    moved = model.sample(3, method="langevin", n_steps=5, init=X[:3], random_state=0)
    assert moved.shape == (3, 2) and np.abs(moved - X[:3]).max() < 1.0
    with pytest.raises(ValueError, match="one start per chain"):
        model.sample(4, init=X[:3])
    with pytest.raises(ValueError, match="features"):
        model.sample(3, init=X[:3, :1])
    with pytest.raises(ValueError, match="NaN"):
        model.sample(1, init=[[np.nan, 0.0]])


def test_rcae_hutchinson_loss_is_unbiased():
    torch.manual_seed(0)
    net = _nets.ScoreNet(_nets.make_zero_output_mlp(torch, 3, (16,), 3), energy=False, sigma=0.2)
    torch.nn.init.normal_(net.net[-1].weight, std=0.3)  # a non-trivial Jacobian
    z = torch.randn(64, 3)
    gen = torch.Generator().manual_seed(0)
    exact = float(_nets.rcae_loss(torch, net, z, 0.2, gen, exact=True).detach())
    estimates = [float(_nets.rcae_loss(torch, net, z, 0.2, gen, exact=False).detach()) for _ in range(400)]
    assert np.mean(estimates) == pytest.approx(exact, abs=4 * np.std(estimates) / np.sqrt(400))


@given(entries=st.lists(st.floats(-1.0, 1.0), min_size=9, max_size=9), n_path=st.integers(2, 7))
def test_path_integrated_energy_is_exact_for_a_gaussian(entries, n_path):
    # The score of a Gaussian is linear in z, so the mean over an even grid of the
    # path is its midpoint value and the path integral is exact.
    B = torch.tensor(entries, dtype=torch.float64).reshape(3, 3)
    A = B @ B.T + 0.1 * torch.eye(3, dtype=torch.float64)

    def score(z):
        return -z @ A

    def energy(z):
        return 0.5 * ((z @ A) * z).sum(dim=1)

    gen = torch.Generator().manual_seed(0)
    z, proposal = (torch.randn(50, 3, dtype=torch.float64, generator=gen) for _ in range(2))
    approx = _samplers.energy_difference(torch, score, None, z, proposal, n_path=n_path)
    np.testing.assert_allclose(approx.numpy(), (energy(proposal) - energy(z)).numpy(), rtol=1e-12, atol=1e-12)


def mmd2(a, b, scales=(0.1, 0.3, 1.0)):
    """Unbiased MMD^2 with a sum of RBF kernels."""
    def kernel(x, y):
        d2 = ((x[:, None, :] - y[None]) ** 2).sum(-1)
        return sum(np.exp(-d2 / (2 * s * s)) for s in scales)

    kaa, kbb, kab = kernel(a, a), kernel(b, b), kernel(a, b)
    n, m = len(a), len(b)
    return ((kaa.sum() - np.trace(kaa)) / (n * (n - 1)) + (kbb.sum() - np.trace(kbb)) / (m * (m - 1))
            - 2 * kab.mean())  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mh", "mala"])
def test_sampler_with_the_exact_score_reaches_the_two_sample_floor(method):
    rng = np.random.default_rng(10)
    var = np.full(2, SD**2)

    def score(z):
        return torch.as_tensor(mixture_score(z.numpy(), var))

    gen = torch.Generator().manual_seed(0)
    start = torch.as_tensor(3.0 * rng.standard_normal((1000, 2)))
    samples, _ = _samplers.run_chain(torch, score, start, method=method, n_steps=1000,
                                     step_size=0.3 if method == "mh" else 0.15, generator=gen)  # fmt: skip
    floors = [mmd2(mixture(1000, rng), mixture(1000, rng)) for _ in range(3)]
    assert mmd2(samples.numpy(), mixture(1000, rng)) <= 3 * max(np.abs(floors).max(), 1e-4)
