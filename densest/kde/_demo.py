"""The KDE section of ``densest demo``."""

import numpy as np

from densest.datasets import gaussian_mixture_log_density, make_gaussian_mixture
from densest.kde import KernelDensity, regimes

RULES = ("auto", "nn", "loo", "gauss-kl", "scott", "silverman")


def run_demo(out_dir=None, random_state=0, quick=False):
    """Fit KernelDensity with every bandwidth rule on high-dimensional Gaussian data.

    Parameters
    ----------
    out_dir : pathlib.Path or None
        Folder for figures; None for no figures.
    random_state : int
        Seed.
    quick : bool
        Smaller data and shorter training (a fast check that the section runs).

    Returns
    -------
    result : dict
        ``tables``: list of (title, columns, rows); ``figures``: list of paths.
    """
    d, n = 64, (1000 if quick else 4000)
    X, _, params = make_gaussian_mixture(n + 1000, d, n_components=1, separation=0.0,
                                         random_state=random_state)  # fmt: skip
    X, T = X[:n], X[n:]
    true = gaussian_mixture_log_density(T, params).mean()
    ref = regimes.gaussian_regimes(n, np.ones(d))
    rows = []
    for rule in RULES:
        kde = KernelDensity(bandwidth=rule, n_jobs=-1).fit(X)
        kl = (true - kde.score(T)) / d
        rows.append((rule, kde.bandwidth_, kde.score(T), kl, ref.regime(kde.bandwidth_)))
    rule_table = (
        f"bandwidth rules, N(0, I) d={d} n={n} (alpha={ref.alpha:.3f}: h_opt={ref.h_opt:.3f} "
        f"h_G={ref.h_g:.3f} h_CLT={ref.h_clt:.3f}); held-out mean log-likelihood",
        ("rule", "bandwidth", "loglik", "KL/d (nats)", "regime"),
        rows,
    )
    finite_rows = []
    for dim in (256, 1024):
        Xd = np.random.default_rng(random_state).standard_normal((1000, dim))
        Q = np.random.default_rng(random_state + 1).standard_normal((200, dim)) + 1.0
        logp = KernelDensity(n_jobs=-1).fit(Xd).score_samples(Q)
        with np.errstate(divide="ignore", under="ignore"):
            finite_rows.append((dim, int(np.isfinite(logp).sum()), float(logp.mean()),
                                int(np.sum(np.exp(logp) == 0.0))))  # fmt: skip
    finite_table = (
        "log-densities stay finite where the density underflows (200 shifted queries)",
        ("d", "finite log p", "mean log p", "p == 0 in float64"),
        finite_rows,
    )
    figures = [] if out_dir is None else [_plot(out_dir, X, T, true, rows, ref, d)]
    return {"tables": [rule_table, finite_table], "figures": figures}


def _plot(out_dir, X, T, true, rows, ref, d):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.geomspace(0.5, 3.0, 25)
    kde = KernelDensity(bandwidth=1.0, n_jobs=-1).fit(X)
    kl = []
    for h in grid:
        kde.set_params(bandwidth=float(h))
        kl.append((true - kde.fit(X).score(T)) / d)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(grid, kl, "k-", label="measured KL/d")
    theory = regimes.gaussian_kl_per_dim(grid, len(X), np.ones(d))
    ax.plot(grid, theory, "k:", label="leading-order theory")
    for rule, h, _, k, _ in rows:
        ax.plot(h, k, "o", label=f"{rule} ({h:.2f})")
    for h, name in ((ref.h_g, "h_G"), (ref.h_clt, "h_CLT")):
        ax.axvline(h, color="grey", lw=0.8)
        ax.text(h, ax.get_ylim()[1], name, ha="center", va="bottom", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("bandwidth h")
    ax.set_ylabel("KL / d (nats)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = out_dir / "kde_bandwidth_rules.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
