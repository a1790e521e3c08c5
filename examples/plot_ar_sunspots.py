"""
Sunspots: order selection, forecasts and prediction intervals
=============================================================

The yearly sunspot numbers 1700-2008 (bundled with statsmodels) are the
classic autoregression example. We select the order by AIC and BIC from one
factorisation (:class:`densest.ar.LeastSquaresAR`), check the choice against
statsmodels' ``ar_select_order``, hold out the last 30 years, and forecast them
with 90 % Gaussian prediction intervals. A gradient-boosted
:class:`densest.ar.LagRegressor` on the same lags gives a non-linear
comparison.
"""

import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from sklearn.ensemble import HistGradientBoostingRegressor
from statsmodels.tsa.ar_model import ar_select_order

from densest.ar import LagRegressor, LeastSquaresAR

data = sm.datasets.sunspots.load_pandas().data
years, y = data["YEAR"].to_numpy(), data["SUNACTIVITY"].to_numpy()
train, test = y[:-30], y[-30:]

# %%
# Order selection: every order 0..20 from one bordered Cholesky, on the
# common sample (the first 20 values held back), then a refit of the choice.
for criterion in ("aic", "bic"):
    model = LeastSquaresAR(order=criterion, max_order=20).fit(train)
    reference = ar_select_order(train, maxlag=20, ic=criterion, trend="c")
    print(f"{criterion}: order {model.order_} (statsmodels: {max(reference.ar_lags or [0])})")

# %%
# Forecast the held-out 30 years from the end of the training data.
model = LeastSquaresAR(order="aic", max_order=20).fit(train)
mean, lower, upper = model.forecast_interval(30, coverage=0.9)
boosted = LagRegressor(HistGradientBoostingRegressor(max_iter=200, random_state=0),
                       order=model.order_).fit(train)  # fmt: skip
nonlinear = boosted.forecast(30)
for name, forecast in (("AR(%d)" % model.order_, mean), ("boosted trees", nonlinear)):
    print(f"{name}: RMSE over the 30 held-out years {np.sqrt(np.mean((forecast - test) ** 2)):.1f}")
print(f"held-out years inside the 90 % interval: {np.mean((test >= lower) & (test <= upper)):.0%}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.5))
ax.plot(years, y, color="0.3", lw=1, label="sunspot number")
future = years[-30:]
ax.plot(future, mean, color="C0", label=f"AR({model.order_}) forecast")
ax.fill_between(future, lower, upper, color="C0", alpha=0.2, label="90 % interval")
ax.plot(future, nonlinear, color="C1", ls="--", label="boosted-tree forecast")
ax.axvline(years[-31], color="0.6", lw=0.8)
ax.set_xlabel("year")
ax.legend(loc="upper left", fontsize=8)
fig.tight_layout()
plt.show()
