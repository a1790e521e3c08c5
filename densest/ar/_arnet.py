"""AR-Net (Triebe, Laptev & Rajagopal 2019) in torch: densest.ar.ARNet."""

from numbers import Integral, Real

import numpy as np
from sklearn.utils import check_random_state

from densest.ar import _core, _sgd
from densest.ar._least_squares import AR_HINT, CRITERIA, LinearAutoRegressor, check_length, first_lags
from densest.utils import import_optional
from densest.utils._numeric import check_magnitude
from densest.utils._torch import resolve_device
from densest.utils.validation import Interval, StrOptions, TorchDevice, fit_context


class ARNet(LinearAutoRegressor):
    """AR-Net: an autoregression fitted as a one-layer network by stochastic gradient.

    The model is that of :class:`LeastSquaresAR`, y_t = c + sum_{i=1..p}
    phi_i y_(t-i) + e_t, with the weights of one linear layer as the AR
    coefficients. It is trained by Adam on mini-batches of windows of the
    standardised series (coefficients do not depend on the scaling), with a
    one-cycle learning rate (warm-up over a quarter of the steps, then cosine
    annealing to 1/250000 of the peak) and, when ``sparsity`` is given, the
    paper's penalty ``lambda R(phi)`` with

    ``R(phi) = (1/p) sum_i (2 / (1 + exp(-c1 |phi_i|^(1/c2))) - 1)``,

    with lambda = c_lambda (1/s - 1) for an expected fraction s of non-zero
    lags, switched in on a quadratic ramp that reaches full strength halfway
    through training. The penalty's gradient is large near zero and vanishes
    for large coefficients, so the annealed steps drive unneeded lags to zero
    without shrinking the needed ones much. At phi = 0 its gradient, infinite
    in theory, is taken as 0 (``|phi|`` is offset by 1e-9 inside the power).
    Without ``sparsity`` the weights returned are the mean of the iterates of
    the second half of training (tail averaging), which is 3-4x closer to the
    least-squares weights than the last iterate.

    Each step costs O(batch_size * p), so the fit time is nearly flat in p at
    this model size; :class:`LeastSquaresAR` gives the exact least-squares
    solution that AR-Net approximates (to about 1e-3 in the coefficients at
    N = 1e5, 5e-4 averaged), much faster, and :class:`SparseAR` sparse lags without SGD.
    Windows that contain a missing value (NaN) are never drawn.

    Parameters
    ----------
    order : int, default=10
        Number of lags p.
    sparsity : float in (0, 1] or None, default=None
        Expected fraction s of non-zero coefficients (e.g. 3 / order); None or
        1: no penalty (a dense AR).
    trend : {"c", "n"}, default="c"
        With a constant (a bias in the layer) or without.
    loss : {"mse", "huber"}, default="mse"
        Squared error (the paper's) or smooth L1 with threshold 1 (on the
        standardised scale).
    c1, c2 : float, default=2.0
        Shape of the penalty. The paper states 3 and 3; AR-Net's released code
        uses 2 and 2, which measured far sparser here (in the paper's sparse
        setting at N = 1e5, p = 1000, the summed magnitude of the 997 unneeded
        coefficients was 0.02-2 with 3 and 3, 1e-5-2e-3 with 2 and 2).
    reg_scale : "auto" or float, default="auto"
        c_lambda. "auto": the paper's sqrt(L)/100, with L the mean squared
        one-step error of the previous epoch (1 in the first), times
        (1e5 / n_windows)^(3/4). The paper's constant suits its 100 000 training
        windows; with fewer, the noise in the coefficients is larger (of order
        n^(-1/2)), and zeroing it under the penalty's ``|w|^(-1/2)`` slope near 0
        takes a weight growing as n^(-3/4). This scaling is densest's (in the
        paper's small-data setting, 1000 values and p = 20, it took the median
        sTPE from 19 to about 3; ``benchmarks/RESULTS.md``).
    n_epochs : int or "auto", default="auto"
        Passes over the windows; "auto": at least 10 epochs and 30000 steps.
    batch_size : int, default=32
        Windows per step.
    learning_rate : float, default=1e-3
        Peak learning rate.
    dtype : {"float64", "float32"}, default="float64"
        Precision of training.
    device : str or torch.device, default="auto"
        Torch device; "auto" is CUDA when available, else the CPU. The results
        are returned as NumPy arrays either way.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffling of the windows.
    verbose : bool, default=False
        Show a progress bar over epochs (tqdm, from ``densest[progress]``;
        printed losses when it is missing).

    Attributes
    ----------
    coef_ : ndarray of shape (order,)
        AR coefficients, lag 1 first.
    intercept_ : float
        Constant in the series' units (0.0 for ``trend="n"``).
    order_ : int
        ``order``.
    sigma2_ : float
        RSS / n_obs of the fitted coefficients on the training windows.
    n_obs_ : int
        Number of complete windows (targets) trained on.
    llf_, aic_, bic_, hqic_ : float
        Gaussian conditional log-likelihood and information criteria of the
        fitted coefficients (as :class:`LeastSquaresAR`, with p + 1 parameters
        for ``trend="c"``).
    ic_path_ : None
        No order path (same attributes as :class:`LeastSquaresAR`).
    loss_curve_ : list of float
        Mean squared one-step error of each epoch, on the standardised scale.
    n_iter_ : int
        Epochs run.
    reg_lambda_ : float
        Final penalty weight lambda (0.0 without ``sparsity``).
    device_ : str
        Device used for training, as a string: unlike the other torch
        estimators, a fitted ARNet keeps only NumPy arrays (its coefficients),
        so it unpickles where torch is not installed.
    last_window_ : ndarray of shape (order,) or None
        Last values of the fitted series (None after a lag-embedding fit).
    n_features_in_ : int
        Columns of the lag embedding (1 for a series).

    Examples
    --------
    >>> from densest.ar import ARNet
    >>> from densest.datasets import make_ar_process
    >>> y = make_ar_process([0.2, 0.3, -0.5], 5000, random_state=0)
    >>> net = ARNet(order=3, n_epochs=20, device="cpu", random_state=0).fit(y)
    >>> net.coef_.round(1)
    array([ 0.2,  0.3, -0.5])
    >>> net.forecast(2).shape
    (2,)
    """

    _parameter_constraints = {
        "order": [Interval(Integral, 1, None, closed="left")],
        "sparsity": [Interval(Real, 0, 1, closed="right"), None],
        "trend": [StrOptions({"c", "n"})],
        "loss": [StrOptions({"mse", "huber"})],
        "c1": [Interval(Real, 0, None, closed="neither")],
        "c2": [Interval(Real, 0, None, closed="neither")],
        "reg_scale": [StrOptions({"auto"}), Interval(Real, 0, None, closed="left")],
        "n_epochs": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "dtype": [StrOptions({"float64", "float32"})],
        "device": [str, TorchDevice()],
        "random_state": ["random_state"],
        "verbose": ["boolean"],
    }

    def __init__(self, order=10, *, sparsity=None, trend="c", loss="mse", c1=2.0, c2=2.0,
                 reg_scale="auto", n_epochs="auto", batch_size=32, learning_rate=1e-3,
                 dtype="float64", device="auto", random_state=None, verbose=False):  # fmt: skip
        self.order = order
        self.sparsity = sparsity
        self.trend = trend
        self.loss = loss
        self.c1 = c1
        self.c2 = c2
        self.reg_scale = reg_scale
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit to a series, or to a lag embedding and its targets.

        Parameters
        ----------
        X : array-like of shape (n,) or (n, k)
            The series (with ``y=None``), or a lag embedding (lag 1 first; the
            first ``order`` columns are used).
        y : None or array-like of shape (n,)
            Targets of the lag embedding; None when X is the series.

        Returns
        -------
        self : ARNet
        """
        torch = import_optional("torch", "deep")
        device = resolve_device(torch, self.device)
        dtype = getattr(torch, self.dtype)
        p = self.order
        if y is None:
            series = self._fit_series_input(X)
            check_magnitude(series, "X", AR_HINT)
            check_length(series.size, p)
            mean, scale = self._standardisation(series[np.isfinite(series)])
            windows, rows = _sgd.series_windows(torch, (series - mean) / scale, p, device, dtype)
            if rows.numel() < p + 2:
                raise ValueError(
                    f"Only {rows.numel()} windows of {p + 1} consecutive non-missing values: "
                    f"too few for order {p}."
                )
        else:
            X, y = self._fit_embedding_input(X, y)
            X = first_lags(X, p)
            if X.shape[0] < p + 2:
                raise ValueError(f"{X.shape[0]} samples are too few for {p} lag columns (need {p + 2}).")
            mean, scale = self._standardisation(y)
            windows, rows = _sgd.embedding_windows(torch, (X - mean) / scale, (y - mean) / scale,
                                                   device, dtype)  # fmt: skip
        result = self._train(windows, rows)
        self.coef_ = result.coef
        self.intercept_ = self._intercept(scale * result.bias, mean)
        self.order_, self.n_iter_ = p, len(result.loss_curve)
        self.loss_curve_, self.reg_lambda_ = result.loss_curve, float(result.reg_lambda)
        self.device_ = str(device)
        if y is None:
            self._set_fit_statistics(*self._series_rss(series - mean, scale * result.bias))
            self.last_window_ = series[series.size - p:].copy()
            self.n_features_in_ = 1
        else:
            resid = y - self.intercept_ - X @ self.coef_
            self._set_fit_statistics(float(resid @ resid), y.size)
            self.last_window_ = None
        return self

    def _standardisation(self, values):
        """Centre (the mean with a constant, else 0) and scale of the training values."""
        mean = float(values.mean()) if self.trend == "c" else 0.0
        scale = float(np.sqrt(np.mean((values - mean) ** 2)))
        if not scale > 0.0:
            raise ValueError("The series is constant: there is nothing to learn from its lags.")
        return mean, scale

    def _n_epochs(self, n_rows):
        if self.n_epochs != "auto":
            return self.n_epochs
        steps_per_epoch = -(-n_rows // self.batch_size)
        return max(10, -(-30000 // steps_per_epoch))

    def _train(self, windows, rows):
        progress = None
        if self.verbose:
            try:
                from tqdm.auto import tqdm as progress
            except ImportError:
                progress = _printed_epochs
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        return _sgd.train(
            windows, rows, bias=self.trend == "c", sparsity=self.sparsity, c1=self.c1, c2=self.c2,
            reg_scale=None if self.reg_scale == "auto" else self.reg_scale, loss=self.loss,
            n_epochs=self._n_epochs(rows.numel()), batch_size=self.batch_size,
            learning_rate=self.learning_rate, seed=seed, progress=progress,
        )  # fmt: skip

    def _series_rss(self, centred, const):
        cp = _core.cross_products(centred, self.order)
        return _core.residual_sum_of_squares(centred, cp, self.coef_, const), cp.n_obs

    def _set_fit_statistics(self, rss, n_obs):
        n_params = self.order + (self.trend == "c")
        ics, llf = _core.information_criteria(np.array([max(rss, 1e-300)]), n_obs, n_params)
        self.sigma2_, self.n_obs_ = rss / n_obs, int(n_obs)
        self.llf_ = float(llf[0])
        self.aic_, self.bic_, self.hqic_ = (float(ics[k][0]) for k in CRITERIA)
        self.ic_path_ = None


def _printed_epochs(epochs):
    """Announce each epoch on stdout (the fallback progress display)."""
    for epoch in epochs:
        print(f"ARNet: epoch {epoch + 1}/{len(epochs)}")
        yield epoch
