"""densest: exact, fast density estimation with a scikit-learn API.

Five families live in subpackages that are imported on first use, so that
``import densest`` stays light and never imports torch, pyriemann, mne or dask:

- :mod:`densest.kde` -- high-dimensional kernel density estimation (Numba);
- :mod:`densest.ar` -- least-squares autoregression and AR-Net;
- :mod:`densest.eeg` -- augmented-covariance Riemannian EEG classifiers;
- :mod:`densest.score` -- score-matching regularized auto-encoders;
- :mod:`densest.deep` -- deep generative likelihoods with instance noise.

Examples
--------
>>> import densest
>>> densest.__version__
'0.1.0'
"""

import importlib

__version__ = "0.1.0"

_SUBPACKAGES = ("ar", "datasets", "deep", "eeg", "kde", "score", "utils")

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"densest.{name}")
    raise AttributeError(f"module 'densest' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
