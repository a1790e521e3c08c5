"""Any scikit-learn regressor as an autoregression: LagEmbedding and LagRegressor."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone

from densest.ar._least_squares import (
    AutoRegressor,
    _as_floats,
    check_length,
    check_real_values,
    first_lags,
)
from densest.utils.validation import (
    HasMethods,
    Interval,
    check_is_fitted,
    fit_context,
    validate_data,
)


def lag_matrix(y, order):
    """Complete windows of a series as (lags, targets), without copying.

    Parameters
    ----------
    y : ndarray of shape (n,)
        The series (float; NaN marks a missing value).
    order : int
        Number of lags p.

    Returns
    -------
    lags : ndarray of shape (m, order)
        Row i holds the p values before ``targets[i]``, lag 1 first (a strided
        view when no window is dropped).
    targets : ndarray of shape (m,)
        The values predicted; windows with a missing value are left out.

    Examples
    --------
    >>> import numpy as np
    >>> lags, targets = lag_matrix(np.arange(5.0), 2)
    >>> lags
    array([[1., 0.],
           [2., 1.],
           [3., 2.]])
    >>> targets
    array([2., 3., 4.])
    """
    y = np.asarray(_as_floats(y))  # object arrays of numbers: a float copy
    if y.ndim != 1 or isinstance(order, bool) or not isinstance(order, Integral) or order < 1:
        raise ValueError(f"lag_matrix needs a 1-D series and a positive integer order, got shape "
                         f"{y.shape} and order {order!r}.")  # fmt: skip
    check_real_values(y, "y")
    check_length(y.size, order, n_windows=1)
    windows = np.lib.stride_tricks.sliding_window_view(y, order + 1)
    lags, targets = windows[:, :order][:, ::-1], windows[:, order]
    complete = np.isfinite(windows).all(axis=1)
    if not complete.all():
        lags, targets = lags[complete], targets[complete]
    return lags, targets


class LagEmbedding(TransformerMixin, BaseEstimator):
    """Lagged copies of each column of a time-ordered array.

    Row t of the output holds X[t - 1], X[t - 2], ..., X[t - order] (for each
    lag, every column), so a model fitted on the output and the aligned
    targets predicts from the past only. The first ``order`` rows lack some
    lags and hold NaN there: a transformer keeps the number of rows, so those
    rows are dropped by the user, handled by a NaN-aware regressor (e.g.
    ``HistGradientBoostingRegressor``), or avoided by :class:`LagRegressor`,
    which builds the lag matrix itself (and handles missing values). The input
    must be finite.

    Parameters
    ----------
    order : int, default=1
        Number of lags.

    Attributes
    ----------
    n_features_in_ : int
        Columns of X.
    feature_names_in_ : ndarray of str
        Column names, when X has them.

    Examples
    --------
    >>> import numpy as np
    >>> from densest.ar import LagEmbedding
    >>> LagEmbedding(order=2).fit_transform(np.arange(4.0).reshape(-1, 1))
    array([[nan, nan],
           [ 0., nan],
           [ 1.,  0.],
           [ 2.,  1.]])
    """

    _parameter_constraints = {"order": [Interval(Integral, 1, None, closed="left")]}

    def __init__(self, order=1):
        self.order = order

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the number of columns (and their names).

        Parameters
        ----------
        X : array-like of shape (n_times, n_features)
            Rows in time order.
        y : None
            Ignored.

        Returns
        -------
        self : LagEmbedding
        """
        validate_data(self, X)
        return self

    def transform(self, X):
        """The lagged columns.

        Parameters
        ----------
        X : array-like of shape (n_times, n_features)
            Rows in time order.

        Returns
        -------
        lags : ndarray of shape (n_times, n_features * order)
            Columns grouped by lag: lag 1 of every feature first.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        n, k = X.shape
        out = np.full((n, k * self.order), np.nan)
        for lag in range(1, min(self.order, n - 1) + 1):
            out[lag:, (lag - 1) * k:lag * k] = X[:-lag]
        return out

    def get_feature_names_out(self, input_features=None):
        """Names ``<feature>_lag<j>``.

        Parameters
        ----------
        input_features : array-like of str or None
            Input names; default: those seen in fit, else x0, x1, ...

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self)
        if input_features is None:
            input_features = getattr(self, "feature_names_in_", None)
        if input_features is None:
            input_features = [f"x{i}" for i in range(self.n_features_in_)]
        if len(input_features) != self.n_features_in_:
            raise ValueError(f"input_features has {len(input_features)} names; X had {self.n_features_in_} columns.")
        return np.array([f"{name}_lag{lag}" for lag in range(1, self.order + 1) for name in input_features],
                        dtype=object)  # fmt: skip


class LagRegressor(AutoRegressor):
    """Any scikit-learn regressor fitted to predict a series from its last values.

    ``fit(y)`` builds the lag matrix of the series (complete windows only:
    nothing is lagged across a missing value) and fits a clone of
    ``estimator`` to predict each value from the ``order`` before it. Then,
    as for the other densest AR models, ``predict(y)`` gives one-step
    predictions, ``forecast(steps)`` recursive forecasts (each forecast fed
    back as a lag), and ``score(y)`` the R^2 of one-step predictions on a block,
    so ``GridSearchCV(..., cv=TimeSeriesSplit(...)).fit(y)`` can tune both the
    order and the regressor's parameters (``estimator__<name>``).
    ``fit(X, y)`` with a lag embedding fits the regressor on its first
    ``order`` columns.

    Parameters
    ----------
    estimator : regressor
        Any object with ``fit`` and ``predict`` (cloned).
    order : int, default=1
        Number of lags.

    Attributes
    ----------
    estimator_ : regressor
        The fitted clone.
    order_ : int
        ``order``.
    n_obs_ : int
        Number of windows fitted.
    last_window_ : ndarray of shape (order,) or None
        Last values of the fitted series (None after a lag-embedding fit).
    n_features_in_ : int
        Columns of the lag embedding (1 for a series).

    Examples
    --------
    >>> from sklearn.ensemble import HistGradientBoostingRegressor
    >>> from densest.ar import LagRegressor
    >>> from densest.datasets import make_ar_process
    >>> y = make_ar_process([0.5, -0.3], 3000, random_state=0)
    >>> model = LagRegressor(HistGradientBoostingRegressor(random_state=0), order=2).fit(y)
    >>> model.forecast(3).shape
    (3,)
    >>> bool(model.score(y[2000:]) > 0.2)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "order": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, estimator, order=1):
        self.estimator = estimator
        self.order = order

    @fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the regressor to a series' lag matrix, or to a lag embedding.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, k)
            The series (with ``y=None``), or a lag embedding (lag 1 first).
        y : None or array-like of shape (n,)
            Targets of the lag embedding; None when X is the series.

        Returns
        -------
        self : LagRegressor
        """
        p = self.order
        if y is None:
            series = self._fit_series_input(X)
            check_length(series.size, p)
            lags, targets = lag_matrix(series, p)
            if targets.size < 2:
                raise ValueError(f"Only {targets.size} windows of {p + 1} consecutive non-missing values.")
            self.last_window_ = series[series.size - p:].copy()
            self.n_features_in_ = 1
        else:
            lags, targets = validate_data(self, X, y, y_numeric=True)
            lags = first_lags(lags, p)
            self.last_window_ = None
        self.estimator_ = clone(self.estimator).fit(lags, targets)
        self.order_, self.n_obs_ = p, int(targets.size)
        return self

    def _predict_lags(self, lags):
        return np.asarray(self.estimator_.predict(lags), dtype=np.float64).reshape(-1)
