"""Exact least-squares autoregression: densest.ar.LeastSquaresAR."""

from numbers import Integral

import numpy as np
from scipy import linalg, stats
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score

from densest.ar import _core
from densest.utils._numeric import check_magnitude
from densest.utils._parallel import numba_threads
from densest.utils.validation import (
    Interval,
    StrOptions,
    check_is_fitted,
    fit_context,
    validate_data,
)

CRITERIA = ("aic", "bic", "hqic")
AR_HINT = "the AR coefficients do not depend on the scale"


def check_series(y, name="y"):
    """A 1-D float64 copy of a series; NaN (missing) allowed, inf not.

    Object arrays of numbers and pandas series with missing values (``pd.NA``)
    are read as floats, as scikit-learn's ``check_array`` does.
    """
    y = np.asarray(_as_floats(y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be a 1-D series, got an array of shape {y.shape}.")
    check_real_values(y, name)
    return np.array(y, dtype=np.float64)


def check_real_values(y, name):
    """Raise a clear error unless the array y holds real numbers, NaN allowed, inf not."""
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be numeric (a real series), got dtype {y.dtype}.")
    if np.isinf(y).any():
        raise ValueError(f"{name} contains inf; only NaN (a missing value) is allowed.")


def _as_floats(y):
    """y as float64 values when it holds numbers in an object or pandas extension
    dtype (missing values as NaN); otherwise y unchanged, for the checks to name."""
    try:
        if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
            return y.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.asarray(y).dtype.kind == "O":
            return np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError):
        pass
    return y


def check_length(n, order, n_windows=2):
    """Raise a clear error when a series of ``n`` values has fewer than ``n_windows``
    windows of ``order`` lags and a target."""
    if n < order + n_windows:
        raise ValueError(f"The series has {n} values; order {order} needs at least {order + n_windows}.")


def first_lags(X, order):
    """The first ``order`` columns (lags 1..order) of a lag embedding, or a clear error."""
    if X.shape[1] < order:
        raise ValueError(f"order={order} needs at least {order} lag columns; X has {X.shape[1]} feature(s).")
    return X[:, :order]


class AutoRegressor(RegressorMixin, BaseEstimator):
    """Prediction, scoring and forecasting shared by the autoregressive estimators.

    Subclasses set ``order_`` and ``last_window_`` (None after a lag-embedding
    fit) and define ``_predict_lags`` (predictions from rows of lags, lag 1
    first).
    """

    def _fit_series_input(self, X):
        """The series passed as ``fit(X)`` without targets, or a clear error."""
        X = np.asarray(X) if not hasattr(X, "shape") else X
        if getattr(X, "ndim", 1) == 2 and X.shape[1] > 1:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None: "
                "pass a 1-D series alone, or a lag embedding X with its targets y."
            )
        return check_series(X, "X")

    def _fit_embedding_input(self, X, y):
        """A lag embedding and its targets, validated and within check_magnitude's range."""
        X, y = validate_data(self, X, y, y_numeric=True)
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        check_magnitude(X, "X", AR_HINT)
        check_magnitude(y, "y", AR_HINT)
        return X, y

    def _centre(self, series):
        """Mean of the non-missing values with a constant trend, else 0."""
        finite = np.isfinite(series)
        return float(np.mean(series[finite])) if self.trend == "c" and finite.any() else 0.0

    def _intercept(self, const, mean):
        """Intercept in the series' units from one fitted on the series minus ``mean``."""
        return float(const + mean * (1.0 - self.coef_.sum())) if self.trend == "c" else 0.0

    def predict(self, X):
        """One-step predictions.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, k)
            After ``fit(y)``: a series (entry t predicts X[t] from X[t-p..t-1];
            NaN for t < ``order_`` and wherever a needed value is missing). After
            ``fit(X, y)``: a lag embedding with as many columns as in fit.

        Returns
        -------
        y_pred : ndarray of shape (n,)
        """
        check_is_fitted(self)
        if self.last_window_ is not None:  # fitted on a series
            y = check_series(X, "X")
            p = self.order_
            out = np.full(y.size, np.nan)
            if y.size > p:
                lags = np.lib.stride_tricks.sliding_window_view(y, p + 1)[:, :p][:, ::-1]
                complete = np.isfinite(lags).all(axis=1)
                out[p:][complete] = self._predict_lags(lags[complete])
            return out
        X = validate_data(self, X, reset=False)
        return self._predict_lags(X[:, : self.order_])

    def score(self, X, y=None):
        """R^2 of one-step predictions (series) or of the regression (embedding).

        Parameters
        ----------
        X : array-like of shape (n,) or (n, k)
            A series block (its first ``order_`` values are initial conditions)
            or a lag embedding.
        y : None or array-like of shape (n,)
            Targets of a lag embedding.

        Returns
        -------
        score : float
        """
        check_is_fitted(self)
        if y is not None:
            return super().score(X, y)
        if self.last_window_ is None:
            raise ValueError("Fitted on a lag embedding: score(X, y) needs the targets y.")
        series = check_series(X, "X")
        pred = self.predict(series)
        keep = np.isfinite(pred) & np.isfinite(series)
        if keep.sum() < 2:
            raise ValueError(f"The block needs at least order + 2 = {self.order_ + 2} values to be scored.")
        return float(r2_score(series[keep], pred[keep]))

    def forecast(self, steps=1, y=None):
        """Recursive forecasts of the next ``steps`` values.

        Parameters
        ----------
        steps : int, default=1
            Horizon.
        y : array-like of shape (n,), optional
            History to forecast from (its last ``order_`` values, none missing);
            default: the end of the fitted series.

        Returns
        -------
        forecasts : ndarray of shape (steps,)
        """
        window = self._forecast_window(steps, y)
        history = np.concatenate([window, np.zeros(int(steps))])
        p = self.order_
        for h in range(int(steps)):
            history[p + h] = self._predict_lags(history[h:p + h][::-1][None, :])[0]
        return history[p:]

    def _forecast_window(self, steps, y):
        """The last ``order_`` values to forecast from, after checking ``steps``."""
        check_is_fitted(self)
        if isinstance(steps, bool) or int(steps) != steps or steps < 1:
            raise ValueError(f"steps must be a positive integer, got {steps!r}.")
        if y is None:
            if self.last_window_ is None:
                raise ValueError("Fitted on a lag embedding: pass the history y to forecast from.")
            return self.last_window_
        window = check_series(y, "y")[len(y) - self.order_:]
        if window.size < self.order_ or not np.isfinite(window).all():
            raise ValueError(f"y must end with {self.order_} non-missing values.")
        return window


