"""Score-matching regularised auto-encoders (Alain & Bengio 2014).

:class:`ScoreAutoEncoder` trains a denoising or reconstruction-contractive
auto-encoder ``r(x) = x + sigma^2 s(x)`` whose ``s`` estimates the score
(gradient of the log-density) of the data density smoothed by N(0, sigma^2),
with its Hessian, an approximate log-density (energy parameterisation) and
MCMC samplers built on the score. Requires torch (the ``deep`` extra).
"""

from densest.score._autoencoder import ScoreAutoEncoder

__all__ = ["ScoreAutoEncoder"]
