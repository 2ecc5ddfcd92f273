import datetime
import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import GridSearchCV, KFold, TimeSeriesSplit
from sklearn.pipeline import make_pipeline

from skxfer.timeseries import LagFeatures, make_lag_table

pd = pytest.importorskip("pandas")


def _panel(seed=0, lengths=(9, 7, 5)):
    """A long table of several series, rows shuffled, with a time column out of order."""
    rng = np.random.default_rng(seed)
    parts = [
        pd.DataFrame(
            {
                "city": name,
                "month": np.arange(n) + 100 * i,
                "sales": rng.normal(size=n).round(3) + 10 * i,
                "price": rng.normal(size=n),
            }
        )
        for i, (name, n) in enumerate(zip("abc", lengths))
    ]
    frame = pd.concat(parts, ignore_index=True)
    return frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def _history(frame, row, col, group="city", time="month"):
    """Values of ``col`` in the series of ``row``, strictly before its time, oldest first."""
    same = frame[(frame[group] == frame.loc[row, group]) & (frame[time] < frame.loc[row, time])]
    return same.sort_values(time)[col].to_numpy()


def _by_hand(past, k=None, width=None, horizon=1, stat=None):
    """Lag ``k`` or window statistic from the past values (a plain loop, no vectorising)."""
    if k is not None:
        return past[-k] if len(past) >= k else np.nan
    usable = past[: len(past) - (horizon - 1)] if horizon > 1 else past
    if len(usable) < width:
        return np.nan
    window = list(usable[-width:])
    if stat == "mean":
        return sum(window) / width
    if stat == "sum":
        return sum(window)
    if stat == "min":
        return min(window)
    if stat == "max":
        return max(window)
    if stat == "median":
        return (
            sorted(window)[width // 2]
            if width % 2
            else np.mean(sorted(window)[width // 2 - 1 : width // 2 + 1])
        )
    mean = sum(window) / width
    return (sum((v - mean) ** 2 for v in window) / (width - 1)) ** 0.5


@pytest.mark.parametrize("horizon", [1, 2])
def test_values_equal_a_hand_computation(horizon):
    frame = _panel()
    stats = ("mean", "std", "min", "max", "median", "sum")
    lagger = LagFeatures(
        lags=(horizon, 3),
        windows=(2, 3),
        window_stats=stats,
        horizon=horizon,
        group="city",
        time="month",
        columns="sales",
    )
    out = lagger.fit_transform(frame)
    names = list(lagger.get_feature_names_out())
    assert names[:2] == [f"sales_lag{horizon}", "sales_lag3"]
    assert names[2:] == [f"sales_roll{w}_{s}" for w in (2, 3) for s in stats]
    for row in range(len(frame)):
        past = _history(frame, row, "sales")
        expected = [_by_hand(past, k=k) for k in (horizon, 3)]
        expected += [
            _by_hand(past, width=w, horizon=horizon, stat=s) for w in (2, 3) for s in stats
        ]
        np.testing.assert_allclose(out[row], expected, rtol=1e-12, err_msg=f"row {row}")


def test_changing_a_future_value_changes_no_earlier_row():
    frame = _panel(seed=1)
    lagger = LagFeatures(
        lags=(2, 3),
        windows=(2, 4),
        window_stats=("mean", "max"),
        horizon=2,
        group="city",
        time="month",
        columns=["sales", "price"],
    )
    before = lagger.fit_transform(frame)
    for row in range(len(frame)):
        changed = frame.copy()
        changed.loc[row, ["sales", "price"]] += 1000.0
        after = lagger.transform(changed)
        same_city = frame["city"] == frame.loc[row, "city"]
        # rows less than `horizon` steps after the changed one cannot see it
        blind = ~same_city | (frame["month"] < frame.loc[row, "month"] + 2)
        np.testing.assert_array_equal(after[blind], before[blind])
        # and some later row of the series does see it (the features are not constant)
        if (same_city & ~blind).any():
            assert not np.array_equal(after[~blind], before[~blind], equal_nan=True)


def test_series_never_mix():
    frame = _panel(seed=2)
    lagger = LagFeatures(lags=(1, 2), windows=(3,), group="city", time="month", columns="sales")
    out = lagger.fit_transform(frame)
    # the first row of every series has no history, whatever the other series hold
    first = frame.groupby("city")["month"].transform("min") == frame["month"]
    assert np.isnan(out[first]).all()
    # each series alone gives the same features as all of them together
    for city in "abc":
        rows = (frame["city"] == city).to_numpy()
        alone = clone(lagger).fit_transform(frame[rows])
        np.testing.assert_array_equal(alone, out[rows])
    # rewriting another series changes nothing in this one
    other = frame.copy()
    other.loc[other["city"] != "a", "sales"] *= -3.0
    rows = (frame["city"] == "a").to_numpy()
    np.testing.assert_array_equal(lagger.transform(other)[rows], out[rows])


def test_row_order_of_the_input_does_not_matter_with_a_time_column():
    frame = _panel(seed=3)
    lagger = LagFeatures(lags=(1,), windows=(2,), group="city", time="month", columns="sales")
    out = lagger.fit_transform(frame)
    order = np.argsort(frame["city"].to_numpy() + frame["month"].astype(str).str.zfill(4))
    sorted_out = clone(lagger).fit_transform(frame.iloc[order])
    np.testing.assert_array_equal(sorted_out, out[order])


def test_numpy_input_uses_positions_and_row_order():
    X = np.array([[0, 1.0], [0, 2.0], [1, 5.0], [0, 4.0], [1, 7.0]])
    out = LagFeatures(lags=(1,), windows=(2,), window_stats="sum", group=0).fit_transform(X)
    expected = [[np.nan, np.nan], [1.0, np.nan], [np.nan, np.nan], [2.0, 3.0], [5.0, np.nan]]
    np.testing.assert_array_equal(out, expected)
    # without a group column every column is one series in row order
    out = LagFeatures(lags=(1, 2)).fit_transform(X[:, 1:])
    np.testing.assert_array_equal(out[:, 1], [np.nan, np.nan, 1.0, 2.0, 5.0])


def test_int_lags_mean_one_to_k_from_the_horizon():
    lagger = LagFeatures(lags=4, horizon=2).fit(np.zeros((3, 1)))
    assert lagger.lags_ == (2, 3, 4)


def test_min_periods_skips_missing_values_inside_a_window():
    X = np.array([[1.0], [np.nan], [3.0], [5.0]])
    full = LagFeatures(lags=(), windows=(3,)).fit_transform(X)
    assert np.isnan(full).all()  # no window of 3 past values without a NaN
    part = LagFeatures(lags=(), windows=(3,), min_periods=2).fit_transform(X)
    np.testing.assert_array_equal(part[:, 0], [np.nan, np.nan, np.nan, 2.0])


def test_pandas_output_keeps_the_index_and_names():
    frame = _panel(seed=4).set_index(pd.RangeIndex(100, 121))
    lagger = LagFeatures(lags=(1,), windows=(2,), group="city", time="month")
    lagger.set_output(transform="pandas")
    out = lagger.fit_transform(frame)
    assert list(out.columns) == ["sales_lag1", "price_lag1", "sales_roll2_mean", "price_roll2_mean"]
    assert out.index.equals(frame.index)
    assert list(lagger.feature_names_in_) == ["city", "month", "sales", "price"]


def test_make_lag_table_drops_short_histories_and_returns_groups():
    frame = _panel(seed=5).sort_values(["city", "month"]).reset_index(drop=True)
    frame["moy"] = frame["month"] % 12
    X, y, groups = make_lag_table(
        frame,
        target="sales",
        group="city",
        time="month",
        lags=(1, 2),
        windows=(3,),
        features=["moy"],
    )
    assert list(X.columns) == ["sales_lag1", "sales_lag2", "sales_roll3_mean", "moy"]
    # rows with fewer than 3 past values are gone, in every series
    assert len(X) == sum(n - 3 for n in (9, 7, 5))
    assert not X.isna().any().any()
    np.testing.assert_array_equal(y, frame.loc[X.index, "sales"])
    np.testing.assert_array_equal(groups, frame.loc[X.index, "city"])
    np.testing.assert_array_equal(X["sales_lag1"], frame.groupby("city")["sales"].shift(1)[X.index])

    X_all, y_all, _ = make_lag_table(frame, target="sales", group="city", lags=(1,), dropna=None)
    assert len(X_all) == len(frame)
    assert X_all["sales_lag1"].isna().sum() == 3


def test_make_lag_table_on_arrays():
    data = np.column_stack([np.repeat([0, 1], 4), np.arange(8.0)])
    X, y, groups = make_lag_table(data, target=1, group=0, lags=(1,), dropna="target")
    assert isinstance(X, np.ndarray)
    np.testing.assert_array_equal(X[:, 0], [np.nan, 0, 1, 2, np.nan, 4, 5, 6])
    np.testing.assert_array_equal(y, np.arange(8.0))
    np.testing.assert_array_equal(groups, np.repeat([0.0, 1.0], 4))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lags": (1, 2), "horizon": 2}, "lag 1 < horizon=2"),
        ({"lags": (0,)}, "lags=.* must hold ints >= 1"),
        ({"lags": (1.5,)}, "must be an int or a sequence of ints"),
        ({"lags": (1, 1)}, "repeats"),
        ({"lags": (), "windows": ()}, "both empty"),
        ({"windows": (2,), "window_stats": ("mode",)}, "'mode'; choose among"),
        ({"windows": (2,), "window_stats": ()}, "window_stats is empty"),
        ({"group": "town"}, "group='town' is not a column of X"),
        ({"group": "city", "time": "city"}, "same column"),
        ({"group": "city", "columns": ["city"]}, "not its keys"),
    ],
)
def test_bad_parameters_name_the_fix(params, message):
    frame = _panel()
    with pytest.raises(ValueError, match=message):
        LagFeatures(**params).fit(
            frame[["city", "month", "sales"]] if "group" in params else frame[["sales"]]
        )


def test_bad_inputs_are_refused():
    frame = _panel()
    with pytest.raises(ValueError, match="repeats a time within a series"):
        LagFeatures(time="month").fit_transform(frame[["month", "sales"]].assign(month=1))
    with pytest.raises(ValueError, match="has NaN"):
        LagFeatures(group="city").fit_transform(frame.assign(city=np.nan)[["city", "sales"]])
    with pytest.raises(ValueError, match="could not convert|value columns"):
        LagFeatures(group="month").fit_transform(frame[["month", "city"]])
    with pytest.raises(ValueError, match="column position in 0..1"):
        LagFeatures(group=5).fit(np.zeros((3, 2)))
    fitted = LagFeatures(group="city", time="month").fit(frame)
    with pytest.raises(ValueError, match="feature names"):
        fitted.transform(frame.rename(columns={"month": "date"}))
    with pytest.raises(ValueError, match="dropna='all' is not supported"):
        make_lag_table(frame, target="sales", dropna="all")
    with pytest.raises(ValueError, match="target='volume' is not a column"):
        make_lag_table(frame, target="volume")


def test_make_lag_table_ignores_a_global_pandas_output():
    import sklearn

    frame = _panel(seed=6).set_index(pd.Index(np.arange(21) * 7 + 3))
    expected = make_lag_table(frame, target="sales", group="city", time="month", lags=(1,))
    with sklearn.config_context(transform_output="pandas"):
        got = make_lag_table(frame, target="sales", group="city", time="month", lags=(1,))
    pd.testing.assert_frame_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


# ----------------------------------------------------------------------------------------------
# time steps, and the history kept by fit: lags under cross-validation


class Recorder(RegressorMixin, BaseEstimator):
    """A regressor that records the features it is fitted on and asked to predict."""

    calls = []

    def __init__(self, shrink=0.0):
        self.shrink = shrink

    def fit(self, X, y):
        Recorder.calls.append(("fit", X.copy()))
        self.mean_ = float(np.mean(y)) * (1.0 - self.shrink)
        return self

    def predict(self, X):
        Recorder.calls.append(("predict", X.copy()))
        return np.full(len(X), self.mean_)


def _monthly_panel():
    """Three cities, one of them starting later, in time order (as TimeSeriesSplit needs)."""
    rng = np.random.default_rng(7)
    parts = [
        pd.DataFrame(
            {"city": name, "month": np.arange(start, 60), "sales": rng.normal(size=60 - start)}
        )
        for name, start in (("a", 0), ("b", 0), ("c", 20))
    ]
    return pd.concat(parts).sort_values(["month", "city"]).reset_index(drop=True)


@pytest.mark.parametrize(
    "cv", [KFold(5, shuffle=True, random_state=0), TimeSeriesSplit(4)], ids=["kfold", "ts"]
)
def test_a_pipeline_under_cross_validation_gets_the_lags_of_the_whole_series(cv):
    frame = _monthly_panel()
    lagger = LagFeatures(lags=(1, 3), group="city", time="month", columns="sales")
    pipe = make_pipeline(lagger, Recorder()).set_output(transform="pandas")
    grid = {"lagfeatures__windows": [(2,), (4,)], "recorder__shrink": [0.0, 0.5]}
    Recorder.calls.clear()
    GridSearchCV(pipe, grid, cv=cv, error_score="raise").fit(frame, frame["sales"])

    def table(data, windows):
        X, _, _ = make_lag_table(
            data,
            target="sales",
            group="city",
            time="month",
            lags=(1, 3),
            windows=windows,
            dropna=None,
        )
        return X

    full = {w: table(frame, (w,)) for w in (2, 4)}
    predicted = []
    for kind, X in Recorder.calls:
        width = 4 if "sales_roll4_mean" in X.columns else 2
        if kind == "predict":
            # a held-out row: exactly the features the whole series gives it
            pd.testing.assert_frame_equal(X, full[width].loc[X.index])
            predicted.extend(X.index)
            continue
        # a training row: the same, with NaN for each step the split held out
        seen = frame.assign(sales=frame["sales"].where(frame.index.isin(X.index)))
        pd.testing.assert_frame_equal(X, table(seen, (width,)).loc[X.index])
        if isinstance(cv, TimeSeriesSplit):  # a time-ordered prefix holds every earlier step
            pd.testing.assert_frame_equal(X, full[width].loc[X.index])
    if isinstance(cv, KFold):
        # every row was held out once per candidate (4), each time with the right features
        assert pd.Series(predicted).value_counts().eq(4).all()
        assert len(set(predicted)) == len(frame)


def test_steps_counted_in_rows_refuse_a_row_inside_the_fitted_series():
    frame = _monthly_panel()
    lagger = LagFeatures(lags=(1,), group="city", time="month", columns="sales", time_step="rows")
    pipe = make_pipeline(lagger, Recorder())
    search = GridSearchCV(pipe, {"recorder__shrink": [0.0]}, error_score="raise")
    with pytest.raises(ValueError, match="falls between times of its series seen in fit"):
        search.set_params(cv=KFold(3, shuffle=True, random_state=0)).fit(frame, frame["sales"])
    # a time-ordered split never puts a row inside the fitted part of a series
    search.set_params(cv=TimeSeriesSplit(3)).fit(frame, frame["sales"])


def test_a_missing_time_step_is_a_missing_value_unless_steps_are_rows():
    frame = pd.DataFrame({"month": [0, 1, 3, 4, 5], "sales": [1.0, 2.0, 4.0, 5.0, 6.0]})
    lagger = LagFeatures(lags=(1, 2), windows=(2,), time="month")
    out = lagger.fit_transform(frame)
    assert lagger.time_step_ == 1
    # month 2 has no row: lag 1 of month 3, lag 2 of month 4 and windows over it are NaN
    np.testing.assert_array_equal(out[:, 0], [np.nan, 1.0, np.nan, 4.0, 5.0])
    np.testing.assert_array_equal(out[:, 1], [np.nan, np.nan, 2.0, np.nan, 4.0])
    np.testing.assert_array_equal(out[:, 2], [np.nan, np.nan, np.nan, np.nan, 4.5])
    rows = LagFeatures(lags=(1,), time="month", time_step="rows").fit_transform(frame)
    np.testing.assert_array_equal(rows[:, 0], [np.nan, 1.0, 2.0, 4.0, 5.0])


def _steps_of(times, groups=None):
    frame = pd.DataFrame({"t": times, "v": np.arange(len(times), dtype=float)})
    if groups is not None:
        frame["g"] = groups
    lagger = LagFeatures(time="t", group=None if groups is None else "g", columns="v")
    return lagger.fit(frame).time_step_


def test_auto_time_step_finds_the_grid_of_numbers_and_dates():
    assert _steps_of(np.arange(10)) == 1
    assert _steps_of(np.arange(0, 30, 3)) == 3
    assert _steps_of(np.arange(0, 30, 3) + 1) == 3  # wherever the grid starts
    assert _steps_of([0, 1, 2, 4, 5, 7, 8, 9]) == 1  # some steps missing
    assert _steps_of(2000 + np.arange(36) / 12) == pytest.approx(1 / 12)
    assert _steps_of([0, 2, 1, 3], groups=["x", "x", "y", "y"]) == 2  # two series, two phases
    # year * 100 + month: 12 of every 100 numbers used, no grid of step 1
    assert _steps_of([y * 100 + m for y in (2019, 2020) for m in range(1, 13)]) == "rows"
    assert _steps_of([0.0, 1.0, 2.5, 7.0]) == "rows"
    assert _steps_of(["a", "b", "c"]) == "rows"
    months = np.timedelta64(1, "M")
    assert _steps_of(pd.date_range("2020-01-01", periods=30, freq="MS")) == months
    assert _steps_of(pd.date_range("2020-01-01", periods=30, freq="ME")) == months
    assert _steps_of(pd.date_range("2020-01-01", periods=8, freq="QS")) == 3 * months
    assert _steps_of(pd.date_range("2020-01-01", periods=5, freq="YS")) == np.timedelta64(1, "Y")
    assert _steps_of(pd.date_range("2020-01-01", periods=30, freq="D")) == np.timedelta64(1, "D")
    assert _steps_of(pd.date_range("2020-01-01", periods=30, freq="h")) == np.timedelta64(1, "h")
    assert _steps_of(pd.bdate_range("2020-01-01", periods=30)) == "1 business day"


def test_calendar_steps_reach_over_weekends_and_month_ends():
    days = pd.bdate_range("2024-01-01", periods=10)  # Monday to Friday, twice
    out = LagFeatures(time="t").fit_transform(pd.DataFrame({"t": days, "v": np.arange(10.0)}))
    np.testing.assert_array_equal(out[:, 0], [np.nan, *range(9)])  # Monday's lag is Friday
    ends = pd.date_range("2024-01-31", periods=4, freq="ME")  # 31, 29, 31, 30 days
    out = LagFeatures(time="t").fit_transform(pd.DataFrame({"t": ends, "v": np.arange(4.0)}))
    np.testing.assert_array_equal(out[:, 0], [np.nan, 0.0, 1.0, 2.0])


def test_an_explicit_time_step_sets_the_grid():
    frame = pd.DataFrame({"t": [0, 2, 4, 6], "v": [1.0, 2.0, 3.0, 4.0]})
    out = LagFeatures(time="t", time_step=1).fit_transform(frame)
    assert np.isnan(out).all()  # every odd step is missing
    out = LagFeatures(time="t", time_step=2.0).fit_transform(frame)
    np.testing.assert_array_equal(out[:, 0], [np.nan, 1.0, 2.0, 3.0])
    dates = pd.DataFrame({"t": pd.date_range("2024-01-01", periods=4, freq="7D"), "v": frame["v"]})
    lagger = LagFeatures(time="t", time_step=np.timedelta64(7, "D"))
    np.testing.assert_array_equal(lagger.fit_transform(dates)[:, 0], [np.nan, 1.0, 2.0, 3.0])
    assert lagger.time_step_ == np.timedelta64(7, "D")
    lagger = LagFeatures(time="t", time_step=datetime.timedelta(days=14))  # two rows back
    np.testing.assert_array_equal(lagger.fit_transform(dates)[:, 0], [np.nan, np.nan, 1.0, 2.0])


def test_transform_joins_its_rows_with_the_fitted_series_by_time():
    frame = pd.DataFrame({"g": ["a"] * 6 + ["b"] * 3, "t": [*range(6), *range(3)]})
    frame["v"] = np.arange(9.0) * 10
    lagger = LagFeatures(lags=(1,), group="g", time="t").fit(frame)
    # rows given again with new values replace the fitted ones; the rest come from fit
    later = frame.iloc[[3, 2, 7]].assign(v=[-1.0, -2.0, -3.0])
    np.testing.assert_array_equal(lagger.transform(later)[:, 0], [-2.0, 10.0, 60.0])
    # a new step after the end, and a new series, are fine too
    new = pd.DataFrame({"g": ["a", "c"], "t": [6, 0], "v": [1.0, 2.0]})
    np.testing.assert_array_equal(lagger.transform(new)[:, 0], [50.0, np.nan])
    # the history survives pickling
    again = pickle.loads(pickle.dumps(lagger))
    np.testing.assert_array_equal(again.transform(later), lagger.transform(later))
    assert again.time_step_ == 1


@pytest.mark.parametrize(
    ("params", "data", "message"),
    [
        ({"time_step": 2}, {"v": [1.0, 2.0]}, "time_step=2 needs a time column"),
        (
            {"time": "t", "time_step": 2},
            {"t": pd.date_range("2024-01-01", periods=2), "v": [1.0, 2.0]},
            "is a number, but time column 't' holds dates",
        ),
        (
            {"time": "t", "time_step": np.timedelta64(1, "D")},
            {"t": [0, 1], "v": [1.0, 2.0]},
            "is a duration, but time column 't' holds numbers",
        ),
        (
            {"time": "t", "time_step": np.timedelta64(1, "M")},
            {"t": pd.to_datetime(["2024-01-15", "2024-02-15"]), "v": [1.0, 2.0]},
            "dates that are not whole months",
        ),
        ({"time": "t", "time_step": 0.5}, {"t": [0.0, 0.7], "v": [1.0, 2.0]}, "off the grid"),
    ],
)
def test_bad_time_steps_name_the_fix(params, data, message):
    with pytest.raises(ValueError, match=message):
        LagFeatures(**params).fit(pd.DataFrame(data))


def test_a_time_off_the_fitted_grid_is_refused_in_transform():
    frame = pd.DataFrame({"t": [0.0, 0.5, 1.0], "v": [1.0, 2.0, 3.0]})
    lagger = LagFeatures(time="t").fit(frame)
    assert lagger.time_step_ == 0.5
    with pytest.raises(ValueError, match="has 1.2, off the grid of step 0.5"):
        lagger.transform(pd.DataFrame({"t": [1.2], "v": [4.0]}))
    with pytest.raises(ValueError, match="repeats a time within a series"):
        lagger.transform(pd.DataFrame({"t": [1.5, 1.5], "v": [4.0, 5.0]}))
    with pytest.raises(ValueError, match="repeats a time within a series"):
        LagFeatures(time="t").fit(frame.assign(t=0.0))
