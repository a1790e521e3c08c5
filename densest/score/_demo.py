"""The score-matching section of ``densest demo``: a DAE's score, Hessian, density and samples."""

import time

import numpy as np

from densest.datasets import gaussian_mixture_log_density, gaussian_mixture_score, make_gaussian_mixture
from densest.score import ScoreAutoEncoder


def run_demo(out_dir=None, random_state=0, quick=False):
    """Fit ScoreAutoEncoder (residual and energy) on a 2-D Gaussian mixture and check it against the truth.

    Parameters
    ----------
    out_dir : pathlib.Path or None
        Unused (no figures).
    random_state : int
        Seed.
    quick : bool
        Smaller data and shorter training (a fast check that the section runs).

    Returns
    -------
    result : dict
        ``tables``: list of (title, columns, rows); ``figures``: empty.
    """
    n, n_samples = (2000, 200) if quick else (10_000, 1000)
    X, _, params = make_gaussian_mixture(n + 2000, 2, n_components=3, separation=1.5, random_state=random_state)
    train, test = X[:n], X[n:]
    steps = {"max_iter": 300} if quick else {}
    rows = []
    for parameterization in ("residual", "energy"):
        start = time.perf_counter()
        model = ScoreAutoEncoder(0.1, parameterization=parameterization, random_state=random_state, **steps)
        model.fit(train)
        seconds = time.perf_counter() - start
        noise = model.sigma * model.scale_  # the noise of p_sigma in original units
        truth = gaussian_mixture_score(test, params, noise)
        error = np.sqrt(((model.score_function(test) - truth) ** 2).sum(1).mean() / (truth**2).sum(1).mean())
        if parameterization == "energy":
            log_p = model.score_samples(test)
            mae = np.abs(log_p - gaussian_mixture_log_density(test, params, noise)).mean()
        else:
            mae = float("nan")
        samples, acceptance = model.sample(n_samples, random_state=random_state, return_acceptance=True)
        true_ll = gaussian_mixture_log_density(samples, params, noise).mean()
        rows.append((parameterization, seconds, error, mae, acceptance, true_ll, str(model.device_)))
    reference = gaussian_mixture_log_density(test, params, noise).mean()
    table = (
        f"ScoreAutoEncoder(sigma=0.1) on a 3-component 2-D Gaussian mixture ({n} training points): relative "
        f"L2 error of the score against the analytic score of p_sigma, mean |log p error| (energy), and {n_samples} "
        f"MH samples' mean true log-density (test points: {reference:.3f})",
        ("parameterization", "fit s", "score rel. error", "log p MAE", "MH acceptance", "samples' log p", "device"),
        rows,
    )
    return {"tables": [table], "figures": []}
