"""Alain & Bengio's claims with densest.score.ScoreAutoEncoder, against analytic references.

Densities (10 000 training points each): a 2-D standard Gaussian; the notes'
three-component 2-D mixture "gmm3" (means (-1, 0), (1, 0), (0, 1.5), sd 0.3,
weights .3/.3/.4); the spiral t ~ U[3, 15], (0.04 t sin t, 0.04 t cos t) (a
curve: p_sigma by quadrature over t); a 1-D two-component mixture. The
reference is always the analytic score of p_sigma = p * N(0, diag(sigma_j^2))
with sigma_j = sigma * (std of feature j), what the DAE estimates (Tweedie).
Errors: relative L2 sqrt(mean ||s_hat - s||^2 / mean ||s||^2) at 2000 fresh
points of p (Hessians: Frobenius, 500 points).

Tables: score and Hessian errors and fit times (3 seeds); the sigma trade-off
against the raw score; the MH sampler (1000 chains x 1000 steps from N(0, I)
in standardised units) with the exact and the learned score, MMD^2 (biased
V-statistic, RBF, three bandwidths) against the two-sample floor; held-out log-likelihood of the
energy parameterisation against the truth, scikit-learn's GaussianMixture and
KernelDensity, and densest's KernelDensity. CPU, torch threads as set.

Usage: python benchmarks/score_ae.py [--seeds 3] [--tables score sigma 1d sampler likelihood]
"""

import argparse
import os
import platform
import time

import numpy as np
import torch
from scipy.special import logsumexp

from densest.score import ScoreAutoEncoder, _samplers

MEANS = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.5]])
WEIGHTS, SD = np.array([0.3, 0.3, 0.4]), 0.3


def gmm3(n, rng):
    k = rng.choice(3, n, p=WEIGHTS)
    return MEANS[k] + SD * rng.standard_normal((n, 2))


def mixture_parts(X, means, weights, var):
    diff = X[:, None, :] - means[None]
    logp = np.log(weights) - 0.5 * (diff**2 / var).sum(-1) - 0.5 * np.log(2 * np.pi * var).sum()
    return diff, logp, np.exp(logp - logsumexp(logp, axis=1, keepdims=True))


def mixture_score(X, means, weights, var):
    diff, _, resp = mixture_parts(X, means, weights, var)
    return (resp[:, :, None] * (-diff / var)).sum(1)


def mixture_hessian(X, means, weights, var):
    diff, _, resp = mixture_parts(X, means, weights, var)
    g = -diff / var
    s = (resp[:, :, None] * g).sum(1)
    return (resp[:, :, None, None] * g[..., :, None] * g[..., None, :]).sum(1) - np.diag(1 / var) - s[:, :, None] * s[:, None]


def mixture_log_density(X, means, weights, var):
    return logsumexp(mixture_parts(X, means, weights, var)[1], axis=1)


def spiral(n, rng):
    t = rng.uniform(3, 15, n)
    return np.column_stack([0.04 * t * np.sin(t), 0.04 * t * np.cos(t)])


def spiral_score(X, var, n_grid=20_000):
    """Score of the spiral smoothed by N(0, diag(var)): a mixture of 20 000 equal components on the curve."""
    t = np.linspace(3, 15, n_grid)
    curve = np.column_stack([0.04 * t * np.sin(t), 0.04 * t * np.cos(t)])
    out = np.empty_like(X)
    for start in range(0, len(X), 200):
        out[start : start + 200] = mixture_score(X[start : start + 200], curve, np.full(n_grid, 1 / n_grid), var)
    return out


def relative_error(estimate, truth):
    axes = tuple(range(1, truth.ndim))
    return float(np.sqrt(((estimate - truth) ** 2).sum(axis=axes).mean() / (truth**2).sum(axis=axes).mean()))


def fit(X, seed, **params):
    start = time.perf_counter()
    model = ScoreAutoEncoder(0.1, device="cpu", random_state=seed, **params).fit(X)
    return model, time.perf_counter() - start


def mmd2(a, b, scales):
    """Biased (V-statistic) MMD^2 with a sum of RBF kernels: positive, so a floor is a scale."""

    def kernel(x, y):
        d2 = ((x[:, None, :] - y[None]) ** 2).sum(-1)
        return sum(np.exp(-d2 / (2 * s * s)) for s in scales)

    return float(kernel(a, a).mean() + kernel(b, b).mean() - 2 * kernel(a, b).mean())


