"""Lag and rolling-window features of many series, for forecasting with tabular learners."""

import datetime
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skxfer.timeseries._time_steps import fit_time_steps
from skxfer.utils._docstrings import fill_doc

WINDOW_STATS = ("mean", "std", "min", "max", "median", "sum")

# Rows gathered per block by the rolling windows: bounds the (rows x window) scratch array.
_BLOCK_ROWS = 65536


# Parameters that LagFeatures and make_lag_table share, filled into both docstrings.
_WINDOW_PARAMETERS = """\
lags : int or sequence of int, default=(1,)
    Lags, in steps; every lag is ``>= horizon``. An int ``k`` means lags ``1..k`` (for
    ``horizon=1``; ``horizon..k`` otherwise). An empty sequence means no lag features.
windows : int or sequence of int, default=()
    Widths, in steps, of the rolling windows (each ``>= 1``).
window_stats : str or sequence of str, default=("mean",)
    Statistics of each window, among ``"mean"``, ``"std"`` (``ddof=1``), ``"min"``,
    ``"max"``, ``"median"`` and ``"sum"``.
horizon : int, default=1
    Steps between the newest value a feature may use and the row: 1 for one-step-ahead
    forecasts, ``h`` to forecast ``h`` steps ahead.
min_periods : int, default=None
    Fewest non-missing values a window needs to give a statistic (NaN otherwise); None
    means the full width of the window, as pandas' ``rolling`` does."""

_TIME_STEP = """\
time_step : "auto", "rows", float or timedelta, default="auto"
    What one step back means (used only with ``time``). "auto": the grid of the times
    seen in ``fit`` when they lie on one (the smallest gap between two times of a series
    divides every gap, and the rows fill at least half of the grid), else rows. "rows": a
    step is a row. A number (for numeric times) or a duration such as
    ``numpy.timedelta64(1, "M")`` (for dates): that grid step."""

_shared_docs = fill_doc({"window_parameters": _WINDOW_PARAMETERS, "time_step": _TIME_STEP})


