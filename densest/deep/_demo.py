"""The deep generative section of ``densest demo``: instance noise on a noise-free circle."""

import time
import warnings

from densest.datasets import make_manifold
from densest.deep import DeepGenerativeDensity, FlowDensity, mmd_squared, wasserstein2
from densest.exceptions import DensestWarning


def run_demo(out_dir=None, random_state=0, quick=False):
    """Fit the generative model and the flow with and without instance noise on points of a circle.

    Parameters
    ----------
    out_dir : pathlib.Path or None
        Folder for the figure (samples of each model); None: no figure.
    random_state : int
        Seed.
    quick : bool
        Smaller data and shorter training (a fast check that the section runs).

    Returns
    -------
    result : dict
        ``tables``: list of (title, columns, rows); ``figures``: paths written.
    """
    n, n_test = (500, 300) if quick else (2000, 1000)
    X = make_manifold("circle", n, random_state=random_state)
    truth = make_manifold("circle", n_test, random_state=random_state + 1)
    floor = wasserstein2(truth, make_manifold("circle", n_test, random_state=random_state + 2))
    steps = {"max_iter": 200} if quick else {}
    models = {
        "generative, plain MLE": DeepGenerativeDensity(1, instance_noise=0, random_state=random_state, **steps),
        "generative, instance noise": DeepGenerativeDensity(1, random_state=random_state, **steps),
        "flow, instance noise + Tweedie": FlowDensity(denoise="tweedie", random_state=random_state, **steps),
    }
    rows, samples = [], {}
    for name, model in models.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DensestWarning)  # the plain MLE's collapse warning, shown in the table
            model.fit(X)
        seconds = time.perf_counter() - start
        samples[name] = model.sample(n_test, random_state=random_state)
        sigma = getattr(model, "sigma_", float("nan"))
        rows.append((name, seconds, model.instance_noise_, sigma, wasserstein2(samples[name], truth),
                     mmd_squared(samples[name], truth), str(model.device_)))  # fmt: skip
    table = (
        f"A noise-free circle in R^2 (von Mises angle, {n} points): W2 and MMD^2 of {n_test} samples on the "
        f"learned manifold against {n_test} fresh true points (two true samples: W2 {floor:.3f})",
        ("model", "fit s", "instance noise", "sigma_hat", "W2", "MMD^2", "device"),
        rows,
    )
    figures = [] if out_dir is None else [_plot(out_dir, truth, samples)]
    return {"tables": [table], "figures": figures}


def _plot(out_dir, truth, samples):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(samples), figsize=(4 * len(samples), 4), sharex=True, sharey=True)
    for ax, (name, points) in zip(axes, samples.items()):
        ax.scatter(*truth.T, s=2, c="0.8", label="truth")
        ax.scatter(*points.T, s=2, label="model")
        ax.set_title(name)
        ax.set_aspect("equal")
    axes[0].legend(loc="lower left")
    path = out_dir / "deep_circle.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
