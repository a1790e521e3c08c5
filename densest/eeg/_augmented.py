"""The augmented covariance matrix (ACM) of EEG epochs as a scikit-learn transformer."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from threadpoolctl import threadpool_limits

from densest.eeg import embedding
from densest.exceptions import NotPositiveDefiniteError
from densest.utils import import_optional
from densest.utils.validation import Interval, StrOptions, check_is_fitted, fit_context

# Estimators of pyRiemann's covariances() that are the plain (sample) covariance
# of the data: their order-p matrix is a principal sub-block of the order-q one.
PLAIN_ESTIMATORS = ("cov", "scm")


def covariance_estimators():
    """Names accepted by pyRiemann's ``covariances``."""
    return sorted(import_optional("pyriemann.geometry.covariance", "eeg").cov_est_functions)


def check_estimator_name(estimator):
    """Raise a ValueError naming the options unless pyRiemann knows ``estimator``."""
    if estimator not in covariance_estimators():
        raise ValueError(f"estimator must be one of {covariance_estimators()}; got {estimator!r}.")


def augmented_covariances(X, order, lag, estimator="cov", trim="valid"):
    """Covariance of each epoch's delay embedding, checked to be positive definite.

    Parameters
    ----------
    X : ndarray of shape (n_trials, n_channels, n_times)
        Finite float64 epochs.
    order, lag : int
        Embedding dimension and delay in samples.
    estimator : str, default="cov"
        A covariance estimator of pyRiemann (``covariances(..., estimator)``).
    trim : {"valid", "moabb"} or int, default="valid"
        See :func:`densest.eeg.embedding.n_dropped`.

    Returns
    -------
    covs : ndarray of shape (n_trials, order * n_channels, order * n_channels)

    Raises
    ------
    NotPositiveDefiniteError
        If a matrix is not positive definite, naming the remedy (a ValueError).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((2, 3, 100))
    >>> augmented_covariances(X, order=2, lag=1).shape
    (2, 6, 6)
    """
    covariances = import_optional("pyriemann.geometry.covariance", "eeg").covariances
    check_estimator_name(estimator)
    embedded = embedding.delay_embedding(X, order, lag, trim)
    dim, width = embedded.shape[1:]
    if estimator in PLAIN_ESTIMATORS + ("corr",) and dim >= width:
        raise NotPositiveDefiniteError(
            f"The augmented covariance has {dim} dimensions (order {order} x {X.shape[1]} channels) "
            f"but each embedded epoch has only {width} samples, so it is singular: use a shrinkage "
            "estimator (estimator='oas' or 'lwf'), a smaller order, or fewer channels."
        )
    with threadpool_limits(limits=1, user_api="blas"):
        covs = covariances(embedded, estimator=estimator)
        _check_positive_definite(covs, order, estimator)
    return covs


def _check_positive_definite(covs, order, estimator):
    try:
        np.linalg.cholesky(covs)
        if np.isfinite(covs).all():
            return
    except np.linalg.LinAlgError:
        pass
    bad = [i for i, c in enumerate(covs) if not np.isfinite(c).all() or np.linalg.eigvalsh(c)[0] <= 0]
    raise NotPositiveDefiniteError(
        f"The augmented covariance (estimator={estimator!r}, order {order}) of trial {bad[0]} "
        f"({len(bad)} trial(s) in all) is not positive definite: the delayed copies are (nearly) "
        "linearly dependent, e.g. after re-referencing or on a constant channel. Use a shrinkage "
        "estimator (estimator='oas' or 'lwf') or a smaller order."
    )