@_shared_docs
class LagFeatures(TransformerMixin, BaseEstimator):
    """Lagged values and rolling-window statistics of each series, from past values only.

    Turns a long table of series (one row per series and time step) into features that a
    tabular learner (gradient boosting, ridge) can forecast from. For the row of series ``g``
    at time step ``t``, with ``h = horizon``:

    - ``{col}_lag{k}`` is the value of ``col`` at step ``t - k`` of the same series (``k``
      must be ``>= h``, so that no feature uses a value less than ``h`` steps old);
    - ``{col}_roll{w}_{stat}`` is the statistic of the ``w`` values of ``col`` at steps
      ``t - h - w + 1, ..., t - h``: a window that ends ``h`` steps before the row, so it
      never sees the row's own value nor any later one.

    Rows of different series never mix: the first rows of every series get NaN where their
    history is shorter than the lag or window (a missing value inside a window counts as
    absent, see ``min_periods``). The output has one row per input row, in the input order,
    so it lines up with ``y``; drop the rows with NaN or keep them for a learner that takes
    missing values (XGBoost does). :func:`make_lag_table` does the usual
    features-and-target table in one call.

    **Steps.** With a ``time`` column on a regular grid (whole numbers, numbers a fixed step
    apart, dates a whole number of years, months, business days, days, hours ... apart), a
    step is one step of that grid, found in ``fit`` (``time_step_``; or pass ``time_step``):
    ``{col}_lag1`` of the row at time ``t`` is the value at ``t - step``, and a time with no
    row is a missing value, as if a row of NaN were there. Without ``time``, or with times on
    no grid (or ``time_step="rows"``), a step is a row: within a series, rows are ordered by
    ``time`` (or kept in their order when ``time`` is None) and ``lag1`` is the previous row,
    whatever the time gap.

    **History, and cross-validation.** With a ``time`` column, ``fit`` keeps the series it
    is given (their values, by series and time), and ``transform`` computes the features of
    its rows from that history together with the rows themselves, matched by series and
    time (a row of ``X`` replaces a kept row of the same series and time). So in a
    ``Pipeline`` under cross-validation the held-out rows get exactly the features the
    whole series gives them, whatever the split; a training row whose earlier steps are
    held out (a shuffled ``KFold``) gets NaN for them, never the value of another step.
    With ``time_step="rows"`` a held-out row cannot be told from a time gap, so a row of
    ``transform`` that falls inside a series seen in ``fit`` without being part of it is an
    error (a split in time order, as ``TimeSeriesSplit`` makes, is fine). Without ``time``
    rows have no key: each ``transform`` call must hold whole series, from their first row,
    so pass ``time`` whenever the transformer runs inside cross-validation.

    Parameters
    ----------
    %(window_parameters)s
    group : str or int, default=None
        Column that names the series of each row: a column label of a DataFrame, or a
        column position of an array. None: all rows are one series.
    time : str or int, default=None
        Column that orders the rows of a series (any sortable values: dates, numbers) and,
        with ``group``, names each row, so that ``transform`` can join its rows with the
        series kept by ``fit``. None: the rows of each series are in time order already. A
        repeated time within a series is an error.
    columns : str, int or sequence, default=None
        The value columns to lag (labels or positions, as ``group``). None means every column
        but ``group`` and ``time``.
    %(time_step)s

    Attributes
    ----------
    lags_ : tuple of int
        The lags used.
    windows_ : tuple of int
        The window widths used.
    window_stats_ : tuple of str
        The window statistics used.
    value_columns_ : ndarray of int
        Positions, among the columns of ``X``, of the columns that are lagged.
    time_step_ : None, "rows", number, numpy.timedelta64 or str
        The step used: None without ``time``; "rows"; the grid step of numeric times; a
        ``numpy.timedelta64`` for dates (``numpy.timedelta64(1, "M")`` for monthly dates);
        ``"k business days"`` for dates that are all weekdays.
    n_features_in_ : int
        Number of columns seen in ``fit`` (``group`` and ``time`` included).
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names seen in ``fit``, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    make_lag_table : Features and target of a forecasting table in one call.
    skxfer.warm_start.XGBTransferRegressor : Warm-starts a booster fitted on source series.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skxfer.timeseries import LagFeatures
    >>> X = np.array([[0, 1.0], [0, 2.0], [0, 3.0], [1, 10.0], [1, 20.0]])
    >>> lagger = LagFeatures(lags=(1, 2), windows=(2,), group=0).fit(X)
    >>> lagger.get_feature_names_out()
    array(['x1_lag1', 'x1_lag2', 'x1_roll2_mean'], dtype=object)
    >>> lagger.transform(X)
    array([[ nan,  nan,  nan],
           [ 1. ,  nan,  nan],
           [ 2. ,  1. ,  1.5],
           [ nan,  nan,  nan],
           [10. ,  nan,  nan]])

    With a time column, rows given to ``transform`` later (the held-out rows of a split)
    get their lags from the series kept by ``fit``; the fitted rows miss step 2:

    >>> frame = pd.DataFrame({"day": [0, 1, 2, 3], "sales": [5.0, 6.0, 7.0, 8.0]})
    >>> lagger = LagFeatures(lags=(1,), time="day").fit(frame.iloc[[0, 1, 3]])
    >>> lagger.time_step_
    1
    >>> lagger.transform(frame.iloc[[0, 1, 3]]).ravel()  # step 2 is missing
    array([nan,  5., nan])
    >>> lagger.transform(frame.iloc[[2]]).ravel()
    array([6.])
    """

    _parameter_constraints: dict = {
        "lags": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "windows": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "window_stats": [StrOptions(set(WINDOW_STATS)), "array-like"],
        "horizon": [Interval(Integral, 1, None, closed="left")],
        "min_periods": [Interval(Integral, 1, None, closed="left"), None],
        "group": [str, Integral, Hidden(object), None],
        "time": [str, Integral, Hidden(object), None],
        "columns": [str, Integral, "array-like", None],
        "time_step": [
            StrOptions({"auto", "rows"}),
            np.timedelta64,
            datetime.timedelta,
            Interval(Real, 0, None, closed="neither"),
        ],
    }

    def __init__(
        self,
        lags=(1,),
        windows=(),
        window_stats=("mean",),
        horizon=1,
        min_periods=None,
        group=None,
        time=None,
        columns=None,
        time_step="auto",
    ):
        self.lags = lags
        self.windows = windows
        self.window_stats = window_stats
        self.horizon = horizon
        self.min_periods = min_periods
        self.group = group
        self.time = time
        self.columns = columns
        self.time_step = time_step

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Find the group, time and value columns of ``X`` and keep its series.

        The parameters are checked, and with ``time`` the series are kept as the history
        that ``transform`` finds the past of later rows in.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The long table: one row per series and time step.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        self.lags_, self.windows_, self.window_stats_ = _check_windows(
            self.lags, self.windows, self.window_stats, self.horizon
        )
        values, groups, times = self._validate(X, reset=True)
        self.time_step_ = self._steps = self._history = None
        if times is None:
            if not (isinstance(self.time_step, str) and self.time_step == "auto"):
                raise ValueError(
                    f"time_step={self.time_step!r} needs a time column; pass time= (or "
                    "leave time_step='auto')."
                )
            return self
        codes = _group_codes(groups, len(values))
        _refuse_repeats(_series_keys(codes, _time_ranks(times, self.time)), self.time)
        self._steps = fit_time_steps(times, codes, self.time_step, self.time)
        self.time_step_ = self._steps.public
        units = None if self._steps.kind == "rows" else self._steps.encode(times, self.time)
        self._history = (groups, times, units, values)
        return self

    def transform(self, X):
        """Lag and window features of every row, from the past of its own series.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The long table, with the columns seen in ``fit``. With ``time``, the past of a
            row is found among these rows and the series kept by ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
            One row per row of ``X``, in the same order; NaN where the history is too short.
            Columns as :meth:`get_feature_names_out` names them.
        """
        check_is_fitted(self)
        values, groups, times = self._validate(X, reset=False)
        if times is None:
            codes = _group_codes(groups, len(values))
            order = np.argsort(codes, kind="stable")
            steps = np.empty(len(values), dtype=np.int64)
            steps[order] = _positions(codes[order])
            table = _Table(values, codes, steps, 1, np.arange(len(values)))
        else:
            table = self._with_history(values, groups, times)
        blocks = [table.lagged(k) for k in self.lags_]
        for w in self.windows_:
            need = w if self.min_periods is None else min(self.min_periods, w)
            blocks.extend(table.rolling(w, self.horizon, need, self.window_stats_))
        # one block per lag or window statistic, value column by value column inside
        return np.hstack(blocks)

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output columns.

        Parameters
        ----------
        input_features : array-like of str, default=None
            Names of the input columns; None uses ``feature_names_in_`` if set, else
            ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``{col}_lag{k}`` for each value column and lag, then ``{col}_roll{w}_{stat}`` for
            each window and statistic, value column by value column.
        """
        check_is_fitted(self)
        names = _input_names(self, input_features)
        value_names = [str(names[i]) for i in self.value_columns_]
        out = [f"{col}_lag{k}" for k in self.lags_ for col in value_names]
        out += [
            f"{col}_roll{w}_{stat}"
            for w in self.windows_
            for stat in self.window_stats_
            for col in value_names
        ]
        return np.asarray(out, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------------------------

    def _validate(self, X, *, reset):
        """``(values, groups, times)`` of ``X``: the value columns as float64, the group
        column (or None: one series) and the time column (or None)."""
        is_frame = hasattr(X, "columns") and hasattr(X, "iloc")
        if self.group is None and self.time is None and self.columns is None:
            values = validate_data(
                self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan"
            )
            if reset:
                self.value_columns_ = np.arange(values.shape[1])
            return values, None, None
        if not is_frame:
            X = _as_2d_array(X)
        validate_data(self, X, reset=reset, skip_check_array=True)
        if X.shape[0] < 1:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is "
                "required by LagFeatures."
            )
        labels = list(X.columns) if is_frame else list(range(X.shape[1]))
        group = _position(self.group, labels, "group", is_frame)
        time = _position(self.time, labels, "time", is_frame)
        if group is not None and group == time:
            raise ValueError(
                f"group={self.group!r} and time={self.time!r} are the same column; pass the "
                "column that names the series as group and the one that orders it as time."
            )
        if self.columns is None:
            value_columns = [i for i in range(len(labels)) if i not in (group, time)]
        else:
            cols = [self.columns] if isinstance(self.columns, (str, Integral)) else self.columns
            value_columns = [_position(c, labels, "columns", is_frame) for c in cols]
            clash = [labels[i] for i in value_columns if i in (group, time)]
            if clash:
                raise ValueError(
                    f"columns={self.columns!r} lists {clash[0]!r}, the group or time column; "
                    "the value columns are the series' values, not its keys."
                )
        if not value_columns:
            raise ValueError(
                "X has no value column to lag: every column is group or time. Pass X with "
                "the series' values too, or name them with columns=."
            )
        if reset:
            self.value_columns_ = np.asarray(value_columns, dtype=int)
        column = (lambda i: X.iloc[:, i]) if is_frame else (lambda i: X[:, i])
        values = check_array(
            X.iloc[:, self.value_columns_] if is_frame else X[:, self.value_columns_],
            dtype=np.float64,
            ensure_all_finite="allow-nan",
            input_name="the value columns of X",
        )
        groups = None if group is None else _group_values(column(group), self.group)
        times = None if time is None else _time_values(column(time), self.time)
        return values, groups, times

    def _with_history(self, values, groups, times):
        """The rows of ``X`` laid over the series kept by ``fit``, as a :class:`_Table`."""
        kept_groups, kept_times, kept_units, kept_values = self._history
        n_kept, n_new = len(kept_values), len(values)
        all_groups = None if groups is None else _concatenate(kept_groups, groups)
        codes = _group_codes(all_groups, n_kept + n_new)
        rows = self._steps.kind == "rows"
        if rows:  # only the order of the times is known
            units = _time_ranks(_concatenate(kept_times, times), self.time)
        else:
            units = np.concatenate([kept_units, self._steps.encode(times, self.time)])
        keys = _series_keys(codes, units)
        kept_keys, new_keys = keys[:n_kept], keys[n_kept:]
        _refuse_repeats(new_keys, self.time)
        if rows:
            known = np.isin(new_keys, kept_keys)
            _refuse_rows_inside(codes, units, n_kept, known, all_groups, times, self.time)
        # a row of X replaces the kept row of the same series and time
        keep = np.r_[~np.isin(kept_keys, new_keys), np.ones(n_new, dtype=bool)]
        values, codes, units = np.vstack([kept_values, values])[keep], codes[keep], units[keep]
        if rows:  # a step is a row: number the rows of each series in time order
            order = np.lexsort((units, codes))
            units = np.empty(len(units), dtype=np.int64)
            units[order] = _positions(codes[order])
        step = 1 if rows else self._steps.step
        return _Table(values, codes, units, step, np.arange(len(values) - n_new, len(values)))


class _Table:
    """Rows of one or more series sorted by series and time, and the rows to make features
    for (``query``, in the order of ``X``). ``units`` counts time in whole grid units (a
    step is ``step`` units) or in rows."""

    def __init__(self, values, codes, units, step, query):
        order = np.lexsort((units, codes))
        self.values = values[order]
        codes, units = codes[order], units[order]
        where = np.empty(len(order), dtype=np.intp)
        where[order] = np.arange(len(order))
        self.query_codes, self.query_units = codes[where[query]], units[where[query]]
        # (series, time) as one sorted int64 key: the time by its rank among the distinct ones
        self.distinct = np.unique(units)
        self.keys = codes * len(self.distinct) + np.searchsorted(self.distinct, units)
        self.step = step

    def locate(self, back, rows=slice(None)):
        """Position of the row ``back`` steps before each query row, or -1 where none is."""
        target = self.query_units[rows] - back * self.step
        rank = np.minimum(np.searchsorted(self.distinct, target), len(self.distinct) - 1)
        keys = self.query_codes[rows] * len(self.distinct) + rank
        position = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        found = (self.distinct[rank] == target) & (self.keys[position] == keys)
        return np.where(found, position, -1)

    def lagged(self, k):
        """The values ``k`` steps before each query row (NaN where there is no such row)."""
        position = self.locate(k)
        out = np.full((len(position), self.values.shape[1]), np.nan)
        out[position >= 0] = self.values[position[position >= 0]]
        return out

    def rolling(self, width, horizon, need, stats):
        """One array per statistic: the window of ``width`` steps ending ``horizon`` steps
        before each query row."""
        n, n_cols = len(self.query_units), self.values.shape[1]
        outs = {s: np.full((n, n_cols), np.nan) for s in stats}
        for start in range(0, n, _BLOCK_ROWS):
            rows = slice(start, min(start + _BLOCK_ROWS, n))
            back = np.stack([self.locate(horizon + j, rows) for j in range(width)], axis=1)
            inside = back >= 0
            gathered = np.where(inside[:, :, None], self.values[np.where(inside, back, 0)], np.nan)
            present = ~np.isnan(gathered)
            count = present.sum(axis=1)
            enough = count >= need
            for stat in stats:
                outs[stat][rows] = np.where(enough, _reduce(stat, gathered, present, count), np.nan)
        return [outs[s] for s in stats]


@_shared_docs
def make_lag_table(
    frame,
    *,
    target,
    group=None,
    time=None,
    lags=(1,),
    windows=(),
    window_stats=("mean",),
    horizon=1,
    min_periods=None,
    features=(),
    dropna="any",
    time_step="auto",
):
    """Make the features and target of a one-series-or-many forecasting table.

    Each row of the result pairs the value of ``target`` at one step of one series with
    features from the past of that series only (see :class:`LagFeatures`), plus any
    ``features`` columns of the same row (calendar columns such as the month, or covariates
    known when the forecast is made). The lags and windows are those of ``target``: with a
    ``time`` column on a regular grid a step is a grid step, and a time with no row is a
    missing value.

    Parameters
    ----------
    frame : DataFrame or array-like of shape (n_samples, n_columns)
        The long table: one row per series and time step.
    target : str or int
        The column to forecast (label of a DataFrame, position of an array).
    group : str or int, default=None
        Column that names the series; None: one series.
    time : str or int, default=None
        Column that orders each series; None: rows already in time order.
    %(window_parameters)s
    features : sequence of str or int, default=()
        Columns of ``frame`` passed through as features of the same row. They must be
        known when the forecast is made (the row's month, a planned price), or they leak.
    dropna : {"any", "target"} or None, default="any"
        ``"any"``: drop the rows whose target or any feature is NaN (too short a history);
        ``"target"``: drop only the rows without a target, keeping NaN features for a
        learner that takes them; None: keep every row.
    %(time_step)s

    Returns
    -------
    X : DataFrame or ndarray of shape (n_rows, n_features_out)
        Lag and window features, then ``features``; a DataFrame (with ``frame``'s index, so
        rows can be joined back) when ``frame`` is one, else an array of floats.
    y : ndarray of shape (n_rows,)
        The target of each row.
    groups : ndarray of shape (n_rows,) or None
        The ``group`` value of each row (None when ``group`` is None), e.g. for a
        :class:`~sklearn.model_selection.GroupKFold` or to pick the target series.

    See Also
    --------
    LagFeatures : The transformer behind this function.

    Examples
    --------
    >>> import pandas as pd
    >>> from skxfer.timeseries import make_lag_table
    >>> frame = pd.DataFrame({"city": ["a"] * 4 + ["b"] * 3,
    ...                       "sales": [1.0, 2.0, 3.0, 4.0, 10.0, 20.0, 30.0]})
    >>> X, y, groups = make_lag_table(frame, target="sales", group="city", lags=(1, 2))
    >>> X
       sales_lag1  sales_lag2
    2         2.0         1.0
    3         3.0         2.0
    6        20.0        10.0
    >>> y, groups
    (array([ 3.,  4., 30.]), array(['a', 'a', 'b'], dtype=object))
    """
    if dropna not in ("any", "target", None):
        raise ValueError(
            f"dropna={dropna!r} is not supported; pass 'any' (drop rows with any NaN), "
            "'target' (drop rows without a target) or None (keep every row)."
        )
    is_frame = hasattr(frame, "columns") and hasattr(frame, "iloc")
    if not is_frame:
        frame = _as_2d_array(frame)
    labels = list(frame.columns) if is_frame else list(range(frame.shape[1]))
    target_pos = _position(target, labels, "target", is_frame)
    if target_pos is None:
        raise ValueError("target=None: pass the column to forecast.")
    feature_pos = [_position(c, labels, "features", is_frame) for c in features]
    lagger = LagFeatures(
        lags=lags,
        windows=windows,
        window_stats=window_stats,
        horizon=horizon,
        min_periods=min_periods,
        group=group,
        time=time,
        columns=target,
        time_step=time_step,
    ).set_output(transform="default")  # an array whatever the global transform_output
    with warnings.catch_warnings():
        # a DataFrame with non-string column labels is fine here
        warnings.simplefilter("ignore", UserWarning)
        Z = lagger.fit_transform(frame)
    column = (lambda i: frame.iloc[:, i].to_numpy()) if is_frame else (lambda i: frame[:, i])
    y = np.asarray(column(target_pos), dtype=np.float64)
    extra = [np.asarray(column(i)) for i in feature_pos]
    keep = np.ones(len(y), dtype=bool)
    if dropna is not None:
        keep &= ~np.isnan(y)
    if dropna == "any":
        keep &= ~np.isnan(Z).any(axis=1)
        for e in extra:
            if e.dtype.kind == "f":
                keep &= ~np.isnan(e)
    names = [str(n) for n in lagger.get_feature_names_out([str(c) for c in labels])]
    group_pos = _position(group, labels, "group", is_frame)
    groups = None if group_pos is None else np.asarray(column(group_pos))[keep]
    if is_frame:
        import pandas as pd

        X = pd.DataFrame(Z[keep], columns=names, index=frame.index[keep])
        for i in feature_pos:
            X[str(labels[i])] = frame.iloc[:, i].to_numpy()[keep]
    else:
        parts = [Z[keep]] + [np.asarray(e, dtype=np.float64)[keep, None] for e in extra]
        X = np.hstack(parts)
    return X, y[keep], groups


# ----------------------------------------------------------------------------------------------
# helpers


def _check_windows(lags, windows, window_stats, horizon):
    """The lags, windows and statistics as tuples, or a ValueError naming the fix."""
    if isinstance(lags, Integral):
        if lags < horizon:
            raise ValueError(
                f"lags={lags} means lags {horizon}..{lags}, which is empty for "
                f"horizon={horizon}; pass lags >= horizon."
            )
        lags = tuple(range(horizon, lags + 1))
    lags = _int_tuple(lags, "lags", minimum=1)
    early = [k for k in lags if k < horizon]
    if early:
        raise ValueError(
            f"lags={lags} has lag {early[0]} < horizon={horizon}: that value is not known "
            f"{horizon} steps ahead, so it would leak the future. Pass lags >= {horizon}."
        )
    windows = (windows,) if isinstance(windows, Integral) else windows
    windows = _int_tuple(windows, "windows", minimum=1)
    stats = (window_stats,) if isinstance(window_stats, str) else tuple(window_stats)
    bad = [s for s in stats if s not in WINDOW_STATS]
    if bad:
        raise ValueError(f"window_stats has {bad[0]!r}; choose among {list(WINDOW_STATS)}.")
    if len(set(stats)) != len(stats):
        raise ValueError(f"window_stats={stats} repeats a statistic; list each once.")
    if windows and not stats:
        raise ValueError(f"windows={windows} but window_stats is empty; name a statistic.")
    if not lags and not windows:
        raise ValueError("lags and windows are both empty: there is no feature to make.")
    return lags, windows, stats


def _int_tuple(value, name, *, minimum):
    try:
        items = tuple(np.asarray(value).ravel().tolist())
    except (TypeError, ValueError):
        items = None
    if items is None or not all(isinstance(v, Integral) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name}={value!r} must be an int or a sequence of ints.")
    if any(v < minimum for v in items):
        raise ValueError(f"{name}={value!r} must hold ints >= {minimum}.")
    if len(set(items)) != len(items):
        raise ValueError(f"{name}={value!r} repeats a value; list each once.")
    return tuple(int(v) for v in items)


def _input_names(estimator, input_features):
    """The input column names: given, seen in ``fit``, or ``x0, x1, ...``."""
    seen = getattr(estimator, "feature_names_in_", None)
    if input_features is None:
        if seen is not None:
            return list(seen)
        return [f"x{i}" for i in range(estimator.n_features_in_)]
    input_features = list(input_features)
    if len(input_features) != estimator.n_features_in_:
        raise ValueError(
            f"input_features has {len(input_features)} names but X had "
            f"{estimator.n_features_in_} columns in fit; pass one name per column."
        )
    if seen is not None and list(map(str, seen)) != list(map(str, input_features)):
        raise ValueError("input_features is not equal to feature_names_in_.")
    return input_features


def _as_2d_array(X):
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2D array or DataFrame (one row per series and time step), got an "
            f"array of shape {X.shape}."
        )
    return X


def _position(key, labels, name, is_frame):
    """Position of column ``key``: a label of a DataFrame, a position of an array."""
    if key is None:
        return None
    if is_frame:
        matches = [i for i, label in enumerate(labels) if label == key]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ValueError(f"{name}={key!r} names {len(matches)} columns of X; rename them.")
        raise ValueError(
            f"{name}={key!r} is not a column of X; its columns are {labels[:20]}"
            f"{' ...' if len(labels) > 20 else ''}."
        )
    if (
        isinstance(key, Integral)
        and not isinstance(key, bool)
        and -len(labels) <= key < len(labels)
    ):
        return int(key) % len(labels)
    raise ValueError(
        f"{name}={key!r}: with an array X, pass a column position in 0..{len(labels) - 1} (or "
        "pass a DataFrame to name columns)."
    )


def _group_values(column, name):
    """The group column, with a clear error for a row without a series."""
    values = np.asarray(column)
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise ValueError(f"group column {name!r} has NaN; every row needs a series name.")
    if values.dtype.kind == "O" and any(
        v is None or (isinstance(v, float) and np.isnan(v)) for v in values
    ):
        raise ValueError(f"group column {name!r} has missing values; every row needs one.")
    return values


def _group_codes(groups, n):
    """An int code per row naming its series (all 0 without a group column)."""
    if groups is None:
        return np.zeros(n, dtype=np.int64)
    if groups.dtype.kind == "O" and len({type(v) for v in groups}) > 1:
        groups = groups.astype(str)
    try:
        _, codes = np.unique(groups, return_inverse=True)
    except TypeError as exc:
        raise ValueError("the group column holds values that cannot be compared.") from exc
    return codes.ravel().astype(np.int64)


def _time_values(column, name):
    values = np.asarray(column)
    if values.dtype.kind in "fc" and np.isnan(values).any():
        raise ValueError(f"time column {name!r} has NaN; every row needs a time.")
    if values.dtype.kind == "M" and np.isnat(values).any():
        raise ValueError(f"time column {name!r} has NaT; every row needs a time.")
    return values


def _time_ranks(times, name):
    """The rank of each time among the distinct times (equal times share a rank)."""
    try:
        _, ranks = np.unique(times, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"time column {name!r} holds values that cannot be sorted.") from exc
    return ranks.ravel().astype(np.int64)


def _series_keys(codes, units):
    """One int64 per (series, time) pair."""
    distinct, ranks = np.unique(units, return_inverse=True)
    return codes * len(distinct) + ranks.ravel()


def _refuse_repeats(keys, name):
    if len(np.unique(keys)) < len(keys):
        raise ValueError(
            f"time column {name!r} repeats a time within a series; each series needs one row "
            "per time step (aggregate the duplicates, or pass the group column)."
        )


def _refuse_rows_inside(codes, units, n_kept, known, groups, times, name):
    """With steps counted in rows, a new row between two kept rows of its series means the
    features computed in ``fit`` counted the wrong rows as its neighbours."""
    low = np.full(codes.max() + 1, np.iinfo(np.int64).max)
    high = np.full(codes.max() + 1, np.iinfo(np.int64).min)
    np.minimum.at(low, codes[:n_kept], units[:n_kept])
    np.maximum.at(high, codes[:n_kept], units[:n_kept])
    new_codes, new_units = codes[n_kept:], units[n_kept:]
    inside = ~known & (low[new_codes] < new_units) & (new_units < high[new_codes])
    if inside.any():
        i = np.flatnonzero(inside)[0]
        series = "" if groups is None else f" of series {groups[n_kept + i]!r}"
        raise ValueError(
            f"the row{series} at time {times[i]!r} falls between times of its series seen in "
            "fit without being one of them: with time_step='rows' a step is a row, so the "
            "features computed in fit skipped it. Fit on whole series or on a time-ordered "
            "prefix (as TimeSeriesSplit splits), or pass a time on a regular grid with "
            "time_step='auto' (or the step) so that a missing step is NaN."
        )


def _concatenate(kept, new):
    try:
        return np.concatenate([kept, new])
    except TypeError:  # e.g. dates in fit, numbers now: compared as objects, and refused
        return np.concatenate([kept.astype(object), new.astype(object)])


def _positions(sorted_codes):
    """Position of each row within its series, the rows sorted by series."""
    n = len(sorted_codes)
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - first


def _reduce(stat, gathered, present, count):
    """A NaN-ignoring statistic over axis 1, without the warnings of an empty slice."""
    safe = np.maximum(count, 1)
    total = np.where(present, gathered, 0.0).sum(axis=1)
    if stat == "sum":
        return total
    if stat == "mean":
        return total / safe
    if stat == "std":
        mean = total / safe
        dev = np.where(present, gathered - mean[:, None, :], 0.0)
        var = (dev**2).sum(axis=1) / np.maximum(count - 1, 1)
        return np.where(count >= 2, np.sqrt(var), np.nan)
    if stat == "min":
        return np.where(present, gathered, np.inf).min(axis=1)
    if stat == "max":
        return np.where(present, gathered, -np.inf).max(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows are masked after
        return np.nanmedian(gathered, axis=1)
