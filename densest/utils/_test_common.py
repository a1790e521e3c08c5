"""The table of tested instances and expected failures for the common tests.

Every public estimator of densest appears here with at least two
parameterisations (``tests/test_common.py`` fails for one that does not), and
every scikit-learn common check it is excused from, with the reason.  Families
add their rows when they land; discovery itself is automatic.
"""

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import KNeighborsRegressor
from sklearn.utils import get_tags

# name -> list of parameter dicts; each builds one tested instance.
INSTANCE_PARAMS = {
    "KernelDensity": [
        {},
        {"bandwidth": "scott", "scale": "standardize"},
        {"bandwidth": 0.7, "kernel": "epanechnikov", "block_size": 7},
        {"bandwidth": "silverman", "scale": "whiten", "kernel": "exponential", "n_jobs": 2},
        {"bandwidth": "loo", "dtype": "float32"},
    ],
    # The common checks exercise the lag-embedding form fit(X, y); the series form
    # fit(y) is tested in tests/ar.
    "LeastSquaresAR": [
        {},
        {"order": "bic", "trend": "n"},
        {"order": 2, "refine": 1},
    ],
    "ARNet": [
        {"order": 1, "n_epochs": 3, "device": "cpu", "random_state": 0},
        {"order": 2, "sparsity": 0.5, "trend": "n", "loss": "huber", "n_epochs": 2,
         "batch_size": 16, "dtype": "float32", "random_state": 0},
    ],
    "LagEmbedding": [{}, {"order": 3}],
    "ScoreAutoEncoder": [
        {"max_iter": 20, "batch_size": 32, "device": "cpu", "random_state": 0},
        {"parameterization": "energy", "criterion": "rcae", "max_iter": 10, "hidden_layer_sizes": (8,),
         "sigma": 0.3, "device": "cpu", "random_state": 0},
    ],
    "DeepGenerativeDensity": [
        {"latent_dim": 1, "max_iter": 20, "batch_size": 32, "n_importance": 4, "n_importance_eval": 16,
         "device": "cpu", "random_state": 0},
        {"latent_dim": 1, "instance_noise": 0.1, "perturbation": "fresh", "generator_sizes": (),
         "encoder_sizes": (8,), "max_iter": 10, "n_importance_eval": 8, "device": "cpu", "random_state": 0},
    ],
    "FlowDensity": [
        {"max_iter": 10, "batch_size": 32, "transforms": 1, "hidden_sizes": (8,), "device": "cpu", "random_state": 0},
        {"instance_noise": 0, "flow": "maf", "denoise": None, "max_iter": 10, "hidden_sizes": (8, 8),
         "device": "cpu", "random_state": 0},
    ],
    "AugmentedCovariances": [
        {},
        {"order": "auto", "lag": "auto", "estimator": "oas", "trim": "moabb"},
        {"order": 2, "lag": 3, "trim": 10},
    ],
    "ACMSearchCV": [
        {"orders": [1, 2], "lags": [1], "param_grid": {"svc__C": [0.5, 1.0]}},
        {"classifier": "mdm", "orders": [1, 2], "lags": [1, 2], "prior": True, "whiten": False},
    ],
    "LagRegressor": [
        {"estimator": LinearRegression()},
        {"estimator": KNeighborsRegressor(n_neighbors=3), "order": 2},
    ],
    "SparseAR": [
        {},
        {"alpha": 0.01, "gamma": 0.0, "refit": False},
        {"alpha": "aic", "trend": "n", "order": 3},
    ],
}

_WEIGHT_SEMANTICS = (
    "Data-driven bandwidths and scalings treat sample_weight as reliability weights "
    "(Kish's effective n, weighted covariance, as scipy.stats.gaussian_kde), so they do "
    "not change when all weights are multiplied by a constant; integer weights then "
    "differ from repeated rows. With a fixed bandwidth and scale='none', weights equal "
    "repetition exactly and zero weights equal removal (tests/kde/test_properties.py)."
)