def score_table(seeds):
    print("\n### score and Hessian of p_sigma, sigma = 0.1 (default settings; 3 seeds: median [min-max])\n")
    print("| density | model | score rel. error | Hessian rel. error | fit s |")
    print("|---|---|---|---|---|")
    cases = [("gaussian", {}), ("gmm3", {}), ("gmm3", {"parameterization": "energy"}),
             ("gmm3", {"criterion": "rcae"}), ("spiral", {})]  # fmt: skip
    for density, params in cases:
        scores, hessians, times = [], [], []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            if density == "gaussian":
                X, T = rng.standard_normal((10_000, 2)), rng.standard_normal((2000, 2))
                model, seconds = fit(X, seed, **params)
                var = 1.0 + (model.sigma * model.scale_) ** 2
                truth, hess = -T / var, np.broadcast_to(-np.diag(1 / var), (500, 2, 2))
            elif density == "gmm3":
                X, T = gmm3(10_000, rng), gmm3(2000, rng)
                model, seconds = fit(X, seed, **params)
                var = SD**2 + (model.sigma * model.scale_) ** 2
                truth, hess = mixture_score(T, MEANS, WEIGHTS, var), mixture_hessian(T[:500], MEANS, WEIGHTS, var)
            else:
                X = spiral(10_000, rng)
                model, seconds = fit(X, seed, **params)
                var = (model.sigma * model.scale_) ** 2
                T = spiral(2000, rng) + np.sqrt(var) * rng.standard_normal((2000, 2))  # points of p_sigma
                truth, hess = spiral_score(T, var), None
            scores.append(relative_error(model.score_function(T), truth))
            if hess is not None:
                hessians.append(relative_error(model.hessian_log_density(T[:500]), hess))
            times.append(seconds)
        name = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults (dae, residual)"
        hess_cell = _spread(hessians) if hessians else "-"
        print(f"| {density} | {name} | {_spread(scores)} | {hess_cell} | {_spread(times, 1)} |", flush=True)


def _spread(values, digits=3):
    return f"{np.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def sigma_table():
    print("\n### the sigma trade-off (gmm3, seed 0): error against the score of p_sigma and of p itself\n")
    print("| sigma | vs grad log p_sigma | vs grad log p | exact gap between the two | Hessian vs p_sigma |")
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    X, T = gmm3(10_000, rng), gmm3(2000, rng)
    raw = mixture_score(T, MEANS, WEIGHTS, np.full(2, SD**2))
    for sigma in (0.05, 0.1, 0.2, 0.4):
        model = ScoreAutoEncoder(sigma, device="cpu", random_state=0).fit(X)
        var = SD**2 + (sigma * model.scale_) ** 2
        smoothed = mixture_score(T, MEANS, WEIGHTS, var)
        est = model.score_function(T)
        hess = relative_error(model.hessian_log_density(T[:500]), mixture_hessian(T[:500], MEANS, WEIGHTS, var))
        print(f"| {sigma} | {relative_error(est, smoothed):.3f} | {relative_error(est, raw):.3f} | "
              f"{relative_error(smoothed, raw):.3f} | {hess:.3f} |", flush=True)  # fmt: skip


