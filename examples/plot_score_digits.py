"""
Denoising digits with a score auto-encoder, and a short chain of samples
========================================================================

scikit-learn's 8 x 8 digits (1797 images, 64 pixels). A denoising
auto-encoder trained with noise sigma (relative to each pixel's spread) has
``r(x) = E[clean | noisy = x]``, the posterior mean (Tweedie), so it denoises
images corrupted by that noise: top rows. Its ``(r(x) - x) / sigma^2`` is the
score of the digits' density smoothed by the noise; unadjusted Langevin steps
on that score (:meth:`~densest.score.ScoreAutoEncoder.sample` with ``init``),
started from a noisy digit, stay among clean-looking versions of it (bottom
row: every 25th step, shown through ``reconstruct``). Pixels that
are 0 in every image are dropped before fitting (their density is degenerate)
and put back as 0.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from densest.score import ScoreAutoEncoder

digits = load_digits().data
varying = digits.std(axis=0) > 0
X = digits[:, varying]
train, test = X[:1500], X[1500:]

sigma = 0.5
model = ScoreAutoEncoder(sigma=sigma, hidden_layer_sizes=(128, 128), max_iter=2000, random_state=0).fit(train)

rng = np.random.default_rng(0)
clean = test[:8]
noisy = clean + sigma * model.scale_ * rng.standard_normal(clean.shape)
denoised = model.reconstruct(noisy)
print(f"mean squared error per pixel: noisy {np.mean((noisy - clean) ** 2):.2f}, "
      f"denoised {np.mean((denoised - clean) ** 2):.2f}")


def image(row):
    full = np.zeros(64)
    full[varying] = row
    return full.reshape(8, 8)


# %%
# A short Langevin chain from the first noisy digit
# -------------------------------------------------
# ``sample`` with ``init`` continues a chain from given images; 8 pieces of 25
# unadjusted Langevin steps each (step 0.05 in standardised units).
z = noisy[:1]
chain = []
for k in range(8):
    z = model.sample(1, method="langevin", n_steps=25, step_size=0.05, init=z, random_state=k)
    chain.append(model.reconstruct(z)[0])  # shown denoised

fig, axes = plt.subplots(4, 8, figsize=(8, 4.4))
for j in range(8):
    for i, (row, label) in enumerate(((clean[j], "clean"), (noisy[j], "noisy"), (denoised[j], "denoised"),
                                      (chain[j], "chain"))):  # fmt: skip
        axes[i, j].imshow(image(row), cmap="gray_r", vmin=0, vmax=16)
        axes[i, j].set_xticks([])
        axes[i, j].set_yticks([])
        if j == 0:
            axes[i, j].set_ylabel(label)
fig.suptitle(f"ScoreAutoEncoder(sigma={sigma}) on 8 x 8 digits")
fig.tight_layout()
plt.show()
