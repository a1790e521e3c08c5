"""
Sparse long lags: AR-Net, adaptive lasso and least squares
==========================================================

A series driven by three lags far apart (1, 12 and 48, e.g. hourly data with
half-day and two-day effects) is fitted with a model order of 60. Least
squares (:class:`densest.ar.LeastSquaresAR`) estimates all 60 coefficients
and spreads noise over the 57 that should be zero; AR-Net
(:class:`densest.ar.ARNet`, told the expected sparsity 3/60) and the adaptive
lasso (:class:`densest.ar.SparseAR`) recover the three lags. The error is the
AR-Net paper's sTPE, ``100 sum|w_hat - w| / sum(|w_hat| + |w|)``.
"""

import time

import matplotlib.pyplot as plt
import numpy as np

from densest.ar import ARNet, LeastSquaresAR, SparseAR
from densest.datasets import make_ar_process

order = 60
truth = np.zeros(order)
truth[[0, 11, 47]] = [0.4, 0.3, -0.25]
y = make_ar_process(truth, 20_000, random_state=0)

models = {
    "least squares": LeastSquaresAR(order),
    "adaptive lasso (SparseAR)": SparseAR(order),
    "AR-Net (ARNet)": ARNet(order, sparsity=3 / order, random_state=0),
}
for name, model in models.items():
    t0 = time.perf_counter()
    model.fit(y)
    seconds = time.perf_counter() - t0
    error = 100 * np.abs(model.coef_ - truth).sum() / (np.abs(model.coef_).sum() + np.abs(truth).sum())
    print(f"{name:>26}: sTPE {error:5.2f}, largest |coef| off the true lags "
          f"{np.abs(np.delete(model.coef_, [0, 11, 47])).max():.4f}, fit {seconds:.2f} s")

# %%
fig, axes = plt.subplots(3, 1, figsize=(8, 6), sharex=True, sharey=True)
lags = np.arange(1, order + 1)
for ax, (name, model) in zip(axes, models.items()):
    ax.stem(lags, model.coef_, basefmt=" ")
    ax.plot(lags[truth != 0], truth[truth != 0], "x", color="C3", ms=9, label="true")
    ax.set_title(name, fontsize=9)
axes[0].legend(fontsize=8)
axes[-1].set_xlabel("lag")
fig.tight_layout()
plt.show()
