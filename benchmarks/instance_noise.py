"""Instance noise for singular targets (Chae, Kim, Kim & Lin 2023) with densest.deep, against the truth.

Truth: noise-free (sigma_0 = 0) draws from ``densest.datasets.make_manifold``: the circle in R^2
(von Mises angle, concentration 1), the curve in R^5, the 2-sphere (von Mises-Fisher,
concentration 1) embedded isometrically in R^20; n = 2000 training points. Each model's samples
on the manifold (DeepGenerativeDensity: g(Z); FlowDensity: flow samples, raw or Tweedie-denoised;
GaussianMixture and KernelDensity: their samples) are compared with 1000 fresh true points: exact
W2 (optimal matching) and MMD^2 (Gaussian kernel, median bandwidth). The floor is W2 between two
independent true samples of 1000. Medians over seeds; CPU, torch threads = 1 per job.

Tables: "main" (default settings: 3000 steps for the generative model, 2000 for the flow),
"long" (the circle, 12 000 steps: the plain MLE's collapse as in the notes), "rule" (the auto
instance noise on the circle at n = 500, 2000, 8000 against fixed values), "constant" (the circle, 12 000
steps at the notes' constant learning rate, without the estimator's final annealing).

Usage: python benchmarks/instance_noise.py [--seeds 3] [--jobs 2] [--tables main long rule constant]
"""

import argparse
import os
import platform
import time

import numpy as np
from joblib import Parallel, delayed

DATA = {"circle": (None, 1), "curve": (None, 1), "sphere": (20, 2)}  # name -> (ambient dim, latent dim)


def truth(name, n, seed):
    from densest.datasets import make_manifold

    return make_manifold(name, n, ambient_dim=DATA[name][0], random_state=seed)


def fit_and_sample(name, method, seed, n=2000, max_iter=None, noise="auto"):
    """Fit one model on n points and return its 1000 samples (on the manifold) and fit facts."""
    import torch

    torch.set_num_threads(1)
    from sklearn.mixture import GaussianMixture

    from densest.deep import DeepGenerativeDensity, FlowDensity
    from densest.kde import KernelDensity

    X = truth(name, n, seed)
    start, facts = time.perf_counter(), {}
    if method.startswith("dgd"):
        kwargs = {} if max_iter is None else {"max_iter": max_iter}
        model = DeepGenerativeDensity(DATA[name][1], instance_noise=0 if method == "dgd plain" else noise,
                                      device="cpu", random_state=seed, **kwargs).fit(X)  # fmt: skip
        samples = model.sample(1000, random_state=seed + 1)
        facts = {"sigma": model.sigma_, "noise": model.instance_noise_}
    elif method.startswith("flow"):
        model = FlowDensity(0 if method == "flow plain" else noise, device="cpu", random_state=seed).fit(X)
        samples = model.sample(1000, denoise="tweedie" if method == "flow tweedie" else None, random_state=seed + 1)
        facts = {"noise": model.instance_noise_}
    elif method == "gmm":
        samples = GaussianMixture(10, random_state=seed).fit(X).sample(1000)[0]
    else:
        samples = KernelDensity().fit(X).sample(1000, random_state=seed + 1)
    facts["seconds"] = time.perf_counter() - start
    return samples, facts


def evaluate(name, method, seed, **kwargs):
    from densest.deep import mmd_squared, wasserstein2

    samples, facts = fit_and_sample(name, method, seed, **kwargs)
    T = truth(name, 1000, 10_000 + seed)
    return {"w2": wasserstein2(samples, T), "mmd2": mmd_squared(samples, T), **facts}


def floor(name, seed):
    from densest.deep import wasserstein2

    return wasserstein2(truth(name, 1000, 10_000 + seed), truth(name, 1000, 20_000 + seed))


def median(results, key):
    values = [r[key] for r in results if key in r]
    return float(np.median(values)) if values else float("nan")


