"""MCMC from a score function (and optionally an energy), in torch (no scikit-learn objects here).

``score(z)`` returns grad log p at each row; ``energy(z)``, when given, -log p
up to a constant. Without an energy, the energy difference of a move z -> z'
is Alain & Bengio's path-integrated estimate: minus the mean of
``score((1 - t) z + t z') . (z' - z)`` over ``n_path`` points t in [0, 1] (the
line integral of the score along the segment, by the trapezoid-free midpoint
rule of the authors' code: t = linspace(0, 1, n_path)).
"""

METHODS = ("mh", "mala", "langevin")


def energy_difference(torch, score, energy, z, proposal, n_path):
    """E(proposal) - E(z) per chain: exact with ``energy``, else path-integrated."""
    if energy is not None:
        return energy(proposal) - energy(z)
    step = proposal - z
    total = torch.zeros(z.shape[0], dtype=z.dtype, device=z.device)
    for t in torch.linspace(0.0, 1.0, n_path, dtype=torch.float64).tolist():
        total += (score(z + t * step) * step).sum(dim=1)
    return -total / n_path


def run_chain(torch, score, start, *, method, n_steps, step_size, generator, energy=None, n_path=5):
    """Run ``len(start)`` chains for ``n_steps`` steps; returns (final states, acceptance rate).

    method "mh": random-walk proposal z + step_size N(0, I), accepted with
    probability min(1, exp(-dE)). "mala": Langevin proposal
    z + step_size^2 / 2 s(z) + step_size N(0, I) with the Metropolis-Hastings
    correction for its asymmetry. "langevin": the unadjusted Langevin step
    (every move accepted; biased by O(step_size^2)).
    """
    z = start.clone()
    n, accepted = z.shape[0], torch.zeros((), dtype=z.dtype, device=z.device)
    half = 0.5 * step_size**2
    grad = score(z) if method != "mh" else None
    for _ in range(n_steps):
        noise = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        if method == "mh":
            proposal = z + step_size * noise
            log_ratio = -energy_difference(torch, score, energy, z, proposal, n_path)
        else:
            proposal = z + half * grad + step_size * noise
            if method == "langevin":
                z, grad = proposal, score(proposal)
                accepted += n
                continue
            grad_new = score(proposal)
            forward = ((proposal - z - half * grad) ** 2).sum(dim=1)
            backward = ((z - proposal - half * grad_new) ** 2).sum(dim=1)
            log_ratio = (-energy_difference(torch, score, energy, z, proposal, n_path)
                         + (forward - backward) / (2.0 * step_size**2))  # fmt: skip
        uniform = torch.rand(n, generator=generator, device=z.device, dtype=z.dtype)
        accept = torch.log(uniform) < log_ratio
        z = torch.where(accept[:, None], proposal, z)
        if method == "mala":
            grad = torch.where(accept[:, None], grad_new, grad)
        accepted += accept.sum()
    return z, float(accepted) / (n * max(n_steps, 1))