def sampler_table():
    print("\n### MH sampling of gmm3's p_sigma (1000 chains x 1000 steps from N(0, I) standardised; seed 0)\n")
    print("| score used | method | MMD^2 | x floor | acceptance | s |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    X = gmm3(10_000, rng)
    models = {"learned (residual)": fit(X, 0)[0], "learned (energy)": fit(X, 0, parameterization="energy")[0]}
    var = SD**2 + (0.1 * models["learned (residual)"].scale_) ** 2
    truth = [gmm3(1000, rng) + np.sqrt(var - SD**2) * rng.standard_normal((1000, 2)) for _ in range(7)]
    scales = (0.1, 0.3, 1.0)
    floor = np.mean([mmd2(truth[i], truth[i + 1], scales) for i in range(0, 6, 2)])
    print(f"| two independent samples of p_sigma (floor, mean of 3 pairs) | | {floor:.2e} | 1.0 | | |")
    for method in ("mh", "mala"):
        model = models["learned (residual)"]

        def exact(z, model=model):  # standardised units
            x = model.mean_ + model.scale_ * z.numpy()
            return torch.as_tensor(mixture_score(x, MEANS, WEIGHTS, var) * model.scale_, dtype=z.dtype)

        gen = torch.Generator().manual_seed(0)
        start_z = torch.randn(1000, 2, generator=gen, dtype=torch.float64)
        t0 = time.perf_counter()
        step = 0.25 if method == "mh" else 0.15
        z, acc = _samplers.run_chain(torch, exact, start_z, method=method, n_steps=1000, step_size=step, generator=gen)
        samples = model.mean_ + model.scale_ * z.numpy()
        value = mmd2(samples, truth[6], scales)
        print(f"| exact | {method} | {value:.2e} | {value / floor:.1f} | {acc:.2f} | {time.perf_counter() - t0:.1f} |")
        for name, learned in models.items():
            t0 = time.perf_counter()
            samples, acc = learned.sample(1000, method=method, n_steps=1000, random_state=0, return_acceptance=True)
            value = mmd2(samples, truth[6], scales)
            print(f"| {name} | {method} | {value:.2e} | {value / floor:.1f} | {acc:.2f} | "
                  f"{time.perf_counter() - t0:.1f} |", flush=True)  # fmt: skip


def likelihood_table():
    from sklearn.mixture import GaussianMixture
    from sklearn.neighbors import KernelDensity as SklearnKDE

    from densest.kde import KernelDensity

    print("\n### held-out log-likelihood of gmm3's p_sigma (2000 points of p_sigma, seed 0)\n")
    print("| model | mean log-likelihood | mean abs error vs truth | fit s |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    X = gmm3(10_000, rng)
    model, seconds = fit(X, 0, parameterization="energy")
    var = SD**2 + (0.1 * model.scale_) ** 2
    T = gmm3(2000, rng) + np.sqrt(var - SD**2) * rng.standard_normal((2000, 2))
    # The others see training data smoothed the same way, so that all estimate p_sigma.
    X_sigma = X + np.sqrt(var - SD**2) * rng.standard_normal(X.shape)
    truth = mixture_log_density(T, MEANS, WEIGHTS, var)
    print(f"| truth | {truth.mean():.4f} | 0 | |")
    rows = [("ScoreAutoEncoder (energy)", model.score_samples(T), seconds)]
    for name, other in (("sklearn GaussianMixture(3)", GaussianMixture(3, random_state=0)),
                        ("sklearn KernelDensity (Scott)", SklearnKDE(bandwidth="scott")),
                        ("densest KernelDensity (auto)", KernelDensity())):  # fmt: skip
        t0 = time.perf_counter()
        other.fit(X_sigma)
        rows.append((name, other.score_samples(T), time.perf_counter() - t0))
    for name, log_p, secs in rows:
        print(f"| {name} | {log_p.mean():.4f} | {np.abs(log_p - truth).mean():.4f} | {secs:.2f} |")


def one_d_table():
    print("\n### 1-D: (r(x) - x) against sigma^2 d log p_sigma / dx on a grid (mixture 0.5 N(-1, 0.5^2) + 0.5 N(1, 0.3^2))\n")
    print("| sigma | max abs error / max abs target | rel. L2 |")
    print("|---|---|---|")
    rng = np.random.default_rng(0)
    means, sds = np.array([[-1.0], [1.0]]), np.array([0.5, 0.3])
    k = rng.choice(2, 10_000)
    X = means[k] + sds[k, None] * rng.standard_normal((10_000, 1))
    grid = np.linspace(-2.0, 2.0, 401)[:, None]
    for sigma in (0.05, 0.1, 0.2):
        model = ScoreAutoEncoder(sigma, device="cpu", random_state=0).fit(X)
        noise = (sigma * model.scale_[0]) ** 2
        # two components with different variances: score of each, weighted by responsibilities
        var = sds**2 + noise
        logp = np.log(0.5) - 0.5 * (grid - means.T) ** 2 / var - 0.5 * np.log(2 * np.pi * var)
        resp = np.exp(logp - logsumexp(logp, axis=1, keepdims=True))
        target = noise * (resp * (-(grid - means.T) / var)).sum(1)
        shift = model.reconstruct(grid)[:, 0] - grid[:, 0]
        print(f"| {sigma} | {np.abs(shift - target).max() / np.abs(target).max():.3f} | "
              f"{np.sqrt(((shift - target) ** 2).mean() / (target**2).mean()):.3f} |", flush=True)  # fmt: skip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--tables", nargs="+", default=["score", "sigma", "1d", "sampler", "likelihood"],
                        choices=["score", "sigma", "1d", "sampler", "likelihood"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"torch {torch.__version__} with {torch.get_num_threads()} threads, CPU")  # fmt: skip
    tables = {"score": lambda: score_table(args.seeds), "sigma": sigma_table, "1d": one_d_table,
              "sampler": sampler_table, "likelihood": likelihood_table}  # fmt: skip
    for name in args.tables:
        tables[name]()


if __name__ == "__main__":
    main()
