"""DeepGenerativeDensity: exact on probabilistic PCA, instance noise on a circle, input checks, devices."""

import pickle
import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.decomposition import PCA

torch = pytest.importorskip("torch")

from densest.datasets import make_manifold  # noqa: E402
from densest.deep import DeepGenerativeDensity, auto_instance_noise, wasserstein2  # noqa: E402
from densest.exceptions import DensestWarning  # noqa: E402

FAST = {"max_iter": 20, "batch_size": 64, "n_importance_eval": 64, "device": "cpu", "random_state": 0}


def linear_model(rng, D=3, L=1):
    """A fitted linear (probabilistic PCA) model whose weights are set to a known A, b, sigma, exact encoder."""
    X = rng.standard_normal((50, D))
    model = DeepGenerativeDensity(L, instance_noise=0, generator_sizes=(), encoder_sizes=(), **FAST)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DensestWarning)
        model.fit(X)
    # Orthogonal columns: the posterior covariance is diagonal, in the encoder's family.
    Q, _ = np.linalg.qr(rng.standard_normal((D, L)))
    A, b, sigma = Q * rng.uniform(0.5, 2.0, L), rng.standard_normal(D), 0.4
    M = A.T @ A + sigma**2 * np.eye(L)
    gain = np.linalg.solve(M, A.T)  # posterior mean = gain (x - b); posterior covariance sigma^2 M^-1
    post_sd = np.sqrt(np.diag(sigma**2 * np.linalg.inv(M)))
    with torch.no_grad():
        gen, enc = model.module_["generator"][0], model.module_["encoder"][0]
        gen.weight.copy_(torch.tensor(A)), gen.bias.copy_(torch.tensor(b))
        enc.weight.copy_(torch.tensor(np.vstack([gain, np.zeros((L, D))])))
        enc.bias.copy_(torch.tensor(np.concatenate([-gain @ b, np.log(post_sd)])))
        model.module_["noise"]["log_sigma"].fill_(np.log(sigma - model.sigma_min_ / model.scale_))
    truth = multivariate_normal(model.mean_ + model.scale_ * b, model.scale_**2 * (A @ A.T + sigma**2 * np.eye(D)))
    return model, truth, gain, b


@pytest.mark.parametrize("L", [1, 2])
def test_exact_posterior_gives_the_exact_log_density_and_latent_mean(rng, L):
    model, truth, gain, b = linear_model(rng, D=4, L=L)
    X = truth.rvs(200, random_state=1)
    np.testing.assert_allclose(model.score_samples(X), truth.logpdf(X), rtol=1e-5, atol=1e-4)
    latent = ((X - model.mean_) / model.scale_ - b) @ gain.T
    np.testing.assert_allclose(model.transform(X), latent, rtol=1e-4, atol=1e-4)


def test_importance_estimate_converges_with_a_poor_encoder(rng):
    """A deliberately wrong encoder (proposal e times too wide): the estimate converges as K grows."""
    model, truth, _, _ = linear_model(rng)
    with torch.no_grad():
        model.module_["encoder"][0].bias[-1] += 1.0
    X = truth.rvs(300, random_state=2)
    errors = []
    for K in (4, 4096):
        model.set_params(n_importance_eval=K)
        errors.append(np.abs(truth.logpdf(X) - model.score_samples(X)).max())
    assert errors[0] > 0.1
    assert errors[1] < 0.05


@pytest.mark.slow
def test_linear_model_reaches_the_probabilistic_pca_maximum_likelihood(rng):
    """generator_sizes=() is probabilistic PCA, whose MLE is closed-form (sklearn's PCA.score)."""
    C = rng.standard_normal((4, 4))
    X = rng.standard_normal((3000, 4)) @ C + 1.0
    pca = PCA(n_components=2).fit(X)
    model = DeepGenerativeDensity(2, instance_noise=0, generator_sizes=(), encoder_sizes=(), max_iter=1500,
                                  learning_rate=1e-2, device="cpu", random_state=0).fit(X)  # fmt: skip
    assert abs(model.score(X) - pca.score(X)) < 0.01
    assert model.sigma_**2 == pytest.approx(pca.noise_variance_, rel=0.05)


@pytest.mark.slow
def test_instance_noise_is_learned_and_the_plain_mle_collapses():
    X = make_manifold("circle", 1000, random_state=0)
    truth = make_manifold("circle", 1000, random_state=1)
    noisy = DeepGenerativeDensity(1, instance_noise=0.1, max_iter=1500, device="cpu", random_state=0).fit(X)
    assert noisy.sigma_ == pytest.approx(0.1, rel=0.2)
    assert wasserstein2(noisy.sample(1000, random_state=0), truth) < 0.15
    on_manifold = noisy.sample(1000, random_state=0)
    assert np.abs(np.linalg.norm(on_manifold, axis=1) - 1).mean() < 0.05
    plain = DeepGenerativeDensity(1, instance_noise=0, sigma_min=0.02, max_iter=1500, device="cpu", random_state=0)
    with pytest.warns(DensestWarning, match="collapsing"):
        plain.fit(X)
    assert plain.sigma_ < 0.03


def test_fixed_perturbation_is_reproducible_and_seeded(rng):
    X = make_manifold("curve", 200, random_state=0)
    a = DeepGenerativeDensity(1, instance_noise=0.05, **FAST).fit(X)
    b = DeepGenerativeDensity(1, instance_noise=0.05, **FAST).fit(X)
    c = DeepGenerativeDensity(1, instance_noise=0.05, **{**FAST, "random_state": 1}).fit(X)
    np.testing.assert_array_equal(a.score_samples(X), b.score_samples(X))
    assert not np.allclose(a.score_samples(X), c.score_samples(X))
    fresh = DeepGenerativeDensity(1, instance_noise=0.05, perturbation="fresh", **FAST).fit(X)
    assert not np.allclose(a.loss_curve_, fresh.loss_curve_)


