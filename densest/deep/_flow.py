"""FlowDensity: a normalising flow (zuko) fitted by exact likelihood, with instance noise and Tweedie denoising."""

from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from densest.base import DensityMixin
from densest.deep._common import check_sizes, fit_scaling, resolve_noise, training_tensor
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

CHUNK = 65536


class FlowDensity(DensityMixin, BaseEstimator):
    """Normalising-flow density (zuko's NSF or MAF), fitted by exact likelihood with instance noise.

    A flow has an exact log-likelihood, so on data lying on a
    lower-dimensional manifold its maximum likelihood diverges: the density
    concentrates onto the data and log p grows without bound. Fitting the
    flow to Y = X + s xi (instance noise, as in Chae et al. 2023) makes the
    target a proper density, that of the smoothed law; Tweedie's formula
    E[X | Y = y] = y + s^2 grad log p_Y(y) then moves the flow's samples back
    towards the manifold (``denoise="tweedie"``, best in low codimension).
    Same API as
    :class:`DeepGenerativeDensity`, so the two likelihood models compare
    directly. Requires zuko (the ``deep`` extra).

    Parameters
    ----------
    instance_noise : "auto" or float, default="auto"
        Standard deviation s of the instance noise (data units); 0 fits the
        plain maximum likelihood. "auto": :func:`auto_instance_noise`.
    denoise : {"tweedie"} or None, default=None
        Default of :meth:`sample`: apply Tweedie's formula to the samples.
        Measured (``benchmarks/instance_noise.py``): it lowered W2 a little
        on the circle in R^2 and the curve in R^5 (0.117 -> 0.107, 0.155 ->
        0.141) but raised it on the 2-sphere in R^20 (0.31 -> 0.96): the
        formula needs the score in every normal direction, and the flow's
        errors there add up. Hence off by default.
    flow : {"nsf", "maf"}, default="nsf"
        Neural spline flow or masked autoregressive (affine) flow.
    transforms : int, default=3
        Number of autoregressive transforms.
    hidden_sizes : tuple of int, default=(64, 64)
        Hidden layers of each transform's network.
    perturbation : {"fixed", "fresh"}, default="fixed"
        Perturb the data once, or draw new noise at every step.
    max_iter : int, default=2000
        Adam steps (one mini-batch each).
    batch_size : int, default=256
        Rows per step, drawn with replacement.
    learning_rate : float, default=2e-3
        Adam's learning rate: constant for 80 % of the steps, then annealed
        by a cosine to 0.
    device : str or torch.device, default="auto"
        Torch device; "auto" is CUDA when available, else the CPU.
    random_state : int, RandomState or None, default=None
        Seed of the weights, the instance noise and the mini-batches.
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
    flow_ : zuko.flows.Flow
        The fitted flow, on standardised data (on the CPU after pickling).
    loss_curve_ : list of float
        Negative log-likelihood per step (standardised units).
    n_iter_ : int
        Number of training steps.
    device_ : torch.device
        Device of the fit.
    n_features_in_ : int
        Number of features.

    Examples
    --------
    >>> from densest.datasets import make_manifold
    >>> from densest.deep import FlowDensity
    >>> X = make_manifold("circle", 500, random_state=0)
    >>> flow = FlowDensity(instance_noise=0.05, max_iter=100, device="cpu", random_state=0).fit(X)
    >>> flow.sample(3, random_state=0).shape
    (3, 2)
    """

    _parameter_constraints = {
        "instance_noise": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "denoise": [StrOptions({"tweedie"}), None],
        "flow": [StrOptions({"nsf", "maf"})],
        "transforms": [Interval(Integral, 1, None, closed="left")],
        "hidden_sizes": ["array-like"],
        "perturbation": [StrOptions({"fixed", "fresh"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "device": [str, TorchDevice()],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(self, instance_noise="auto", *, denoise=None, flow="nsf", transforms=3, hidden_sizes=(64, 64),
                 perturbation="fixed", max_iter=2000, batch_size=256, learning_rate=2e-3, device="auto",
                 random_state=None, verbose=False):  # fmt: skip
        self.instance_noise = instance_noise
        self.denoise = denoise
        self.flow = flow
        self.transforms = transforms
        self.hidden_sizes = hidden_sizes
        self.perturbation = perturbation
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Perturb X (unless ``instance_noise=0``) and fit the flow by maximum likelihood.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (at least 2 rows and 2 features).
        y : None
            Ignored.

        Returns
        -------
        self : FlowDensity
        """
        torch = import_optional("torch", "deep")
        zuko = import_optional("zuko", "deep")
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2, ensure_min_features=2)
        hidden = check_sizes(self.hidden_sizes, "hidden_sizes")
        self.mean_, self.scale_ = fit_scaling(X)
        self.instance_noise_ = resolve_noise(self.instance_noise, X)
        self.device_ = resolve_device(torch, self.device)
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        kind = zuko.flows.NSF if self.flow == "nsf" else zuko.flows.MAF
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.flow_ = kind(features=X.shape[1], transforms=self.transforms, hidden_features=hidden).to(self.device_)
        y_std = training_tensor(torch, X, self.mean_, self.scale_, self.instance_noise_,
                                self.perturbation == "fixed", seed, self.device_)  # fmt: skip
        losses, _ = train_adam(
            torch, self.flow_.parameters(), lambda batch, generator: -self.flow_().log_prob(batch).mean(), y_std,
            noise=self.instance_noise_ / self.scale_, fresh=self.perturbation == "fresh" and self.instance_noise_ > 0,
            max_iter=self.max_iter, batch_size=self.batch_size, learning_rate=float(self.learning_rate), seed=seed,
            constant_fraction=0.8, progress=progress_bar() if self.verbose else None,
        )  # fmt: skip
        if not np.isfinite(losses).all():
            raise ValueError("Training diverged (non-finite loss): lower learning_rate or raise instance_noise.")
        self.loss_curve_, self.n_iter_ = losses, self.max_iter
        return self

    def _standardised(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return (X - self.mean_) / self.scale_

    def score_samples(self, X):
        """Exact log-density of the fitted flow (evaluated in float64).

        With instance noise this is the density of the perturbed data (the
        smoothed law), not of the singular target, which has no density.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
        """
        import torch

        Z = self._standardised(X)
        flow = float64_copy(self.flow_)
        out = np.empty(len(Z))
        for start in range(0, len(Z), CHUNK):
            with torch.no_grad():
                z = torch.as_tensor(Z[start : start + CHUNK], dtype=torch.float64, device=self.device_)
                out[start : start + CHUNK] = flow().log_prob(z).cpu().numpy()
        return out - self.n_features_in_ * np.log(self.scale_)

    def score_function(self, X):
        """Gradient of the fitted log-density, by automatic differentiation (float64).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Points.

        Returns
        -------
        score : ndarray of shape (n_samples, n_features)
        """
        return self._gradient(self._standardised(X)) / self.scale_

    def _gradient(self, Z):
        """grad log p of the standardised flow at the standardised rows Z."""
        import torch

        flow, out = float64_copy(self.flow_), np.empty_like(Z)
        for start in range(0, len(Z), CHUNK):
            z = torch.as_tensor(Z[start : start + CHUNK], dtype=torch.float64, device=self.device_).requires_grad_()
            (grad,) = torch.autograd.grad(flow().log_prob(z).sum(), z)
            out[start : start + CHUNK] = grad.cpu().numpy()
        return out

    def sample(self, n_samples=1, *, denoise="default", random_state=None):
        """Draw from the fitted flow, optionally denoised by Tweedie's formula.

        Parameters
        ----------
        n_samples : int, default=1
            Number of points.
        denoise : "default", "tweedie" or None, default="default"
            "tweedie": return y + s^2 grad log p(y) for flow samples y (the
            posterior mean of the clean point, which lies near the manifold);
            None: the flow's samples; "default": the estimator's ``denoise``.
        random_state : int, RandomState or None, default=None
            Seed.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self)
        n_samples = check_n_samples(n_samples)
        denoise = self.denoise if denoise == "default" else denoise
        if denoise not in ("tweedie", None):
            raise ValueError(f"denoise must be 'tweedie', None or 'default'; got {denoise!r}.")
        import torch

        seed = int(check_random_state(random_state).randint(2**31 - 1))
        with torch.random.fork_rng(devices=[self.device_] if self.device_.type == "cuda" else []), torch.no_grad():
            torch.manual_seed(seed)
            Z = self.flow_().sample((n_samples,)).double().cpu().numpy()
        if denoise == "tweedie" and self.instance_noise_ > 0:
            Z = Z + (self.instance_noise_ / self.scale_) ** 2 * self._gradient(Z)
        return self.mean_ + self.scale_ * Z

    def __getstate__(self):
        return cpu_state(self.__dict__, "flow_")
