"""
Held-out likelihood of handwritten digits (64-d) and new samples
================================================================

scikit-learn's bundled 8x8 digits are 64-dimensional. We compare the held-out
log-likelihood of each bandwidth rule, after standardising the pixels (constant
pixels are dropped), and draw new digits from the best model.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from densest.kde import KernelDensity

X = load_digits().data
X = X[:, X.std(axis=0) > 0]
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
# Dequantise the integer pixel values so that a density makes sense.
rng = np.random.default_rng(0)
X_train = X_train + rng.uniform(-0.5, 0.5, X_train.shape)
X_test = X_test + rng.uniform(-0.5, 0.5, X_test.shape)

# %%
results = {}
for rule in ("auto", "nn", "loo", "scott", "silverman"):
    kde = KernelDensity(bandwidth=rule, scale="standardize", n_jobs=-1).fit(X_train)
    results[rule] = kde
    print(f"{rule:>9}: bandwidth {kde.bandwidth_:.3f}, held-out mean log-likelihood "
          f"{kde.score(X_test):.2f}")

# %%
# Sample new digits from the model with the best held-out likelihood.
best = max(results.values(), key=lambda kde: kde.score(X_test))
full = load_digits().data
keep = full.std(axis=0) > 0
samples = np.zeros((16, 64))
samples[:, keep] = np.clip(best.sample(16, random_state=0), 0, 16)
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
for ax, image in zip(axes.ravel(), samples):
    ax.imshow(image.reshape(8, 8), cmap="gray_r")
    ax.set_axis_off()
fig.suptitle(f"samples, bandwidth rule giving h = {best.bandwidth_:.2f}")
plt.show()
