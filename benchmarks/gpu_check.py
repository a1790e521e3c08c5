"""GPU readiness of the torch estimators (DeepGenerativeDensity, FlowDensity, ScoreAutoEncoder): one short script.

On a machine with CUDA, for each estimator:

1. ``device="auto"`` resolves to CUDA and the fitted module lives there;
2. the training loop makes no host synchronisation (torch's sync debug mode, counted);
3. CPU/GPU agreement: the same fit (same seed and data, 500 steps) on both devices gives mean
   held-out log-likelihoods within 0.05 nats (DeepGenerativeDensity, FlowDensity) or score fields
   within 5 % relative error (ScoreAutoEncoder); the random streams differ between devices, so
   bit-equality is not expected;
4. a GPU-fitted estimator pickles and loads on the CPU with the same outputs;
5. evaluation is chunked: peak GPU memory while scoring 1e6 points;
6. throughput (training steps/s at batch 4096, scored points/s), printed as JSON lines.

Without CUDA it says so and runs the CPU throughput part only. Run time: under 5 minutes on an
H100/H200-class GPU.

Usage: python benchmarks/gpu_check.py
"""

import json
import pickle
import platform
import time
import warnings

import numpy as np
import torch

from densest.datasets import make_manifold
from densest.deep import DeepGenerativeDensity, FlowDensity
from densest.score import ScoreAutoEncoder

STEPS = 500


def make(name, device, **extra):
    common = {"device": device, "random_state": 0, "max_iter": STEPS, **extra}
    if name == "DeepGenerativeDensity":
        return DeepGenerativeDensity(2, instance_noise=0.05, **common)
    if name == "FlowDensity":
        return FlowDensity(0.05, **common)
    return ScoreAutoEncoder(0.1, **common)


def module_of(model):
    return getattr(model, "module_", None) or getattr(model, "flow_", None) or model.network_


def quality(model, X_test):
    """Mean held-out log-likelihood, or the score field for the auto-encoder."""
    if isinstance(model, ScoreAutoEncoder):
        return model.score_function(X_test)
    return model.score(X_test)


def agree(cpu, gpu):
    if isinstance(cpu, float):
        return abs(cpu - gpu) <= 0.05, abs(cpu - gpu)
    error = float(np.sqrt(((cpu - gpu) ** 2).sum() / (cpu**2).sum()))
    return error <= 0.05, error


def fit_counting_syncs(model, X):
    """Fit under torch's sync debug mode ("warn") and count the synchronising calls it reports."""
    torch.cuda.set_sync_debug_mode("warn")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            start = time.perf_counter()
            model.fit(X)
            torch.cuda.synchronize()
            seconds = time.perf_counter() - start
    finally:
        torch.cuda.set_sync_debug_mode(0)
    syncs = [w for w in caught if "synchroniz" in str(w.message).lower()]
    return seconds, len(syncs)


def throughput(name, device, X):
    """Training steps/s at batch 4096 and scored points/s (score_function for the auto-encoder)."""
    model = make(name, device, max_iter=100, batch_size=4096)
    start = time.perf_counter()
    model.fit(X)
    if device == "cuda":
        torch.cuda.synchronize()
    steps = 100 / (time.perf_counter() - start)
    points = np.repeat(X, 10, axis=0)[: 100_000 if device == "cuda" else 10_000]
    start = time.perf_counter()
    quality(model, points)
    return steps, len(points) / (time.perf_counter() - start)


def check(name, X, X_test):
    report = {"estimator": name}
    gpu = make(name, "auto")
    seconds, syncs = fit_counting_syncs(gpu, X)
    report.update(device=str(gpu.device_), on_cuda=next(module_of(gpu).parameters()).is_cuda, fit_s=seconds,
                  host_syncs_in_fit=syncs)  # fmt: skip
    cpu = make(name, "cpu").fit(X)
    ok, difference = agree(quality(cpu, X_test), quality(gpu, X_test))
    report.update(cpu_gpu_agree=bool(ok), cpu_gpu_difference=difference)
    loaded = pickle.loads(pickle.dumps(gpu))
    same = np.allclose(quality(loaded, X_test), quality(gpu, X_test), rtol=1e-4, atol=1e-4)
    report.update(pickle_loads_on_cpu=str(loaded.device_) == "cpu" and bool(same))
    torch.cuda.reset_peak_memory_stats()
    quality(gpu, np.repeat(X_test, 1000, axis=0)[:1_000_000])
    report["peak_gpu_mb_scoring_1e6"] = torch.cuda.max_memory_allocated() / 2**20
    for device in ("cpu", "cuda"):
        steps, points = throughput(name, device, X)
        report[f"{device}_steps_per_s"], report[f"{device}_points_per_s"] = steps, points
    report["gpu_speedup_steps"] = report["cuda_steps_per_s"] / report["cpu_steps_per_s"]
    return report


def main():
    X = make_manifold("sphere", 20_000, ambient_dim=20, noise=0.01, random_state=0)
    X_test = make_manifold("sphere", 1000, ambient_dim=20, noise=0.01, random_state=1)
    print(f"machine: {platform.machine()} {platform.system()}, torch {torch.__version__}, torch threads "
          f"{torch.get_num_threads()}, CUDA: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}")  # fmt: skip
    names = ("DeepGenerativeDensity", "FlowDensity", "ScoreAutoEncoder")
    if not torch.cuda.is_available():
        print("No CUDA device here: CPU throughput only (the GPU checks need a GPU machine).")
        for name in names:
            steps, points = throughput(name, "cpu", X)
            print(json.dumps({"estimator": name, "cpu_steps_per_s": steps, "cpu_points_per_s": points}))
        return
    failures = []
    for name in names:
        report = check(name, X, X_test)
        print(json.dumps(report))
        failures += [f"{name}: {key}" for key in ("on_cuda", "cpu_gpu_agree", "pickle_loads_on_cpu")
                     if not report[key]] + ([f"{name}: host syncs"] if report["host_syncs_in_fit"] else [])  # fmt: skip
    print("GPU checks passed" if not failures else "GPU checks FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
