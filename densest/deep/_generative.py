"""DeepGenerativeDensity: a deep generative model fitted by likelihood, with instance noise (Chae et al.)."""

import math
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state

from densest.base import DensityMixin
from densest.deep import _nets
from densest.deep._common import check_sizes, fit_scaling, resolve_noise, training_tensor
from densest.exceptions import DensestWarning
from densest.utils import import_optional
from densest.utils._torch import cpu_state, float64_copy, progress_bar, resolve_device, train_adam
from densest.utils.validation import (
    Interval,
    StrOptions,
    TorchDevice,
    check_is_fitted,
    check_n_samples,
    fit_context,
    validate_data,
)

EVAL_ELEMENTS = 2**18  # rows x importance samples per evaluation chunk
SIGMA_INIT = 0.5  # initial sigma, in units of the data's scale


class DeepGenerativeDensity(ClassNamePrefixFeaturesOutMixin, TransformerMixin, DensityMixin, BaseEstimator):
    """Deep generative density X = g(Z) + sigma eps, fitted by likelihood with instance noise.

    A generator network g maps a latent Z ~ N(0, I_L) to R^D and sigma is a
    learned isotropic noise level; the model is fitted by maximising the
    importance-weighted (IWAE) lower bound on the log-likelihood, with an
    amortised Gaussian encoder q(z | x) as the proposal (Burda et al. 2016).
    For data on or near an L-dimensional manifold, the plain maximum
    likelihood estimate is inconsistent: sigma collapses towards 0 while the
    likelihood grows and the distribution of g(Z) gets worse. Chae, Kim, Kim
    & Lin (JMLR 2023) showed that perturbing the data with instance noise,
    Y = X + s * xi with xi ~ N(0, I_D), restores consistency; the fitted
    sigma then estimates the total noise (about s on a noise-free manifold)
    and ``sample(noise=False)`` (the law of g(Z)) estimates the singular
    target. Without instance noise, a warning says when sigma collapses
    (ends within 1.5 times ``sigma_min``, or halves over the second half of
    training).

    Inputs are centred and divided by one scalar scale (the root mean
    feature variance), so isotropic noise stays isotropic; every noise level
    below is in the units of the data.

    Parameters
    ----------
    latent_dim : int, default=2
        L, the dimension of the latent space (smaller than the number of
        features).
    instance_noise : "auto" or float, default="auto"
        Standard deviation s of the instance noise; 0 fits the plain maximum
        likelihood. "auto": :func:`densest.deep.auto_instance_noise`.
    perturbation : {"fixed", "fresh"}, default="fixed"
        "fixed": the data are perturbed once before training (the paper's
        estimator). "fresh": new noise at every step (the likelihood of the
        smoothed law X + s xi).
    sigma_min : float or None, default=None
        Lower bound of the learned sigma; None is 1e-3 times the data's
        scale.
    generator_sizes : tuple of int, default=(64, 64)
        Hidden layers of g (SiLU). ``()`` makes g linear: the model is then
        probabilistic PCA.
    encoder_sizes : tuple of int, default=(64, 64)
        Hidden layers of the encoder (SiLU); ``()`` is linear (the exact
        posterior family of probabilistic PCA).
    n_importance : int, default=16
        K, importance samples per point in the training bound.
    n_importance_eval : int, default=1000
        Importance samples per point in ``score_samples`` and ``transform``.
    max_iter : int, default=3000
        Adam steps (one mini-batch each).
    batch_size : int, default=256
        Rows per step, drawn with replacement.
    learning_rate : float, default=5e-3
        Adam's learning rate: constant for 80 % of the steps, then annealed
        by a cosine to 0.
    device : str or torch.device, default="auto"
        Torch device; "auto" is CUDA when available, else the CPU.
    random_state : int, RandomState or None, default=None
        Seed of the weights, the instance noise, the mini-batches and the
        importance samples.
    verbose : bool, default=False
        Show a progress bar (tqdm when installed).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Centre of the training data.
    scale_ : float
        Root mean variance of the features.
    instance_noise_ : float
        The instance noise used.
    sigma_min_ : float
        The lower bound of sigma used.
    sigma_ : float
        Learned noise level of the model.
    module_ : torch.nn.ModuleDict
        Generator, encoder and noise parameter (on the CPU after pickling).
    loss_curve_ : list of float
        Negative IWAE bound per step (standardised units).
    sigma_curve_ : list of float
        Learned sigma per step.
    n_iter_ : int
        Number of training steps.
    device_ : torch.device
        Device of the fit.
    eval_seed_ : int
        Seed of the standard normal draws that ``score_samples`` and ``transform``
        share across rows (drawn on the CPU: the same on every device).
    n_features_in_ : int
        Number of features.

    Examples
    --------
    >>> from densest.datasets import make_manifold
    >>> from densest.deep import DeepGenerativeDensity
    >>> X = make_manifold("circle", 500, random_state=0)
    >>> model = DeepGenerativeDensity(latent_dim=1, instance_noise=0.05, max_iter=300,
    ...                               device="cpu", random_state=0).fit(X)
    >>> model.sample(3, random_state=0).shape
    (3, 2)
    >>> bool(np.isfinite(model.score(X)))
    True
    """

    _parameter_constraints = {
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "instance_noise": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "perturbation": [StrOptions({"fixed", "fresh"})],
        "sigma_min": [None, Interval(Real, 0, None, closed="neither")],
        "generator_sizes": ["array-like"],
        "encoder_sizes": ["array-like"],
        "n_importance": [Interval(Integral, 1, None, closed="left")],
        "n_importance_eval": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "device": [str, TorchDevice()],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(self, latent_dim=2, *, instance_noise="auto", perturbation="fixed", sigma_min=None,
                 generator_sizes=(64, 64), encoder_sizes=(64, 64), n_importance=16, n_importance_eval=1000,
                 max_iter=3000, batch_size=256, learning_rate=5e-3, device="auto", random_state=None,
                 verbose=False):  # fmt: skip
        self.latent_dim = latent_dim
        self.instance_noise = instance_noise
        self.perturbation = perturbation
        self.sigma_min = sigma_min
        self.generator_sizes = generator_sizes
        self.encoder_sizes = encoder_sizes
        self.n_importance = n_importance
        self.n_importance_eval = n_importance_eval
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Perturb X (unless ``instance_noise=0``) and fit the generator, encoder and sigma.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (at least 2 rows, more features than ``latent_dim``).
        y : None
            Ignored.

        Returns
        -------
        self : DeepGenerativeDensity
        """
        torch = import_optional("torch", "deep")
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2)
        if self.latent_dim >= X.shape[1]:
            raise ValueError(f"latent_dim={self.latent_dim} must be smaller than n_features = {X.shape[1]}: the "
                             "model describes data near a lower-dimensional manifold.")  # fmt: skip
        generator_sizes = check_sizes(self.generator_sizes, "generator_sizes")
        encoder_sizes = check_sizes(self.encoder_sizes, "encoder_sizes")
        self.mean_, self.scale_ = fit_scaling(X)
        self.instance_noise_ = resolve_noise(self.instance_noise, X)
        self.sigma_min_ = 1e-3 * self.scale_ if self.sigma_min is None else float(self.sigma_min)
        self.device_ = resolve_device(torch, self.device)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        self.eval_seed_ = seed + 1
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = _nets.make_model(torch, X.shape[1], self.latent_dim, generator_sizes, encoder_sizes,
                                     self.sigma_min_ / self.scale_, SIGMA_INIT)  # fmt: skip
        self.module_ = model.module.to(self.device_)
        y_std = training_tensor(torch, X, self.mean_, self.scale_, self.instance_noise_,
                                self.perturbation == "fixed", seed, self.device_)  # fmt: skip
        noise = self.instance_noise_ / self.scale_
        model = self._model()
        losses, sigmas = train_adam(
            torch, self.module_.parameters(), _nets.iwae_loss(model, self.n_importance), y_std, noise=noise,
            fresh=self.perturbation == "fresh" and noise > 0, max_iter=self.max_iter, batch_size=self.batch_size,
            learning_rate=float(self.learning_rate), seed=seed, constant_fraction=0.8, track=model.sigma,
            progress=progress_bar() if self.verbose else None,
        )  # fmt: skip
        if not np.isfinite(losses).all():
            raise ValueError("Training diverged (non-finite loss): lower learning_rate or raise sigma_min.")
        self.loss_curve_, self.n_iter_ = losses, self.max_iter
        self._n_features_out = self.latent_dim  # names for get_feature_names_out and set_output
        self.sigma_curve_ = [s * self.scale_ for s in sigmas]
        self.sigma_ = self.sigma_curve_[-1]
        if self.instance_noise_ == 0 and self._collapsing():
            warnings.warn(f"The learned sigma is collapsing without instance noise ({self.sigma_:.3g} at the end, "
                          f"{self.sigma_curve_[len(self.sigma_curve_) // 2]:.3g} half-way, sigma_min "
                          f"{self.sigma_min_:.3g}): the data look singular (on a lower-dimensional manifold), where "
                          "maximum likelihood is inconsistent. Use instance_noise='auto' or a positive value.",
                          DensestWarning, stacklevel=2)  # fmt: skip
        return self

    def _collapsing(self):
        """sigma near its lower bound, or still halving over the second half of training."""
        half_way = self.sigma_curve_[len(self.sigma_curve_) // 2]
        return self.sigma_ < 1.5 * self.sigma_min_ or self.sigma_ < 0.5 * half_way

    def _model(self):
        return _nets.GenerativeModel(self.module_, self.sigma_min_ / self.scale_)

    def _importance(self, X, reduce):
        """``reduce(bound, log_w, z)`` over chunks of rows.

        The standard normal draws are fixed at fit time and shared across
        rows, and the networks run in float64, so a row's result does not
        depend on the other rows.
        """
        import torch

        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Z = (X - self.mean_) / self.scale_
        K = self.n_importance_eval
        generator = torch.Generator().manual_seed(self.eval_seed_)  # on the CPU: the same draws on every device
        half = torch.randn(((K + 1) // 2, 1, self.latent_dim), generator=generator, dtype=torch.float64)
        eps = torch.cat([half, -half])[:K].to(self.device_)  # antithetic pairs: the draws' mean is 0 for even K
        chunk = max(1, EVAL_ELEMENTS // K)
        model, parts = _nets.GenerativeModel(float64_copy(self.module_), self.sigma_min_ / self.scale_), []
        for start in range(0, len(Z), chunk):
            x = torch.as_tensor(Z[start : start + chunk], dtype=torch.float64, device=self.device_)
            with torch.no_grad():
                parts.append(reduce(*model.iwae(x, eps)).cpu().numpy())
        return np.concatenate(parts) if parts else np.empty((0,))

    def score_samples(self, X):
        """Log-density of the fitted model at X (importance-weighted estimate, in float64).

        The IWAE estimate with ``n_importance_eval`` draws from the encoder:
        a stochastic lower bound on log p(x) whose expected gap shrinks as
        the number of draws grows. The draws are fixed at fit time, so the
        result is deterministic. With instance noise this is the density of
        the perturbed data Y (the smoothed law), not of the singular target,
        which has no density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        log_p = self._importance(X, lambda bound, log_w, z: bound)
        return log_p - self.n_features_in_ * math.log(self.scale_)

    def transform(self, X):
        """Posterior mean of the latent variable, E[Z | x], by self-normalised importance sampling.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        Z : ndarray of shape (n_samples, latent_dim)
        """
        import torch

        def posterior_mean(bound, log_w, z):
            weights = torch.softmax(log_w, dim=0).to(z.dtype)
            return (weights.unsqueeze(-1) * z).sum(dim=0).double()

        Z = self._importance(X, posterior_mean)
        return Z.reshape(-1, self.latent_dim)

    def sample(self, n_samples=1, *, noise=False, random_state=None):
        """Draw from the fitted model.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points.
        noise : bool, default=False
            False: g(Z), the estimate of the (singular) target, on the
            learned manifold. True: g(Z) + sigma eps, the fitted density.
        random_state : int, RandomState or None, default=None
            Seed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        n_samples = check_n_samples(n_samples)
        import torch

        rng = check_random_state(random_state)
        latent = torch.as_tensor(rng.standard_normal((n_samples, self.latent_dim)), dtype=torch.float32,
                                 device=self.device_)  # fmt: skip
        with torch.no_grad():
            G = self.module_["generator"](latent).double().cpu().numpy()
        X = self.mean_ + self.scale_ * G
        if noise:
            X += self.sigma_ * rng.standard_normal(X.shape)
        return X

    def __getstate__(self):
        return cpu_state(self.__dict__, "module_")
