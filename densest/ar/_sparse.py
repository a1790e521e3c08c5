"""Sparse autoregression by the adaptive lasso on the lag Gram: densest.ar.SparseAR."""

from numbers import Integral, Real

import numpy as np

from densest.ar import _core
from densest.ar._least_squares import AR_HINT, CRITERIA, LinearAutoRegressor, check_length
from densest.utils._numeric import check_magnitude
from densest.utils._parallel import numba_threads
from densest.utils.validation import Interval, StrOptions, fit_context


class SparseAR(LinearAutoRegressor):
    """Sparse autoregression: the adaptive lasso, solved on X'X, with an exact refit.

    The lag Gram X'X and X'y of an AR(order) regression come from the series
    without a lag matrix (as in :class:`LeastSquaresAR`); coordinate descent on
    them minimises ``(1/(2n)) RSS + alpha sum_j |phi_j| / |phi_ols_j|^gamma`` along a
    decreasing grid of alpha. The penalty is chosen by an information criterion
    (the number of non-zero lags counts as the degrees of freedom), and the
    selected lags are refitted by least squares, so the kept coefficients are
    unbiased. Windows that contain a missing value are dropped exactly.

    Parameters
    ----------
    order : int, default=10
        Largest lag considered.
    alpha : {"bic", "aic", "hqic"} or float, default="bic"
        Criterion that picks the penalty along the path, or a fixed penalty.
    gamma : float, default=1.0
        Exponent of the adaptive weights ``1 / |phi_ols|^gamma``; 0 gives the lasso.
    n_alphas : int, default=60
        Path length, at least 2 (log-spaced from the smallest penalty that
        zeroes every lag down by a factor 1e4; a single value would hold only
        that penalty, so a fixed penalty is given as ``alpha`` instead).
    refit : bool, default=True
        Refit the selected lags by least squares.
    trend : {"c", "n"}, default="c"
        With a constant or without.
    n_jobs : int or None, default=None
        Numba threads for the lagged dot products.

    Attributes
    ----------
    coef_ : ndarray of shape (order,)
        Coefficients, lag 1 first, zero for dropped lags.
    intercept_ : float
        Constant (0.0 for ``trend="n"``).
    support_ : ndarray of int
        Kept lags (1-based).
    alpha_ : float
        Chosen penalty.
    alphas_ : ndarray of shape (n_alphas,)
        The path's penalties (one value for a fixed alpha).
    ic_path_ : ndarray or None
        The criterion along the path (None for a fixed alpha).
    sigma2_ : float
        RSS / n_obs of the final coefficients.
    order_ : int
        ``order`` (the length of ``coef_``).
    n_obs_ : int
        Number of targets.
    last_window_ : ndarray of shape (``order_``,) or None
        Last values of the fitted series (None after a lag-embedding fit).
    n_features_in_ : int
        Columns of the lag embedding (1 for a series).

    Examples
    --------
    >>> from densest.ar import SparseAR
    >>> from densest.datasets import make_ar_process
    >>> y = make_ar_process([0.2, 0.3, -0.5], 20_000, random_state=0)
    >>> model = SparseAR(order=50).fit(y)
    >>> model.support_
    array([1, 2, 3])
    """

    _parameter_constraints = {
        "order": [Interval(Integral, 1, None, closed="left")],
        "alpha": [StrOptions(set(CRITERIA)), Interval(Real, 0, None, closed="left")],
        "gamma": [Interval(Real, 0, None, closed="left")],
        "n_alphas": [Interval(Integral, 2, None, closed="left")],
        "refit": ["boolean"],
        "trend": [StrOptions({"c", "n"})],
        "n_jobs": [Integral, None],
    }

    def __init__(self, order=10, *, alpha="bic", gamma=1.0, n_alphas=60, refit=True, trend="c",
                 n_jobs=None):  # fmt: skip
        self.order = order
        self.alpha = alpha
        self.gamma = gamma
        self.n_alphas = n_alphas
        self.refit = refit
        self.trend = trend
        self.n_jobs = n_jobs

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit to a series, or to a lag embedding and its targets.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, k)
            The series (with ``y=None``), or a lag embedding (lag 1 first; the
            first ``min(order, k)`` columns are used).
        y : None or array-like of shape (n,)
            Targets of the lag embedding; None when X is the series.

        Returns
        -------
        self : SparseAR
        """
        if y is None:
            series = self._fit_series_input(X)
            check_magnitude(series, "X", AR_HINT)
            check_length(series.size, self.order)
            mean = self._centre(series)
            with numba_threads(self.n_jobs):
                cp = _core.cross_products(series - mean, self.order)
            self._fit_cross_products(cp, mean)
            self.last_window_ = series[series.size - self.order:].copy()
            self.n_features_in_ = 1
        else:
            X, y = self._fit_embedding_input(X, y)
            X = np.ascontiguousarray(X[:, : self.order])
            cp = _core.embedding_cross_products(X, y)
            self._fit_cross_products(cp, 0.0)
            self.last_window_ = None
        return self

    def _fit_cross_products(self, cp, mean):
        p = len(cp.xy)
        if cp.n_obs < p + (self.trend == "c") + 1:
            raise ValueError(f"Only {cp.n_obs} sample(s) (complete windows): too few for {p} lags.")
        fixed = not isinstance(self.alpha, str)
        path = _core.adaptive_lasso_path(cp, self.trend, gamma=self.gamma,
                                         alphas=[self.alpha] if fixed else None,
                                         n_alphas=self.n_alphas)  # fmt: skip
        if fixed:
            best, self.ic_path_ = 0, None
        else:
            ics, _ = _core.information_criteria(path.rss, cp.n_obs, path.n_nonzero + (self.trend == "c"))
            self.ic_path_ = ics[self.alpha]
            best = int(np.argmin(self.ic_path_))
        coef = path.coefs[best]
        support = np.flatnonzero(coef)
        rss = path.rss[best]
        if self.refit:
            coef, rss = _core.refit_on_support(cp, self.trend, support)
        self.coef_ = coef
        self.intercept_ = self._intercept(_core.constant(cp, coef, self.trend), mean)
        self.support_ = support + 1
        self.alpha_ = float(path.alphas[best])
        self.alphas_ = path.alphas
        self.sigma2_ = float(rss / cp.n_obs)
        self.order_ = p
        self.n_obs_ = int(cp.n_obs)
