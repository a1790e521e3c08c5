"""Torch networks and training of the score-matching auto-encoder (no scikit-learn objects here).

All functions work on standardised inputs z. The reconstruction is
``r(z) = z + sigma^2 s(z)`` with ``s`` the learned score: either an MLP with d
outputs ("residual") or minus the gradient of a scalar MLP ("energy",
conservative by construction).
"""

from densest.utils._torch import make_mlp, train_adam


def make_zero_output_mlp(torch, n_in, hidden, n_out):
    """A SiLU multilayer perceptron whose output layer starts at zero (the model starts at its baseline)."""
    net = make_mlp(torch, n_in, hidden, n_out)
    torch.nn.init.zeros_(net[-1].weight)
    torch.nn.init.zeros_(net[-1].bias)
    return net


class ScoreNet:
    """The score s(z) of the standardised data, with its energy when conservative.

    The network learns a correction to the standard normal smoothed by the
    noise, the natural baseline for standardised data: s(z) = -z / (1 +
    sigma^2) + net(z), or E(z) = ||z||^2 / (2 (1 + sigma^2)) + net(z). The
    baseline makes Gaussian data the zero correction and keeps exp(-E)
    integrable. Holds only the torch module (picklable); torch is imported by
    the methods.

    Parameters
    ----------
    net : torch.nn.Module
        From :func:`make_zero_output_mlp`, with 1 output (energy) or d outputs (score).
    energy : bool
        s = -grad E; else s is the baseline plus net(z).
    sigma : float
        Noise level (standardised units).
    """

    def __init__(self, net, energy, sigma):
        self.net, self.energy, self.variance = net, energy, 1.0 + sigma**2

    def energy_of(self, z):
        """E(z) (energy parameterisation only)."""
        return 0.5 * (z**2).sum(dim=1) / self.variance + self.net(z)[:, 0]

    def score(self, z, create_graph=False):
        """s(z); differentiable in the weights when ``create_graph``."""
        if not self.energy:
            return self.net(z) - z / self.variance
        import torch

        with torch.enable_grad():
            if not z.requires_grad:  # else z is part of an outer graph (Jacobians, RCAE loss)
                z = z.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.energy_of(z).sum(), z, create_graph=create_graph)
        return -grad


def jacobian(torch, net, z, create_graph=False):
    """Exact Jacobian ds/dz, shape (n, d, d), by d vector-Jacobian products."""
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        s = net.score(z, create_graph=True)
        rows = [torch.autograd.grad(s[:, i].sum(), z, create_graph=create_graph, retain_graph=True)[0]
                for i in range(z.shape[1])]  # fmt: skip
    return torch.stack(rows, dim=1)


def dae_loss(torch, net, z, sigma, generator):
    """Denoising loss ||r(z + sigma e) - z||^2 / sigma^4 = ||s(z + sigma e) + e / sigma||^2, batch mean."""
    noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
    s = net.score(z + sigma * noise, create_graph=True)
    return ((s + noise / sigma) ** 2).sum(dim=1).mean()


def rcae_loss(torch, net, z, sigma, generator, exact):
    """Reconstruction-contractive loss, divided by sigma^4, up to a constant.

    ``||r(z) - z||^2 + sigma^2 ||dr/dz||_F^2`` with ``r = z + sigma^2 s`` is
    ``sigma^4 (||s||^2 + 2 tr J + sigma^2 ||J||_F^2) + sigma^2 d``: the trace and
    Frobenius norm of J = ds/dz exactly (d backward passes) or by Hutchinson's
    estimator with one Rademacher probe v (``v.Jv`` and ``||Jv||^2``).
    """
    with torch.enable_grad():
        z = z.detach().requires_grad_(True)
        s = net.score(z, create_graph=True)
        if exact:
            J = torch.stack([torch.autograd.grad(s[:, i].sum(), z, create_graph=True)[0]
                             for i in range(z.shape[1])], dim=1)  # fmt: skip
            trace, frob = J.diagonal(dim1=1, dim2=2).sum(dim=1), (J**2).sum(dim=(1, 2))
        else:
            probe = torch.randint(0, 2, z.shape, generator=generator, device=z.device).to(z.dtype) * 2 - 1
            # J^T v by one backward pass; v.J^T v = v.J v and ||J^T v||^2 estimates ||J||_F^2 too.
            jtv = torch.autograd.grad((s * probe).sum(), z, create_graph=True)[0]
            trace, frob = (jtv * probe).sum(dim=1), (jtv**2).sum(dim=1)
    return ((s**2).sum(dim=1) + 2.0 * trace + sigma**2 * frob).mean()


def train(torch, net, z, *, sigma, criterion, exact_jacobian, max_iter, batch_size, learning_rate, seed,
          progress=None):  # fmt: skip
    """Adam with cosine annealing over ``max_iter`` steps of mini-batches drawn with replacement.

    Returns the per-step losses (a list of floats, read once at the end so the
    loop has no host synchronisation).
    """
    if criterion == "dae":
        def loss(batch, generator):
            return dae_loss(torch, net, batch, sigma, generator)
    else:
        def loss(batch, generator):
            return rcae_loss(torch, net, batch, sigma, generator, exact_jacobian)
    losses, _ = train_adam(torch, net.net.parameters(), loss, z, max_iter=max_iter, batch_size=batch_size,
                           learning_rate=learning_rate, seed=seed, progress=progress)  # fmt: skip
    return losses
