"""The data-driven choice of the instance noise."""

import numpy as np
from sklearn.utils import check_array

from densest.utils._numeric import total_std


def auto_instance_noise(X):
    """The default instance noise: ``0.3 * sqrt(trace of the covariance of X) * n ** (-1/5)``.

    Measured on noise-free manifolds (n = 2000; ``benchmarks/instance_noise.py``
    and the notes in ``benchmarks/RESULTS.md``): the circle in R^2, the curve in
    R^5 and the 2-sphere in R^20 (total standard deviation about 0.9-1.0 each)
    had their smallest Wasserstein error for a noise of 0.05-0.1, where this
    rule gives 0.058-0.065. The total standard deviation does not change under
    an isometric embedding in more dimensions; nearest-neighbour distances,
    also invariant, did not transfer across intrinsic dimensions (the best
    noise was 5-17 times the median 10th-neighbour distance on the curves but
    0.4 times on the sphere). The n^(-1/5) decay (the smoothing rate of one
    intrinsic dimension) lets the perturbation vanish as n grows, which
    consistency needs; on the circle at n = 500, 2000 and 8000 the rule was
    within 7 % of the best of the fixed levels 0.025, 0.05, 0.1 and 0.2.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Training data.

    Returns
    -------
    noise : float
        Standard deviation of the instance noise, in the units of X.

    Examples
    --------
    >>> X = np.random.default_rng(0).standard_normal((1000, 4))
    >>> round(auto_instance_noise(X), 2)
    0.15
    """
    X = check_array(X, dtype=np.float64, input_name="X")
    return 0.3 * total_std(X) * len(X) ** -0.2