class AugmentedCovariances(TransformerMixin, BaseEstimator):
    """Augmented covariance matrices of EEG epochs (Carrara & Papadopoulo 2023).

    Each epoch (n_channels x n_times) is delay-embedded: ``order`` copies,
    copy k delayed by ``k * lag`` samples, stacked along the channel axis; the
    output is the covariance of that embedded signal, an SPD matrix of size
    ``order * n_channels``. It is the block-Toeplitz Yule-Walker matrix of a
    vector autoregression, so it carries the epoch's temporal dynamics as well
    as its spatial covariance. Feed it to pyRiemann's ``TangentSpace`` or
    ``MDM`` (see :func:`make_acm_pipeline`).

    The default ``trim="valid"`` drops the ``(order - 1) * lag`` samples the
    embedding needs; ``trim="moabb"`` drops one lag more, equal to MOABB's
    ``AugmentedDataset`` followed by pyRiemann's ``Covariances``; an int drops
    that many (a common window, under which the matrix of a smaller order is
    the leading block of a larger order's). Unlike pyRiemann's
    ``TimeDelayCovariances`` no copy wraps the end of an epoch onto its start.

    Parameters
    ----------
    order : int or "auto", default=4
        Embedding dimension (1: the spatial covariance). "auto": where Cao's
        averaged false-nearest-neighbour statistic saturates on the training
        epochs (:func:`densest.eeg.embedding.select_order`, at most 10).
    lag : int or "auto", default=1
        Delay between copies, in samples. "auto": the first minimum of the
        training epochs' averaged auto mutual information
        (:func:`densest.eeg.embedding.select_lag`, at most 30).
    estimator : str, default="cov"
        Covariance estimator of pyRiemann: "cov" (sample covariance, as in
        the paper), "scm", or a shrinkage one ("oas", "lwf", "sch"), needed
        once ``order * n_channels`` approaches the epoch length.
    trim : {"valid", "moabb"} or int, default="valid"
        Samples dropped at the end of each epoch (see above).

    Attributes
    ----------
    order_, lag_ : int
        The order and lag used (chosen from the training data when "auto").
    n_channels_ : int
        Channels of the training epochs.

    See Also
    --------
    densest.eeg.make_acm_pipeline : The classifier pipelines built on it.
    densest.eeg.ACMSearchCV : Grid search over (order, lag) that reuses covariances.

    Examples
    --------
    >>> import numpy as np
    >>> from densest.eeg import AugmentedCovariances
    >>> X = np.random.default_rng(0).standard_normal((5, 3, 200))
    >>> AugmentedCovariances(order=3, lag=2).fit_transform(X).shape
    (5, 9, 9)
    """

    _parameter_constraints = {
        "order": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "lag": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "estimator": [str],
        "trim": [StrOptions(set(embedding.TRIM_OPTIONS)), Interval(Integral, 0, None, closed="left")],
    }

    def __init__(self, order=4, lag=1, estimator="cov", trim="valid"):
        self.order = order
        self.lag = lag
        self.estimator = estimator
        self.trim = trim

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the epochs and choose the order and lag when "auto".

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Training epochs.
        y : None
            Ignored.

        Returns
        -------
        self : AugmentedCovariances
        """
        X = embedding.check_epochs(X)
        check_estimator_name(self.estimator)
        self.lag_ = embedding.select_lag(X) if self.lag == "auto" else int(self.lag)
        self.order_ = embedding.select_order(X, self.lag_, max_order=10) if self.order == "auto" else int(self.order)
        embedding.n_dropped(self.order_, self.lag_, self.trim)
        self.n_channels_ = X.shape[1]
        return self

    def transform(self, X):
        """Augmented covariance of each epoch.

        Parameters
        ----------
        X : array-like of shape (n_trials, n_channels, n_times)
            Epochs with the training epochs' channels.

        Returns
        -------
        covs : ndarray of shape (n_trials, order_ * n_channels, order_ * n_channels)
            Symmetric positive definite matrices.
        """
        check_is_fitted(self)
        X = embedding.check_epochs(X)
        if X.shape[1] != self.n_channels_:
            raise ValueError(f"X has {X.shape[1]} channels, but {type(self).__name__} was fitted with "
                             f"{self.n_channels_} channels.")  # fmt: skip
        return augmented_covariances(X, self.order_, self.lag_, self.estimator, self.trim)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
