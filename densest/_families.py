"""The registry of densest's five families: names, papers and extras."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """One family of estimators, living in ``densest.<name>``."""

    name: str
    title: str
    paper: str
    extra: str | None
    requires: tuple[str, ...]


FAMILIES = (
    Family(
        "kde",
        "High-dimensional kernel density estimation",
        'Biroli & Mezard, "Kernel density estimators in large dimensions" (2024)',
        None,
        (),
    ),
    Family(
        "ar",
        "Least-squares autoregression and AR-Net",
        'Triebe, Laptev & Rajagopal, "AR-Net" (2019)',
        "ar",
        (),
    ),
    Family(
        "eeg",
        "Augmented-covariance Riemannian EEG classifiers",
        'Carrara & Papadopoulo, "Classification of BCI-EEG based on the augmented covariance matrix" (2023)',
        "eeg",
        ("pyriemann", "mne"),
    ),
    Family(
        "score",
        "Score-matching regularized auto-encoders",
        'Alain & Bengio, "What regularized auto-encoders learn from the data-generating distribution" (2014)',
        "deep",
        ("torch",),
    ),
    Family(
        "deep",
        "Deep generative likelihoods with instance noise",
        'Chae, Kim, Kim & Lin, "A likelihood approach to nonparametric estimation of a singular '
        'distribution using deep generative models" (2023)',
        "deep",
        ("torch", "zuko"),
    ),
)
