"""What one step back in time means for :class:`~skxfer.timeseries.LagFeatures`.

On a regular grid (whole numbers, numbers a fixed step apart, dates a whole number of years,
months, business days, days, hours ... apart) times become whole numbers of grid units, so
"``k`` steps back" is exact arithmetic and a time with no row is a missing value. Anywhere
else a step is a row of the series.
"""

import datetime

import numpy as np

#: Least share of the grid slots between the first and last time of each series that the
#: rows of ``fit`` must fill for ``time_step="auto"`` to count steps on that grid. A fold of a
#: shuffled 2-fold split still fills half; a year-and-month number such as 201907 (12 slots
#: used in each 100) is not a grid of step 1 and counts rows instead.
MIN_COVERAGE = 0.5
#: How far a float time may sit from its grid point, in steps (rounding of a step such as 1/12).
_FLOAT_TOLERANCE = 1e-6
#: Date units tried from the coarsest; "B" (business days) before "D", so that a table of
#: weekdays does not count every weekend as two missing days.
_DATE_UNITS = ("Y", "M", "B", "D", "h", "m", "s", "ms", "us", "ns")
_UNIT_NAMES = {
    "Y": "year",
    "M": "month",
    "B": "business day",
    "D": "day",
    "h": "hour",
    "m": "minute",
    "s": "second",
    "ms": "millisecond",
    "us": "microsecond",
    "ns": "nanosecond",
}
_BUSDAY_EPOCH = np.datetime64("1970-01-05", "D")  # a Monday


class TimeSteps:
    """The time grid fitted by one :class:`LagFeatures`: how times become whole grid units.

    ``kind`` is "rows" (a step is a row; times are only compared), "int" (whole numbers),
    "float" (numbers ``width`` apart from ``origin``), or "date" (dates in whole ``unit``s,
    shifted by a day first when they are the last days of months or years).
    ``step`` is the number of grid units per step.
    """

    def __init__(self, kind, step=1, *, unit=None, shift=False, origin=0.0, width=1.0):
        self.kind = kind
        self.step = step
        self.unit = unit
        self.shift = shift
        self.origin = origin
        self.width = width

    @property
    def public(self):
        """The step as ``LagFeatures.time_step_`` shows it."""
        if self.kind == "rows":
            return "rows"
        if self.kind == "int":
            return int(self.step)
        if self.kind == "float":
            return float(self.width)
        if self.unit == "B":
            return f"{self.step} business day{'s' if self.step > 1 else ''}"
        return np.timedelta64(int(self.step), self.unit)

    def encode(self, times, name):
        """Whole grid units of ``times`` (int64), or a ValueError for a time off the grid."""
        if self.kind == "date":
            if times.dtype.kind != "M":
                raise ValueError(
                    f"time column {name!r} holds {times.dtype} values, but dates in fit; pass "
                    "the same kind of time to transform."
                )
            units = _encode_dates(times, self.unit, self.shift)
            if units is None:
                raise ValueError(
                    f"time column {name!r} has a date that is not a whole number of "
                    f"{_UNIT_NAMES[self.unit]}s, like the dates seen in fit (time_step_="
                    f"{self.public!r}); pass dates on that grid, or time_step='rows'."
                )
            return units
        if times.dtype.kind not in "iuf":
            raise ValueError(
                f"time column {name!r} holds {times.dtype} values, but numbers in fit; pass "
                "the same kind of time to transform."
            )
        if self.kind == "int" and times.dtype.kind in "iu":
            return times.astype(np.int64)
        values = times.astype(np.float64)
        if self.kind == "int":
            if not _whole(values):
                bad = values[values != np.round(values)][0]
                raise ValueError(
                    f"time column {name!r} has {bad}, but whole numbers in fit; pass whole "
                    "times, or time_step='rows'."
                )
            return times.astype(np.int64)
        units = (values - self.origin) / self.width
        rounded = np.round(units)
        off = np.abs(units - rounded) > _FLOAT_TOLERANCE
        if off.any():
            raise ValueError(
                f"time column {name!r} has {values[off][0]}, off the grid of step {self.width} "
                f"through {self.origin} seen in fit; pass times on that grid, or "
                "time_step='rows'."
            )
        return rounded.astype(np.int64)


def fit_time_steps(times, codes, time_step, name):
    """The :class:`TimeSteps` of the times seen in ``fit`` (``codes`` name their series)."""
    if isinstance(time_step, str) and time_step == "rows":
        return TimeSteps("rows")
    if times.dtype.kind == "M":
        return _fit_dates(times, codes, time_step, name)
    if times.dtype.kind in "iuf":
        return _fit_numbers(times, codes, time_step, name)
    if isinstance(time_step, str):  # "auto": no arithmetic on text or objects
        return TimeSteps("rows")
    raise ValueError(
        f"time_step={time_step!r} needs a time column of numbers or dates, but {name!r} holds "
        f"{times.dtype} values; pass time_step='auto' or 'rows'."
    )