def print_table(title, header, rows):
    print(f"\n{title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row) + " |")


def run(jobs, tasks):
    """tasks: dict key -> (callable, args, kwargs); returns key -> result, computed in parallel."""
    keys = list(tasks)
    results = Parallel(n_jobs=jobs)(delayed(tasks[k][0])(*tasks[k][1], **tasks[k][2]) for k in keys)
    return dict(zip(keys, results))


def main_table(seeds, jobs):
    methods = ["dgd plain", "dgd auto", "flow plain", "flow auto", "flow tweedie", "gmm", "kde"]
    tasks = {(d, m, s): (evaluate, (d, m, s), {}) for d in DATA for m in methods for s in seeds}
    tasks.update({(d, "floor", s): (floor, (d, s), {}) for d in DATA for s in seeds})
    out = run(jobs, tasks)
    rows = []
    for d in DATA:
        base = float(np.median([out[(d, "floor", s)] for s in seeds]))
        for m in methods:
            res = [out[(d, m, s)] for s in seeds]
            rows.append((d, m, median(res, "w2"), median(res, "w2") / base, median(res, "mmd2"), median(res, "sigma"),
                         median(res, "noise"), median(res, "seconds"), " ".join(f"{r['w2']:.3f}" for r in res)))  # fmt: skip
        rows.append((d, "two-sample floor", base, 1.0, "", "", "", "", ""))
    print_table(f"Main: n = 2000, default settings, median of {len(seeds)} seeds",
                ("data", "model", "W2", "W2 / floor", "MMD^2", "sigma_hat", "instance noise", "fit s", "W2 per seed"),
                rows)  # fmt: skip


def long_table(seeds, jobs):
    tasks = {(m, s): (evaluate, ("circle", m, s), {"max_iter": 12_000}) for m in ("dgd plain", "dgd auto")
             for s in seeds}  # fmt: skip
    out = run(jobs, tasks)
    rows = []
    for m in ("dgd plain", "dgd auto"):
        res = [out[(m, s)] for s in seeds]
        rows.append((m, median(res, "w2"), median(res, "mmd2"), median(res, "sigma"), median(res, "noise"),
                     median(res, "seconds"), " ".join(f"{r['w2']:.3f}/{r['sigma']:.4f}" for r in res)))  # fmt: skip
    print_table(f"Long training: circle, 12 000 steps, median of {len(seeds)} seeds",
                ("model", "W2", "MMD^2", "sigma_hat", "instance noise", "fit s", "W2/sigma_hat per seed"), rows)


def rule_table(seeds, jobs):
    noises = ["auto", 0.025, 0.05, 0.1, 0.2]
    sizes = (500, 2000, 8000)
    tasks = {(n, v, s): (evaluate, ("circle", "dgd auto", s), {"n": n, "noise": v}) for n in sizes for v in noises
             for s in seeds}  # fmt: skip
    out = run(jobs, tasks)
    rows = []
    for n in sizes:
        res = {v: [out[(n, v, s)] for s in seeds] for v in noises}
        rows.append((n, median(res["auto"], "noise"), *[median(res[v], "w2") for v in noises]))
    print_table(f"Instance-noise rule: circle, W2 by noise level and n, median of {len(seeds)} seeds",
                ("n", "auto noise", *[f"W2 {v}" for v in noises]), rows)


def constant_rate_fit(seed, noise, steps=12_000, learning_rate=2e-3):
    """The notes' prototype setting: the same model and IWAE loss, trained at a constant learning rate.

    Built from densest.deep's private pieces (the estimator anneals the rate over its last 20 % of steps).
    """
    import torch

    torch.set_num_threads(1)
    from densest.deep import _nets, auto_instance_noise, wasserstein2

    X = truth("circle", 2000, seed)
    noise = auto_instance_noise(X) if noise == "auto" else noise
    mean, scale = X.mean(axis=0), float(np.sqrt(X.var(axis=0).mean()))
    Y = X + noise * np.random.default_rng(seed).standard_normal(X.shape)
    y = torch.as_tensor((Y - mean) / scale, dtype=torch.float32)
    torch.manual_seed(seed)
    model = _nets.make_model(torch, 2, 1, (64, 64), (64, 64), 1e-3, 0.5)
    optimizer = torch.optim.Adam(model.module.parameters(), lr=learning_rate)
    generator, loss = torch.Generator().manual_seed(seed), _nets.iwae_loss(model, 16)
    start = time.perf_counter()
    for _ in range(steps):
        value = loss(y[torch.randint(0, len(y), (256,), generator=generator)], generator)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    with torch.no_grad():
        latent = torch.as_tensor(np.random.default_rng(seed + 1).standard_normal((1000, 1)), dtype=torch.float32)
        samples = mean + scale * model.module["generator"](latent).double().numpy()
    sigma = model.sigma().detach().item() * scale
    return {"w2": wasserstein2(samples, truth("circle", 1000, 10_000 + seed)), "sigma": sigma, "noise": noise,
            "seconds": time.perf_counter() - start}  # fmt: skip


def constant_table(seeds, jobs):
    tasks = {(v, s): (constant_rate_fit, (s, v), {}) for v in (0.0, "auto") for s in seeds}
    out = run(jobs, tasks)
    rows = []
    for v, label in ((0.0, "plain MLE"), ("auto", "auto noise")):
        res = [out[(v, s)] for s in seeds]
        rows.append((label, median(res, "w2"), median(res, "sigma"), median(res, "noise"), median(res, "seconds"),
                     " ".join(f"{r['w2']:.3f}/{r['sigma']:.4f}" for r in res)))  # fmt: skip
    print_table(f"Constant learning rate 2e-3 (the notes' prototype): circle, 12 000 steps, median of {len(seeds)} "
                "seeds", ("model", "W2", "sigma_hat", "instance noise", "fit s", "W2/sigma_hat per seed"), rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=1, help="parallel fits (each with 1 torch thread)")
    parser.add_argument("--tables", nargs="+", default=["main", "long", "rule", "constant"],
                        choices=["main", "long", "rule", "constant"])  # fmt: skip
    args = parser.parse_args()
    print(f"machine: {platform.machine()} {platform.system()}, {os.cpu_count()} cores, python "
          f"{platform.python_version()}, {args.jobs} parallel job(s) with 1 torch thread each")  # fmt: skip
    seeds = list(range(args.seeds))
    tables = {"main": main_table, "long": long_table, "rule": rule_table, "constant": constant_table}
    for name in args.tables:
        start = time.perf_counter()
        tables[name](seeds, args.jobs)
        print(f"\n({name}: {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
