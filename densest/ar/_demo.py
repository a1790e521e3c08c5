"""The AR section of ``densest demo``."""

import time
import warnings

import numpy as np

from densest.ar import LeastSquaresAR, SparseAR
from densest.datasets import make_ar_process

TRUE_COEF = [0.2, 0.3, -0.5]  # the AR-Net paper's sparse setting


def _autoreg_params(y, order):
    try:
        from statsmodels.tsa.ar_model import AutoReg
    except ImportError:
        return None, float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        params = AutoReg(y, lags=order, trend="c").fit().params
    return params, time.perf_counter() - start


def run_demo(out_dir=None, random_state=0, quick=False):
    """Fit LeastSquaresAR against statsmodels AutoReg, select an order or lags, handle gaps, forecast.

    Lags are also selected by SparseAR and, when torch is installed, ARNet.

    Parameters
    ----------
    out_dir : pathlib.Path or None
        Unused (no figures yet).
    random_state : int
        Seed.
    quick : bool
        Smaller data and shorter training (a fast check that the section runs).

    Returns
    -------
    result : dict
        ``tables``: list of (title, columns, rows); ``figures``: empty.
    """
    n, orders, max_lag = (10_000, (10, 100), 30) if quick else (100_000, (10, 100, 1000), 100)
    y = make_ar_process(TRUE_COEF, n, intercept=1.0, random_state=random_state)
    LeastSquaresAR(2).fit(y[:1000])  # compile the kernels outside the timings
    rows = []
    for order in orders:
        start = time.perf_counter()
        model = LeastSquaresAR(order).fit(y)
        ours = time.perf_counter() - start
        params, theirs = _autoreg_params(y, order) if order <= 100 else (None, float("nan"))
        diff = np.nan if params is None else np.abs(params - np.r_[model.intercept_, model.coef_]).max()
        rows.append((order, ours, theirs, theirs / ours, diff))
    speed = (
        f"exact least squares without a lag matrix, N = {n:,}".replace(",", " ")
        + (" (AutoReg not run at p = 1000: ~4 GB)" if 1000 in orders else ""),
        ("order p", "densest (s)", "AutoReg (s)", "speed-up", "max |coef diff|"),
        rows,
    )
    gappy = y.copy()
    rng = np.random.default_rng(random_state)
    gappy[rng.choice(gappy.size, gappy.size // 20, replace=False)] = np.nan
    sel_rows = []
    for name, series in (("complete", y), ("5 % missing", gappy)):
        model = LeastSquaresAR("bic", max_order=30).fit(series)
        sel_rows.append((name, model.order_, np.round(model.coef_, 3).tolist(), model.n_obs_))
    sparse = SparseAR(order=max_lag).fit(y)
    sel_rows.append((f"complete, SparseAR(order={max_lag})", f"lags {sparse.support_.tolist()}",
                     np.round(sparse.coef_[sparse.support_ - 1], 3).tolist(), sparse.n_obs_))  # fmt: skip
    try:
        from densest.ar import ARNet

        net = ARNet(order=max_lag, sparsity=0.03, device="auto", random_state=random_state).fit(y)
        kept = np.flatnonzero(np.abs(net.coef_) > 0.01) + 1
        sel_rows.append((f"complete, ARNet(order={max_lag}, sparsity=0.03), {net.device_}", f"lags {kept.tolist()}",
                         np.round(net.coef_[kept - 1], 3).tolist(), net.n_obs_))  # fmt: skip
    except ImportError:  # torch not installed
        pass
    selection = (
        f"order by BIC among 0..30, and lags by the adaptive lasso (BIC) among 1..{max_lag} "
        f"(true AR(3) {TRUE_COEF}); windows with a gap are dropped; ARNet: lags with |coef| > 0.01",
        ("series", "order", "coefficients", "windows used"),
        sel_rows,
    )
    mean, lower, upper = LeastSquaresAR(3).fit(y).forecast_interval(6, coverage=0.9)
    forecast = (
        "recursive forecasts after the series with 90 % intervals (mean 1 / (1 - sum phi) = "
        f"{1.0 / (1.0 - sum(TRUE_COEF)):.3f})",
        ("step", "forecast", "lower", "upper"),
        list(zip(range(1, 7), mean, lower, upper)),
    )
    return {"tables": [speed, selection, forecast], "figures": []}