def _fit_numbers(times, codes, time_step, name):
    values = times.astype(np.float64)
    if isinstance(time_step, (np.timedelta64, datetime.timedelta)):
        raise ValueError(
            f"time_step={time_step!r} is a duration, but time column {name!r} holds numbers; "
            "pass a number (or 'auto')."
        )
    if isinstance(time_step, str):  # "auto"
        if times.dtype.kind in "iu" or _whole(values):
            step = _regular_step(times.astype(np.int64), codes)
            return TimeSteps("rows") if step is None else TimeSteps("int", step)
        return _fit_float_grid(values, codes)
    if (times.dtype.kind in "iu" or _whole(values)) and float(time_step).is_integer():
        return TimeSteps("int", int(time_step))
    grid = TimeSteps("float", origin=float(values.min()), width=float(time_step))
    grid.encode(times, name)  # every time of fit on the grid, or the error that says so
    return grid


def _fit_float_grid(values, codes):
    """Numbers a fixed step apart: the smallest gap between two times of a series."""
    order = np.lexsort((values, codes))
    gaps = np.diff(values[order])[codes[order][1:] == codes[order][:-1]]
    gaps = gaps[gaps > 0]
    if not len(gaps):
        return TimeSteps("rows")
    grid = TimeSteps("float", origin=float(values.min()), width=float(gaps.min()))
    units = (values - grid.origin) / grid.width
    if np.any(np.abs(units - np.round(units)) > _FLOAT_TOLERANCE):
        return TimeSteps("rows")
    if _regular_step(np.round(units).astype(np.int64), codes) != 1:
        return TimeSteps("rows")
    return grid


def _fit_dates(times, codes, time_step, name):
    if isinstance(time_step, str):  # "auto": the coarsest unit that holds every date
        for unit in _DATE_UNITS:
            for shift in (False, True) if unit in ("Y", "M") else (False,):
                units = _encode_dates(times, unit, shift)
                if units is not None:
                    step = _regular_step(units, codes)
                    if step is None:
                        return TimeSteps("rows")
                    return TimeSteps("date", step, unit=unit, shift=shift)
        return TimeSteps("rows")
    if not isinstance(time_step, (np.timedelta64, datetime.timedelta)):
        raise ValueError(
            f"time_step={time_step!r} is a number, but time column {name!r} holds dates; pass "
            "a duration such as numpy.timedelta64(1, 'M') (or 'auto')."
        )
    duration = np.timedelta64(time_step)
    unit, count = np.datetime_data(duration.dtype)
    if unit not in _UNIT_NAMES:
        raise ValueError(f"time_step={time_step!r}: durations in {unit!r} are not supported.")
    step = int(duration.astype(np.int64)) * count
    if step <= 0:
        raise ValueError(f"time_step={time_step!r} must be a positive duration.")
    for shift in (False, True) if unit in ("Y", "M") else (False,):
        if _encode_dates(times, unit, shift) is not None:
            return TimeSteps("date", step, unit=unit, shift=shift)
    raise ValueError(
        f"time_step={time_step!r}, but time column {name!r} has dates that are not whole "
        f"{_UNIT_NAMES[unit]}s; pass a finer time_step, or time_step='rows'."
    )


def _encode_dates(times, unit, shift):
    """Dates as whole ``unit``s (int64), or None when a date is not a whole one. ``shift``
    moves the dates a day on first: month ends become month starts."""
    if unit == "B":
        days = _encode_dates(times, "D", False)
        if days is None:
            return None
        days = days.astype("datetime64[D]")
        if not np.is_busday(days).all():
            return None
        return np.busday_count(_BUSDAY_EPOCH, days).astype(np.int64)
    if shift:
        if np.datetime_data(times.dtype)[0] in ("Y", "M"):
            return None  # already whole months or years: no last day to move
        times = times + np.timedelta64(1, "D")
    coarse = times.astype(f"datetime64[{unit}]")
    if not np.array_equal(coarse.astype(times.dtype), times):
        return None
    return coarse.astype(np.int64)


def _regular_step(units, codes):
    """The step of whole-number times: the smallest gap within a series, when every gap is a
    multiple of it and the rows fill at least ``MIN_COVERAGE`` of the grid; else None."""
    order = np.lexsort((units, codes))
    units, codes = units[order], codes[order]
    same = codes[1:] == codes[:-1]
    gaps = np.diff(units)[same]
    gaps = gaps[gaps > 0]
    if not len(gaps):
        return None
    step = int(gaps.min())
    if np.any(gaps % step):
        return None
    first = np.r_[True, ~same]
    last = np.r_[~same, True]
    slots = ((units[last] - units[first]) // step + 1).sum()
    rows = len(units) - np.count_nonzero(np.diff(units)[same] == 0)
    return step if rows >= MIN_COVERAGE * slots else None


def _whole(values):
    return bool(np.all(values == np.round(values)) and np.all(np.abs(values) < 2.0**53))
