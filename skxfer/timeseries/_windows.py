"""Lag and rolling-window features of many series, for forecasting with tabular learners."""

import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_array
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

WINDOW_STATS = ("mean", "std", "min", "max", "median", "sum")

# Rows gathered per block by the rolling windows: bounds the (rows x window) scratch array.
_BLOCK_ROWS = 65536


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

    Steps are rows: within a series, rows are ordered by the ``time`` column (or kept in
    their order when ``time`` is None) and ``lag1`` is the previous row, whatever the time
    gap. Insert rows with NaN for missing time steps first (e.g. with ``reindex``) when the
    series has gaps.

    Because the features of a row depend on the rows before it, transform a series in one
    call with its history: transforming the rows of a series one batch at a time gives NaN
    at the start of every batch.

    Parameters
    ----------
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
        means the full width of the window, as pandas' ``rolling`` does.
    group : str or int, default=None
        Column that names the series of each row: a column label of a DataFrame, or a
        column position of an array. None: all rows are one series.
    time : str or int, default=None
        Column that orders the rows of a series (any sortable values: dates, numbers). None:
        the rows of each series are in time order already. A repeated time within a series
        is an error.
    columns : str, int or sequence, default=None
        The value columns to lag (labels or positions, as ``group``). None means every column
        but ``group`` and ``time``.

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
    ):
        self.lags = lags
        self.windows = windows
        self.window_stats = window_stats
        self.horizon = horizon
        self.min_periods = min_periods
        self.group = group
        self.time = time
        self.columns = columns

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and find the group, time and value columns of ``X``.

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
        self._validate(X, reset=True)
        return self

    def transform(self, X):
        """Lag and window features of every row, from the past of its own series.

        Parameters
        ----------
        X : {array-like, DataFrame} of shape (n_samples, n_features)
            The long table, with the columns seen in ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
            One row per row of ``X``, in the same order; NaN where the history is too short.
            Columns as :meth:`get_feature_names_out` names them.
        """
        check_is_fitted(self)
        values, codes, times = self._validate(X, reset=False)
        order = _series_order(codes, times, self.time)
        sorted_values = values[order]
        sorted_codes = codes[order]
        # position of each sorted row within its series
        starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
        first = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
        position = np.arange(len(order)) - first
        blocks = [_lagged(sorted_values, position, k) for k in self.lags_]
        min_periods = self.min_periods
        for w in self.windows_:
            need = w if min_periods is None else min(min_periods, w)
            stats = _rolling(sorted_values, position, w, self.horizon, need, self.window_stats_)
            blocks.extend(stats)
        # one block per lag or window statistic, value column by value column inside
        out_sorted = np.hstack(blocks)
        out = np.empty_like(out_sorted)
        out[order] = out_sorted
        return out

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

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
        """``(values, group codes, times)`` of ``X``: the value columns as float64, an int
        code per row naming its series, and the time column (or None)."""
        is_frame = hasattr(X, "columns") and hasattr(X, "iloc")
        if self.group is None and self.time is None and self.columns is None:
            values = validate_data(
                self, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan"
            )
            if reset:
                self.value_columns_ = np.arange(values.shape[1])
            return values, np.zeros(len(values), dtype=np.intp), None
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
        codes = (
            np.zeros(len(values), dtype=np.intp)
            if group is None
            else _group_codes(column(group), self.group)
        )
        times = None if time is None else _time_values(column(time), self.time)
        return values, codes, times


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
):
    """Features and target of a one-series-or-many forecasting table.

    Each row of the result pairs the value of ``target`` at one step of one series with
    features from the past of that series only (see :class:`LagFeatures`), plus any
    ``features`` columns of the same row (calendar columns such as the month, or covariates
    known when the forecast is made).

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
    lags, windows, window_stats, horizon, min_periods
        As in :class:`LagFeatures`, applied to ``target``.
    features : sequence of str or int, default=()
        Columns of ``frame`` passed through as features of the same row. They must be
        known when the forecast is made (the row's month, a planned price), or they leak.
    dropna : {"any", "target"} or None, default="any"
        ``"any"``: drop the rows whose target or any feature is NaN (too short a history);
        ``"target"``: drop only the rows without a target, keeping NaN features for a
        learner that takes them; None: keep every row.

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


def _group_codes(column, name):
    values = np.asarray(column)
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise ValueError(f"group column {name!r} has NaN; every row needs a series name.")
    if values.dtype.kind == "O":
        if any(v is None or (isinstance(v, float) and np.isnan(v)) for v in values):
            raise ValueError(f"group column {name!r} has missing values; every row needs one.")
        values = values.astype(str) if not _all_same_type(values) else values
    try:
        _, codes = np.unique(values, return_inverse=True)
    except TypeError as exc:
        raise ValueError(f"group column {name!r} holds values that cannot be compared.") from exc
    return codes.ravel().astype(np.intp)


def _all_same_type(values):
    kinds = {type(v) for v in values}
    return len(kinds) == 1


def _time_values(column, name):
    values = np.asarray(column)
    if values.dtype.kind in "fc" and np.isnan(values).any():
        raise ValueError(f"time column {name!r} has NaN; every row needs a time.")
    if values.dtype.kind == "M" and np.isnat(values).any():
        raise ValueError(f"time column {name!r} has NaT; every row needs a time.")
    return values


def _series_order(codes, times, time_name):
    """Row order that sorts by series, then by time (stable), with repeated times refused."""
    if times is None:
        return np.argsort(codes, kind="stable")
    try:
        order = np.lexsort((times, codes))
    except TypeError as exc:
        raise ValueError(f"time column {time_name!r} holds values that cannot be sorted.") from exc
    same_series = codes[order][1:] == codes[order][:-1]
    same_time = times[order][1:] == times[order][:-1]
    if np.any(same_series & same_time):
        raise ValueError(
            f"time column {time_name!r} repeats a time within a series; each series needs one "
            "row per time step (aggregate the duplicates, or pass the group column)."
        )
    return order


def _lagged(values, position, k):
    """Values ``k`` rows back within each series (rows sorted by series and time)."""
    out = np.full_like(values, np.nan)
    ok = position >= k
    out[ok] = values[np.flatnonzero(ok) - k]
    return out


def _rolling(values, position, width, horizon, need, stats):
    """One array per statistic: the window of ``width`` values ending ``horizon`` rows back."""
    n, n_cols = values.shape
    outs = {s: np.full((n, n_cols), np.nan) for s in stats}
    offsets = horizon + np.arange(width)  # rows back of each window slot
    for start in range(0, n, _BLOCK_ROWS):
        rows = np.arange(start, min(start + _BLOCK_ROWS, n))
        back = rows[:, None] - offsets[None, :]
        inside = position[rows, None] >= offsets[None, :]
        gathered = np.where(inside[:, :, None], values[np.where(inside, back, 0)], np.nan)
        present = ~np.isnan(gathered)
        count = present.sum(axis=1)
        enough = count >= need
        for stat in stats:
            outs[stat][rows] = np.where(enough, _reduce(stat, gathered, present, count), np.nan)
    return [outs[s] for s in stats]


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
