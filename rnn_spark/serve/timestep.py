"""Times past the end of a series: its last time plus whole steps of the series' own spacing.

A forecast of raw series data (``predict --input``) reaches past the last row; the ``time`` of
those steps is extrapolated here from the series' time column (native values, sorted):

* numbers (integers, floats), dates, times, timestamps, durations: the last value plus ``j``
  times the spacing, for j = 1, 2, ...; the spacing is the most common difference between
  consecutive values (the median for floats), so one gap in the data does not change it;
* dates and timestamps (without a time zone) that fall on the same day of every month (or on
  every month's last day) at the same time of day, a whole number of months apart: calendar
  months (monthly, quarterly, yearly data), not a fixed number of days;
* text, or a series of one row (no spacing): no time (null).

The values are cast to text the way the known times are (pyarrow's cast), so they read alike.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_VIEW = {32: pa.int32(), 64: pa.int64()}  # same-width integer view of a temporal type


def _mode(d: np.ndarray):
    vals, counts = np.unique(d, return_counts=True)
    return vals[int(np.argmax(counts))]  # ties: the smallest


def _unit(typ: pa.DataType) -> str | None:
    """numpy datetime64 unit of a date or naive timestamp type, else None."""
    if pa.types.is_date32(typ):
        return "D"
    if pa.types.is_date64(typ):
        return "ms"
    if pa.types.is_timestamp(typ) and typ.tz is None:
        return typ.unit
    return None


def _months(ints: np.ndarray, unit: str, k: int) -> np.ndarray | None:
    """The next k times by calendar months, when the series is monthly-regular; else None."""
    dt = ints.astype(f"datetime64[{unit}]")
    day, mon = dt.astype("datetime64[D]"), dt.astype("datetime64[M]")
    tod = dt - day
    if len(np.unique(np.diff(ints))) == 1 or len(np.unique(tod)) != 1:
        return None  # a fixed spacing already (or times of day differ)
    step = int(_mode(np.diff(mon.astype(np.int64))))
    dom = (day - mon.astype("datetime64[D]")).astype(np.int64)
    last_day = ((mon + 1).astype("datetime64[D]") - day).astype(np.int64) == 1
    if step <= 0 or not (len(np.unique(dom)) == 1 or last_day.all()):
        return None
    ahead = mon[-1] + step * np.arange(1, k + 1)
    first, nxt = ahead.astype("datetime64[D]"), (ahead + 1).astype("datetime64[D]")
    days = nxt - 1 if last_day.all() else np.minimum(first + int(dom[0]), nxt - 1)
    return (days.astype(f"datetime64[{unit}]") + tod[0]).astype(np.int64)


def future_times(times: pa.Array, k: int) -> tuple[str | None, ...]:
    """The ``k`` time values after the end of one series' sorted ``times``, as text."""
    typ = times.type
    numeric = pa.types.is_integer(typ) or pa.types.is_floating(typ)
    temporal = pa.types.is_temporal(typ) and typ.bit_width in _VIEW
    if k <= 0 or len(times) < 2 or not (numeric or temporal) or times.null_count:
        return (None,) * max(k, 0)
    ints = (times if numeric else times.view(_VIEW[typ.bit_width])).to_numpy()
    nxt = _months(ints.astype(np.int64), _unit(typ), k) if _unit(typ) else None
    if nxt is None:
        d = np.diff(ints)
        step = np.median(d) if pa.types.is_floating(typ) else _mode(d)
        if not step > 0:
            return (None,) * k
        nxt = ints[-1] + step * np.arange(1, k + 1, dtype=ints.dtype)
    base = typ if numeric else _VIEW[typ.bit_width]
    out = pa.array(nxt.astype(base.to_pandas_dtype()), type=base)
    return tuple(pc.cast(out if numeric else out.view(typ), pa.string()).to_pylist())
