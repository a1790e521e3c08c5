"""
Motor imagery: augmented covariances over (order, lag)
======================================================

Imagined left vs right fist movements of PhysioNet EEGMMIDB subject 1 (the
sample bundled with densest: 45 trials, 17 motor channels, 0-3 s after the
cue, 8-35 Hz). The augmented covariance matrix (ACM) of an epoch is the
covariance of its delay embedding, ``order`` copies ``lag`` samples apart
(Carrara & Papadopoulo 2023); order 1 is the spatial covariance that
Riemannian BCI pipelines usually classify.

:class:`densest.eeg.ACMSearchCV` scores every (order, lag) by 5-fold CV from
one covariance per lag, and the heat map shows the cross-validated ROC-AUC
of the tangent-space SVM over the grid. The scores of the grid's best cell
are optimistic (a maximum over 24 cells); the honest number for the search is
nested CV (``benchmarks/eeg_acm.py``). The data-driven lag (first minimum of
the auto mutual information) and order (saturation of Cao's statistic) are
marked: they are a reasonable bound for the grid, not its best cell.
"""

import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import StratifiedKFold

from densest.datasets import load_eegbci_sample
from densest.eeg import ACMSearchCV, embedding

warnings.simplefilter("ignore", UserWarning)  # pyRiemann's mean convergence notes at large orders

X, y, info = load_eegbci_sample()
orders, lags = [1, 2, 3, 4, 5, 6], [1, 2, 3, 4]
cv = StratifiedKFold(5, shuffle=True, random_state=0)
search = ACMSearchCV(orders=orders, lags=lags, cv=cv, n_jobs=2).fit(X, y)
auc = search.cv_results_["mean_test_score"].reshape(len(lags), len(orders))
print(f"best (order, lag) = ({search.best_params_['order']}, {search.best_params_['lag']}), "
      f"CV ROC-AUC {search.best_score_:.3f}; spatial covariance (order 1, lag 1): {auc[0, 0]:.3f}")

lag = embedding.select_lag(X)
order = embedding.select_order(X, lag, max_order=10)
print(f"data-driven: lag {lag} samples ({1000 * lag / info['sfreq']:.0f} ms), order {order}")

# %%
# ROC-AUC over the grid
# ---------------------
fig, ax = plt.subplots(figsize=(6, 3.8))
image = ax.imshow(auc, origin="lower", cmap="viridis", aspect="auto")
ax.set_xticks(range(len(orders)), orders)
ax.set_yticks(range(len(lags)), lags)
ax.set_xlabel("order (copies)")
ax.set_ylabel("lag (samples at 160 Hz)")
for (i, j), value in np.ndenumerate(auc):
    ax.text(j, i, f"{value:.2f}", ha="center", va="center", color="w" if value < auc.max() - 0.05 else "k")
if lag in lags:
    ax.axhline(lags.index(lag), color="tab:red", lw=1, ls="--", label=f"AMI lag = {lag}")
    ax.legend(loc="upper right", fontsize=8)
fig.colorbar(image, label="5-fold ROC-AUC")
ax.set_title("S001 imagined left vs right fist, ACM + TS + SVM")
fig.tight_layout()
plt.show()