def _kde_failures(estimator):
    fixed = not isinstance(estimator.bandwidth, str) and estimator.scale == "none"
    return {} if fixed else {"check_sample_weight_equivalence_on_dense_data": _WEIGHT_SEMANTICS}


def _ar_failures(estimator):
    if isinstance(estimator.order, str):
        return {}
    return {
        "check_regressors_train": (
            "On a lag embedding an AR model of integer order uses only the first `order` "
            "columns (lags 1..order); the check's regression data needs all its features for "
            "R^2 > 0.5. With LeastSquaresAR(order='bic'), or SparseAR with order at least the "
            "number of features, the check passes."
        )
    }


_TIME_ORDER = (
    "Row t of the output holds rows t-1..t-order of the input: the rows are a time "
    "series, so a subset or a reordering of them changes the lags by design."
)


def _lag_embedding_failures(estimator):
    return {
        "check_methods_subset_invariance": _TIME_ORDER,
        "check_methods_sample_order_invariance": _TIME_ORDER,
    }


# name -> function of the instance returning {check name: reason}
EXPECTED_FAILED_CHECKS = {
    "LagEmbedding": _lag_embedding_failures,
    "LagRegressor": _ar_failures,
    "KernelDensity": _kde_failures,
    "LeastSquaresAR": _ar_failures,
    "SparseAR": _ar_failures,
    "ARNet": _ar_failures,
}


def instances_to_check(estimators):
    """Yield one instance per (estimator, parameterisation) row.

    Parameters
    ----------
    estimators : list of (str, type)
        As returned by :func:`densest.utils.all_estimators`.

    Yields
    ------
    estimator : BaseEstimator
        An unfitted instance.
    """
    for name, cls in estimators:
        for params in INSTANCE_PARAMS.get(name, [{}]):
            yield cls(**params)


def expected_failed_checks(estimator):
    """Checks that ``estimator`` is excused from, with reasons.

    Parameters
    ----------
    estimator : BaseEstimator
        A tested instance.

    Returns
    -------
    checks : dict of str -> str
        Check name to reason.
    """
    failures = EXPECTED_FAILED_CHECKS.get(type(estimator).__name__)
    return {} if failures is None else failures(estimator)


def is_3d(estimator):
    """Whether ``estimator`` takes 3-D input (n_trials, n_channels, n_times).

    Parameters
    ----------
    estimator : BaseEstimator
        Any estimator.

    Returns
    -------
    result : bool
        True when its tags declare 3-D, and not 2-D, input.
    """
    tags = get_tags(estimator).input_tags
    return tags.three_d_array and not tags.two_d_array


def fit_data(estimator, n_samples=40, n_features=3, random_state=0):
    """Valid training data for ``estimator``, chosen from its tags.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator to fit.
    n_samples, n_features : int
        Size of the data.
    random_state : int
        Seed.

    Returns
    -------
    X : ndarray
        Features: 2-D, or 3-D (trials, channels, times) for 3-D estimators.
    y : ndarray or None
        Targets when the estimator needs them.
    """
    rng = np.random.default_rng(random_state)
    tags = get_tags(estimator)
    if is_3d(estimator):
        X = rng.standard_normal((n_samples, n_features, 64))
    else:
        X = rng.standard_normal((n_samples, n_features))
    if tags.estimator_type == "classifier":
        y = np.arange(n_samples) % 2
    elif tags.target_tags.required:
        y = X.reshape(n_samples, -1)[:, 0] + 0.1 * rng.standard_normal(n_samples)
    else:
        y = None
    return X, y


def fitted(estimator, **kwargs):
    """Return a fitted clone of ``estimator`` and its training data.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator to fit.
    **kwargs
        Passed to :func:`fit_data`.

    Returns
    -------
    estimator : BaseEstimator
        The fitted clone.
    X, y : ndarray
        The training data.
    """
    X, y = fit_data(estimator, **kwargs)
    est = clone(estimator)
    est.fit(X) if y is None else est.fit(X, y)
    return est, X, y
