"""
A denoising auto-encoder's score field on a spiral, and samples from it
=======================================================================

Alain & Bengio's spiral: t ~ U[3, 15], x = (0.04 t sin t, 0.04 t cos t), a
curve in the plane. A denoising auto-encoder ``r(x) = x + sigma^2 s(x)``
trained with noise sigma learns ``s = grad log p_sigma``, the score of the
curve smoothed by N(0, sigma^2): the field ``r(x) - x`` points back towards
the curve (left). The approximate Metropolis-Hastings chain of the paper,
whose energy differences integrate the learned score along straight paths,
turns that field into samples of p_sigma (right; chains started from a
Gaussian blob). :class:`densest.score.ScoreAutoEncoder` standardises each
feature, so ``sigma`` is relative to the data's spread (about 0.34 here).
"""

import matplotlib.pyplot as plt
import numpy as np

from densest.score import ScoreAutoEncoder

rng = np.random.default_rng(0)
t = rng.uniform(3, 15, 10_000)
X = np.column_stack([0.04 * t * np.sin(t), 0.04 * t * np.cos(t)])

model = ScoreAutoEncoder(sigma=0.05, hidden_layer_sizes=(128, 128), random_state=0).fit(X)
print(f"noise in data units: {model.sigma * model.scale_.round(3)}; final loss {np.mean(model.loss_curve_[-100:]):.3f}")

samples, acceptance = model.sample(2000, method="mh", n_steps=2000, step_size=0.1, random_state=0,
                                   return_acceptance=True)
print(f"MH acceptance {acceptance:.2f}")

# %%
# The field r(x) - x and the samples
# -----------------------------------
grid = np.stack(np.meshgrid(np.linspace(-0.7, 0.7, 25), np.linspace(-0.7, 0.7, 25)), axis=-1).reshape(-1, 2)
shift = model.reconstruct(grid) - grid
length = np.linalg.norm(shift, axis=1, keepdims=True)
arrows = shift / length * np.sqrt(length / length.max())  # direction, with the length compressed
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.8))
left.quiver(grid[:, 0], grid[:, 1], arrows[:, 0], arrows[:, 1], angles="xy", color="tab:blue", width=0.003)
left.plot(X[:2000, 0], X[:2000, 1], ".", ms=1, color="0.3")
left.set_title("direction of r(x) - x (length compressed)")
right.plot(X[:2000, 0], X[:2000, 1], ".", ms=1, color="0.7", label="training data")
right.plot(samples[:, 0], samples[:, 1], ".", ms=2, color="tab:red", label="MH samples")
right.legend(loc="upper right", markerscale=5)
right.set_title("approximate MH on the learned score")
for ax in (left, right):
    ax.set_aspect("equal")
    ax.set_xlim(-0.7, 0.7)
    ax.set_ylim(-0.7, 0.7)
fig.tight_layout()
plt.show()