class LinearAutoRegressor(AutoRegressor):
    """An autoregression with coefficients: ``coef_``, ``intercept_`` and ``sigma2_``."""

    def _predict_lags(self, lags):
        return self.intercept_ + lags @ self.coef_

    def forecast_interval(self, steps=1, coverage=0.95, y=None):
        """Recursive forecasts with Gaussian prediction intervals.

        The h-step forecast error of a linear AR with innovations of variance
        ``sigma2_`` has variance sigma2 * sum_{j<h} psi_j^2, with the MA(infinity)
        weights psi_0 = 1, psi_j = sum_i phi_i psi_(j-i) (coefficient
        uncertainty is ignored, as in statsmodels' ``AutoReg`` forecasts).

        Parameters
        ----------
        steps : int, default=1
            Horizon.
        coverage : float in (0, 1), default=0.95
            Probability covered by each interval.
        y : array-like of shape (n,), optional
            History to forecast from; default: the end of the fitted series.

        Returns
        -------
        forecasts, lower, upper : ndarray of shape (steps,)

        Examples
        --------
        >>> from densest.ar import LeastSquaresAR
        >>> from densest.datasets import make_ar_process
        >>> model = LeastSquaresAR(2).fit(make_ar_process([0.5, -0.3], 2000, random_state=0))
        >>> mean, lower, upper = model.forecast_interval(3)
        >>> bool((lower < mean).all() and (mean < upper).all())
        True
        """
        if not 0.0 < coverage < 1.0:
            raise ValueError(f"coverage must lie strictly between 0 and 1, got {coverage!r}.")
        mean = self.forecast(steps, y)
        psi = np.zeros(mean.size)
        psi[0] = 1.0
        for j in range(1, mean.size):
            k = min(j, self.order_)
            psi[j] = self.coef_[:k] @ psi[j - 1::-1][:k]
        half = stats.norm.ppf(0.5 + coverage / 2.0) * np.sqrt(self.sigma2_ * np.cumsum(psi**2))
        return mean, mean - half, mean + half


