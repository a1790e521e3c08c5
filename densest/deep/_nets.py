"""Torch models and loss of the deep generative family (no scikit-learn objects here).

The model is X = g(Z) + sigma * eps with Z ~ N(0, I_L), eps ~ N(0, I_D), on
standardised data. It is fitted by the importance-weighted (IWAE) bound with
an amortised Gaussian encoder q(z | x); log-sum-exp runs in float64.
"""

import math

from densest.utils._torch import make_mlp

LOG_2PI = math.log(2.0 * math.pi)
LOG_SCALE_RANGE = (-12.0, 4.0)  # clamp of the encoder's log standard deviation


class GenerativeModel:
    """Generator, encoder and noise level of X = g(Z) + sigma eps (holds torch modules only; picklable).

    Parameters
    ----------
    module : torch.nn.ModuleDict
        ``generator`` (L -> D), ``encoder`` (D -> 2L: mean and log standard
        deviation of q(z | x)) and ``noise`` (holding ``log_sigma``, a 0-d parameter).
    sigma_min : float
        Lower bound of sigma: ``sigma = sigma_min + exp(log_sigma)``.
    """

    def __init__(self, module, sigma_min):
        self.module, self.sigma_min = module, sigma_min

    @property
    def latent_dim(self):
        return self.module["generator"][0].in_features

    def sigma(self):
        return self.sigma_min + self.module["noise"]["log_sigma"].exp()

    def encode(self, x):
        """Mean and standard deviation of q(z | x)."""
        mean, log_scale = self.module["encoder"](x).chunk(2, dim=-1)
        return mean, log_scale.clamp(*LOG_SCALE_RANGE).exp()

    def log_weights(self, x, eps):
        """log p(x, z_k) - log q(z_k | x) for z_k = mean(x) + scale(x) eps_k, shape (K, n).

        ``eps`` is (K, n, L), or (K, 1, L) to share the draws across rows.
        """
        mean, scale = self.encode(x)
        z = mean + scale * eps
        log_q = -0.5 * (eps**2).sum(-1) - scale.log().sum(-1) - 0.5 * self.latent_dim * LOG_2PI
        log_prior = -0.5 * (z**2).sum(-1) - 0.5 * self.latent_dim * LOG_2PI
        sigma, D = self.sigma(), x.shape[-1]
        residual = ((x - self.module["generator"](z)) ** 2).sum(-1)
        log_lik = -0.5 * residual / sigma**2 - D * sigma.log() - 0.5 * D * LOG_2PI
        return log_lik + log_prior - log_q, z

    def iwae(self, x, eps):
        """The IWAE estimate of log p(x) per row (float64), and the self-normalised weights."""
        import torch

        log_w, z = self.log_weights(x, eps)
        log_w = log_w.double()
        bound = torch.logsumexp(log_w, dim=0) - math.log(log_w.shape[0])
        return bound, log_w, z


def make_model(torch, n_features, latent_dim, generator_sizes, encoder_sizes, sigma_min, sigma_init):
    """A fresh :class:`GenerativeModel` (weights from torch's current seed)."""
    module = torch.nn.ModuleDict({
        "generator": make_mlp(torch, latent_dim, generator_sizes, n_features),
        "encoder": make_mlp(torch, n_features, encoder_sizes, 2 * latent_dim),
        "noise": torch.nn.ParameterDict(
            {"log_sigma": torch.nn.Parameter(torch.tensor(math.log(max(sigma_init - sigma_min, 1e-6))))}
        ),
    })  # fmt: skip
    return GenerativeModel(module, sigma_min)


def iwae_loss(model, n_importance):
    """The negative IWAE bound of a batch, as a function of (batch, torch generator)."""
    import torch

    def loss(batch, generator):
        eps = torch.randn((n_importance, len(batch), model.latent_dim), generator=generator, device=batch.device)
        return -model.iwae(batch, eps)[0].mean()

    return loss

