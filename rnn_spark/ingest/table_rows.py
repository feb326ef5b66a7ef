"""Reading the columns of a chunk of table rows as numbers, and what is wrong with them.

Both engines hand these functions Arrow tables (the local engine: the whole table; the Spark
engine: a partition's record batches), so a value means the same on either. Problems are not
raised here but counted (:class:`Problems`): a Spark partition reports them, the driver adds up
every partition's and names the first in a fixed order, so the message does not depend on the
partitioning either.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_SHOWN = 40


def _text(v) -> str:
    s = str(v)
    return s if len(s) <= _SHOWN else s[:_SHOWN] + "..."


@dataclass
class Problems:
    """Per column: rows with a missing value, and values that are not what the role needs
    (count, the smallest offending text). Adds up over chunks in any order."""

    nulls: dict = field(default_factory=dict)
    bad: dict = field(default_factory=dict)     # column -> [count, smallest text, what]

    def null(self, col: str, n: int) -> None:
        if n:
            self.nulls[col] = self.nulls.get(col, 0) + int(n)

    def wrong(self, col: str, n: int, example: str, what: str) -> None:
        if not n:
            return
        have = self.bad.get(col)
        if have is None:
            self.bad[col] = [int(n), example, what]
        else:
            have[0] += int(n)
            if (what, example) < (have[2], have[1]):
                have[1], have[2] = example, what

    def add(self, other: "Problems") -> "Problems":
        for col, n in other.nulls.items():
            self.null(col, n)
        for col, (n, ex, what) in other.bad.items():
            self.wrong(col, n, ex, what)
        return self

    def to_dict(self) -> dict:
        return {"nulls": dict(self.nulls), "bad": {k: list(v) for k, v in self.bad.items()}}

    @classmethod
    def from_dict(cls, d: dict) -> "Problems":
        return cls(dict(d["nulls"]), {k: list(v) for k, v in d["bad"].items()})


def _first_bad(texts: pa.Array, ok: np.ndarray) -> str:
    bad = pc.filter(texts, pa.array(~ok))
    return _text(pc.min(bad).as_py()) if len(bad) else ""


def _floats(col: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Text -> (float64, parsed) per value: Arrow's parser, else Python's float() one by one."""
    stripped = pc.utf8_trim_whitespace(col)
    try:
        out = stripped.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        return out, pc.is_valid(col).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = np.full(len(col), np.nan)
    ok = np.zeros(len(col), bool)
    for i, v in enumerate(stripped.to_pylist()):
        if v is None:
            continue
        try:
            out[i], ok[i] = float(v), True
        except ValueError:
            pass
    return out, ok


def parse_numbers(col, name: str, problems: Problems, what: str = "not a number") -> np.ndarray:
    """A column as float64 (NaN where missing or wrong): numbers, booleans (0/1) and text that
    reads as a number (CSV); missing values, other text and NaN/Inf counted in ``problems``;
    -0.0 is 0.0."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    problems.null(name, col.null_count)
    valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        out, ok = _floats(col)
        wrong = valid & ~ok
        if wrong.any():
            problems.wrong(name, int(wrong.sum()), _first_bad(col, ~wrong), what)
    else:
        out = col.cast(pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        ok = valid
    nonfinite = ok & ~np.isfinite(out)
    if nonfinite.any():
        problems.wrong(name, int(nonfinite.sum()), min(str(v) for v in out[nonfinite]),
                       "NaN/Inf")
    return out + 0.0


def parse_order(col, how: str | None, problems: Problems, name: str) -> np.ndarray:
    """The --order-by column as numbers: microseconds since the epoch for dates and times
    (``how`` = "time", text read as ISO 8601), float64 otherwise (``how`` = "number")."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_timestamp(t):
        problems.null(name, col.null_count)
        return col.cast(pa.timestamp("us", t.tz)).cast(pa.int64()).fill_null(0) \
            .to_numpy(zero_copy_only=False).astype(np.float64)
    if pa.types.is_date(t):
        problems.null(name, col.null_count)
        days = col.cast(pa.date32()).cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        return days.astype(np.float64) * 86400e6
    if (pa.types.is_string(t) or pa.types.is_large_string(t)) and how == "time":
        problems.null(name, col.null_count)
        return parse_times(col, name, problems)
    return parse_numbers(col, name, problems, "not a number, date or time")


def parse_times(col: pa.Array, name: str, problems: Problems) -> np.ndarray:
    """ISO 8601 text -> microseconds since the epoch (a zone offset is honoured; no zone = UTC)."""
    out = np.full(len(col), np.nan)
    valid = pc.is_valid(col).to_numpy(zero_copy_only=False)
    ok = np.zeros(len(col), bool)
    for i in np.flatnonzero(valid):
        v = times_of(col[i].as_py())
        if v is not None:
            out[i], ok[i] = v, True
    wrong = valid & ~ok
    if wrong.any():
        problems.wrong(name, int(wrong.sum()), _first_bad(col, ~wrong | ~valid),
                       "not a number, date or time")
    return out


def times_of(text: str) -> float | None:
    """Microseconds since the epoch of an ISO 8601 date or date-time, or None."""
    from datetime import datetime, timezone
    try:
        d = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    delta = d - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return float((delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds)


def string_order_kind(col) -> tuple[bool, bool]:
    """(every value reads as a number, every value reads as a date/time) of a text order column."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    values = [v for v in col.to_pylist() if v is not None]
    num = time = True
    for v in values:
        if num:
            try:
                float(v)
            except ValueError:
                num = False
        if time and times_of(v) is None:
            time = False
        if not (num or time):
            break
    return num, time


def null_counts(table: pa.Table, names, problems: Problems) -> None:
    for name in names:
        problems.null(name, table[name].null_count)


def column_ids(col, values: tuple | None, size: int) -> np.ndarray:
    """A categorical column as int32 ids: 1 + the value's index in ``values`` (0 = <unk>: a value
    the vocabulary lacks, or missing); with ``values`` None the column holds the ids itself."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if values is None:
        ids = col.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        return np.where((ids >= 0) & (ids < size), ids, 0).astype(np.int32)
    if len(values) == 0:
        return np.zeros(len(col), np.int32)
    vs = pa.array(list(values), type=col.type if not pa.types.is_large_string(col.type)
                  else pa.large_string())
    idx = pc.index_in(col, value_set=vs)
    return (idx.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64) + 1).astype(np.int32)