class LeastSquaresAR(LinearAutoRegressor):
    """Exact conditional least-squares autoregression, with no lag matrix.

    Fits y_t = c + sum_{i=1..p} phi_i y_(t-i) + e_t. For a series, the cross
    products X'X and X'y of the lag matrix X follow from lagged dot products of
    the series and a diagonal recurrence (O(N p) time, O(N + p^2) memory); they
    are solved by Cholesky after centring, refined from the series where the
    Gram is ill-conditioned. All nested orders 1..p come from one factorisation,
    so ``order="aic"`` costs one fit. Windows that contain a missing value (NaN)
    are dropped, exactly: nothing is lagged across a gap.

    Two ways to fit:

    - ``fit(y)`` with a 1-D series: the model above. Then ``predict(y)`` gives
      one-step predictions (NaN for the first p values), ``forecast(steps)``
      recursive forecasts, and ``score(y)`` the R^2 of one-step predictions on a
      block using its own first p values as initial conditions, which is what
      ``GridSearchCV(..., cv=TimeSeriesSplit(...)).fit(y)`` needs.
    - ``fit(X, y)`` with a lag embedding X (column i holds lag i + 1, e.g. from
      ``np.lib.stride_tricks.sliding_window_view``): ordinary least squares on
      the first ``order`` columns (all columns, for an information criterion).

    Parameters
    ----------
    order : int or {"aic", "bic", "hqic"}, default=1
        Number of lags p, or the criterion that selects it among 1..max_order on
        the common sample (the first ``max_order`` values held back for every
        order), after which the chosen order is refitted on every window, as
        statsmodels' ``ar_select_order`` does.
    max_order : int or None, default=None
        Largest order tried by a criterion; None: ``int(10 * log10(n))`` for a
        series (at most n // 2 - 1), every column for an embedding.
    trend : {"c", "n"}, default="c"
        With a constant or without.
    method : {"ols", "yule_walker", "burg"}, default="ols"
        Conditional least squares (equal to statsmodels ``AutoReg``), Yule-Walker
        (``adjusted`` autocovariances, Levinson solve) or Burg. The last two need
        a series without missing values; their intercept is mean * (1 - sum phi).
    refine : "auto" or int, default="auto"
        Iterative-refinement steps of the least-squares solve ("auto": two when
        the Gram is ill-conditioned).
    n_jobs : int or None, default=None
        Numba threads for the lagged dot products.

    Attributes
    ----------
    coef_ : ndarray of shape (``order_``,)
        AR coefficients, lag 1 first.
    intercept_ : float
        Constant (0.0 for ``trend="n"``).
    order_ : int
        Order used (selected, for a criterion; 0 when no lag beats the mean).
    sigma2_ : float
        Innovation variance: RSS / n_obs for OLS (as statsmodels), the method's
        estimate for Yule-Walker and Burg.
    n_obs_ : int
        Number of targets in the fit.
    llf_, aic_, bic_, hqic_ : float
        Gaussian conditional log-likelihood and information criteria
        (statsmodels' ``AutoReg`` definitions; OLS only, NaN otherwise).
    ic_path_ : dict or None
        For a criterion: each criterion for the orders 0..max_order.
    last_window_ : ndarray of shape (``order_``,)
        Last ``order_`` values of the fitted series, newest last (series fits).
    n_features_in_ : int
        Columns of the lag embedding (1 for a series).

    Examples
    --------
    >>> from densest.ar import LeastSquaresAR
    >>> from densest.datasets import make_ar_process
    >>> y = make_ar_process([0.5, -0.3], 5000, random_state=0)
    >>> model = LeastSquaresAR(order="bic", max_order=10).fit(y)
    >>> model.order_, model.coef_.round(1)
    (2, array([ 0.5, -0.3]))
    >>> model.forecast(3).shape
    (3,)
    """

    _parameter_constraints = {
        "order": [Interval(Integral, 1, None, closed="left"), StrOptions(set(CRITERIA))],
        "max_order": [Interval(Integral, 1, None, closed="left"), None],
        "trend": [StrOptions({"c", "n"})],
        "method": [StrOptions({"ols", "yule_walker", "burg"})],
        "refine": [StrOptions({"auto"}), Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(self, order=1, *, max_order=None, trend="c", method="ols", refine="auto",
                 n_jobs=None):  # fmt: skip
        self.order = order
        self.max_order = max_order
        self.trend = trend
        self.method = method
        self.refine = refine
        self.n_jobs = n_jobs

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit to a series, or to a lag embedding and its targets.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, k)
            The series (with ``y=None``), or a lag embedding (lag 1 first).
        y : None or array-like of shape (n,)
            Targets of the lag embedding; None when X is the series.

        Returns
        -------
        self : LeastSquaresAR
        """
        if y is None:
            series = self._fit_series_input(X)
            check_magnitude(series, "X", AR_HINT)
            with numba_threads(self.n_jobs):
                self._fit_series(series)
        else:
            self._fit_embedding(*self._fit_embedding_input(X, y))
        return self

    def _criterion_orders(self, n_max):
        if self.order in CRITERIA:
            return self.order, min(self.max_order or n_max, n_max)
        return None, self.order

    def _fit_series(self, y):
        n = y.size
        finite = np.isfinite(y)
        criterion, p = self._criterion_orders(max(1, min(int(10 * np.log10(max(n, 2))), n // 2 - 1)))
        check_length(n, p)
        if self.method != "ols" and not finite.all():
            raise ValueError(f"method={self.method!r} needs a series without missing values (NaN).")
        mean = self._centre(y)
        z = y - mean
        cp = _core.cross_products(z, p)
        if cp.n_obs < p + (self.trend == "c") + 1:
            raise ValueError(
                f"Only {cp.n_obs} windows of {p + 1} consecutive non-missing values: too few for order {p}."
            )
        if criterion is not None:
            p = self._select(cp, p, criterion)
            cp = _core.cross_products(z, p)  # the chosen order refitted on all windows
        else:
            self.ic_path_ = None
        self._solve(z, cp, p, mean)
        self.last_window_ = y[n - p:].copy() if p else np.zeros(0)
        self.n_features_in_ = 1

    def _select(self, cp, max_order, criterion):
        rss = _core.nested_rss(cp, self.trend)
        n_params = np.arange(max_order + 1) + (self.trend == "c")
        ics, _ = _core.information_criteria(rss, cp.n_obs, n_params)
        order = int(np.argmin(ics[criterion]))
        self.ic_path_ = ics
        return order

    def _solve(self, z, cp, p, mean):
        if p == 0:  # a criterion preferred no lag: white noise around the mean
            const = _core.constant(cp, np.zeros(0), self.trend)
            rss = cp.yy - 2.0 * const * cp.y_sum + cp.n_obs * const**2
            ics, llf = _core.information_criteria(np.array([rss]), cp.n_obs, int(self.trend == "c"))
            self.llf_ = float(llf[0])
            self.aic_, self.bic_, self.hqic_ = (float(ics[k][0]) for k in CRITERIA)
            coef, sigma2 = np.zeros(0), rss / cp.n_obs
        elif self.method == "ols":
            try:
                coef, const, _ = _core.solve_least_squares(z, cp, self.trend, refine=self.refine)
            except np.linalg.LinAlgError:
                raise ValueError(
                    "The lagged values are collinear (e.g. a constant or exactly periodic series): "
                    "the least-squares problem has no unique solution; use a smaller order."
                ) from None
            rss = _core.residual_sum_of_squares(z, cp, coef, const)
            sigma2 = rss / cp.n_obs
            n_params = p + (self.trend == "c")
            ics, llf = _core.information_criteria(np.array([rss]), cp.n_obs, n_params)
            self.llf_ = float(llf[0])
            self.aic_, self.bic_, self.hqic_ = (float(ics[k][0]) for k in CRITERIA)
        else:
            if np.ptp(z) == 0.0:
                raise ValueError("The series is constant: its autocovariances are all zero.")
            estimate = _core.yule_walker if self.method == "yule_walker" else _core.burg
            coef, sigma2 = estimate(z, p)
            const = 0.0
            self.llf_ = self.aic_ = self.bic_ = self.hqic_ = float("nan")
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = self._intercept(const, mean)
        self.sigma2_ = float(sigma2)
        self.order_ = int(p)
        self.n_obs_ = int(cp.n_obs)

    def _fit_embedding(self, X, y):
        if self.method != "ols":
            raise ValueError(f"method={self.method!r} needs the series: call fit(y) with y=None.")
        n, k = X.shape
        criterion, p = self._criterion_orders(k)
        X = first_lags(X, p)
        cp = _core.embedding_cross_products(X, y)
        if n < p + (self.trend == "c") + 1:
            raise ValueError(f"{n} samples are too few for {p} lag columns.")
        if criterion is not None:
            p = self._select(cp, p, criterion)
            X = X[:, :p]
            cp = _core.embedding_cross_products(X, y)
        else:
            self.ic_path_ = None
        gram, rhs, _ = _core._centred(cp, self.trend)
        if p == 0:
            coef = np.zeros(0)
        else:
            try:
                coef = linalg.solve(gram, rhs, assume_a="pos")
            except (np.linalg.LinAlgError, linalg.LinAlgWarning):
                coef = linalg.lstsq(gram, rhs)[0]
        const = _core.constant(cp, coef, self.trend)
        resid = y - X @ coef - const
        rss = float(resid @ resid)
        ics, llf = _core.information_criteria(np.array([max(rss, 1e-300)]), n, p + (self.trend == "c"))
        self.coef_, self.intercept_ = coef, float(const)
        self.sigma2_, self.order_, self.n_obs_ = rss / n, int(p), int(n)
        self.llf_ = float(llf[0])
        self.aic_, self.bic_, self.hqic_ = (float(ics[c][0]) for c in CRITERIA)
        self.last_window_ = None