def test_auto_noise_and_sigma_min_defaults():
    X = make_manifold("circle", 300, random_state=0)
    model = DeepGenerativeDensity(1, **FAST).fit(X)
    assert model.instance_noise_ == pytest.approx(auto_instance_noise(X))
    assert model.sigma_min_ == pytest.approx(1e-3 * model.scale_)
    assert model.sigma_ > model.sigma_min_
    assert len(model.loss_curve_) == len(model.sigma_curve_) == FAST["max_iter"]


def test_data_near_the_float64_limits_fit_as_rescaled_data():
    # Only the units change (log-densities shift by -d log c); squares of such data
    # overflow or underflow, which once made 1e-200-scale data "constant" and
    # training at 1e200 diverge.
    X = make_manifold("circle", 200, random_state=0)
    base = DeepGenerativeDensity(1, **FAST).fit(X)
    for c in (1e-200, 1e200):
        model = DeepGenerativeDensity(1, **FAST).fit(X * c)
        assert model.sigma_ == pytest.approx(base.sigma_ * c, rel=1e-9)
        np.testing.assert_allclose(model.score_samples(X[:5] * c), base.score_samples(X[:5]) - 2 * np.log(c),
                                   rtol=1e-9)  # fmt: skip


def test_sample_on_and_off_the_manifold():
    X = make_manifold("circle", 300, random_state=0)
    model = DeepGenerativeDensity(1, instance_noise=0.1, **FAST).fit(X)
    clean = model.sample(500, random_state=0)
    noisy = model.sample(500, noise=True, random_state=0)
    np.testing.assert_allclose(np.std(noisy - clean), model.sigma_, rtol=0.1)
    np.testing.assert_array_equal(clean, model.sample(500, random_state=0))


def test_score_samples_is_chunked_and_row_wise(monkeypatch):
    from densest.deep import _generative

    X = make_manifold("sphere", 100, ambient_dim=5, random_state=0)
    model = DeepGenerativeDensity(2, **FAST).fit(X)
    whole = model.score_samples(X)
    monkeypatch.setattr(_generative, "EVAL_ELEMENTS", 64 * 7)  # chunks of 7 rows
    np.testing.assert_allclose(model.score_samples(X), whole, rtol=1e-5, atol=1e-5)  # float32 sums
    np.testing.assert_allclose(model.score_samples(X[5:9]), whole[5:9], rtol=1e-5, atol=1e-5)
    assert model.transform(X).shape == (100, 2)


@pytest.mark.parametrize(
    ("params", "X", "match"),
    [
        ({"latent_dim": 2}, np.ones((10, 2)) * np.arange(10)[:, None], "latent_dim=2 must be smaller"),
        ({"instance_noise": -0.1}, None, "instance_noise"),
        ({"generator_sizes": (8, 0)}, None, "generator_sizes"),
        ({}, np.ones((10, 3)), "constant"),
        ({}, np.arange(10.0), "2D"),
        ({}, np.array([[0.0, 1.0], [np.nan, 2.0], [1.0, 1.0]]), "NaN"),
        ({"device": "cuda:7" if not torch.cuda.is_available() else "nonsense"}, None, "device"),
    ],
)
def test_bad_input_names_the_problem(params, X, match):
    if X is None:
        X = make_manifold("circle", 20, random_state=0)
    with pytest.raises(ValueError, match=match):
        DeepGenerativeDensity(**{"latent_dim": 1, **FAST, **params}).fit(X)


def test_pickle_round_trip_and_input_not_mutated():
    X = make_manifold("circle", 100, random_state=0)
    copy = X.copy()
    model = DeepGenerativeDensity(1, instance_noise=0.05, **FAST).fit(X)
    np.testing.assert_array_equal(X, copy)
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded.device_.type == "cpu"
    np.testing.assert_array_equal(loaded.score_samples(X), model.score_samples(X))
    np.testing.assert_array_equal(loaded.sample(5, random_state=3), model.sample(5, random_state=3))


def test_auto_instance_noise_reads_x_as_scikit_learn_does():
    X = make_manifold("circle", 100, random_state=0)
    assert auto_instance_noise(X.tolist()) == auto_instance_noise(X)
    for bad, match in ((X.astype(complex), "[Cc]omplex"), (X[:, 0], "2D"), (np.r_[X, [[np.nan, 0]]], "NaN")):
        with pytest.raises(ValueError, match=match):  # complex was cast with a warning, NaN gave NaN
            auto_instance_noise(bad)


def test_float32_input():
    X = make_manifold("circle", 100, random_state=0).astype(np.float32)
    model = DeepGenerativeDensity(1, **FAST).fit(X)
    assert model.score_samples(X).dtype == np.float64


def test_latent_features_are_named_for_set_output():
    # set_output was unavailable (no get_feature_names_out), so a pipeline set to pandas output failed.
    pd = pytest.importorskip("pandas")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = pd.DataFrame(make_manifold("sphere", 120, random_state=0), columns=["x", "y", "z"])
    pipe = make_pipeline(StandardScaler(), DeepGenerativeDensity(2, **FAST)).set_output(transform="pandas")
    Z = pipe.fit_transform(X)
    names = ["deepgenerativedensity0", "deepgenerativedensity1"]
    assert list(Z.columns) == names and Z.shape == (120, 2)
    np.testing.assert_array_equal(Z.to_numpy(), pipe[-1].transform(pipe[0].transform(X)).to_numpy())
    assert list(pipe.get_feature_names_out()) == names
    with pytest.raises(Exception, match="not fitted"):
        DeepGenerativeDensity(2).get_feature_names_out()
