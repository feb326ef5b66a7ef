"""Forecast keys: the series (group) and the time every forecast is for.

A series dataset's rows know only where they came from (``src_file``, ``src_row`` = the window's
number in that file: rnn_spark/data/schema.py). The series ingest (rnn_spark/ingest/series.py)
numbers windows per file: rows grouped by ``group_column`` and ordered by ``time_column`` (with the
ingest's own reading and sort), then in each series a window every ``stride`` rows, numbered
across the series in order. :class:`SeriesIndex` redoes that numbering for one file from its key
columns alone, so a window number gives back its series and its rows.

Key columns of a forecast (appended to the regress columns of rnn_spark/serve/score.py):

* ``group``       the group column's value (text; null without a group column);
* ``time_index``  the row, counted from the start of its series, of the first forecast target;
* ``time``        the time column's value (text) of every forecast step, in ``pred``'s step order
                  (head_at last: the ``horizon`` rows after the window; head_at every: step t's
                  target row, t + horizon); past the end of the data (raw input: the forecast of
                  the future) extrapolated from the series' spacing (rnn_spark/serve/timestep.py);
                  null without a time column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.serve.timestep import future_times

KEY_FIELDS = (pa.field("group", pa.string()), pa.field("time_index", pa.int64()),
              pa.field("time", pa.list_(pa.string())))


@dataclass(frozen=True)
class SeriesOptions:
    """The series ingest's options a model was trained with (the columns it reads come from the
    model's statistics, so a raw file is read with exactly the model's columns)."""

    window: int
    horizon: int
    stride: int
    columns: tuple[str, ...]
    target_columns: tuple[str, ...]
    time_column: str | None
    group_column: str | None
    head_at: str
    format: str

    @classmethod
    def of(cls, opts: dict, stats: dict) -> "SeriesOptions":
        return cls(int(opts["window"]), int(opts.get("horizon", 1)), int(opts.get("stride", 1)),
                   tuple(stats["features"]["columns"]), tuple(stats["targets"]["columns"]),
                   opts.get("time_column"), opts.get("group_column"), opts.get("head_at", "last"),
                   opts.get("format", "auto"))

    @property
    def lead(self) -> int:
        """First target row of a window, from its start."""
        return self.window if self.head_at == "last" else self.horizon

    @property
    def steps(self) -> int:
        """Forecast steps per window (rows of the target)."""
        return self.horizon if self.head_at == "last" else self.window

    def job(self):
        """The ingest's own reader of these files (no normalisation, no split)."""
        from rnn_spark.ingest.series import SeriesJob
        return SeriesJob(window=self.window, horizon=self.horizon, stride=self.stride,
                         columns=list(self.columns), target_columns=list(self.target_columns),
                         time_column=self.time_column, group_column=self.group_column,
                         head_at=self.head_at, normalize=False, val_fraction=0.0,
                         format=self.format)


@dataclass(frozen=True)
class SeriesIndex:
    """One file's series (row ranges in the ingest's sorted order) and window numbering."""

    starts: np.ndarray               # first row of each series
    ends: np.ndarray                 # one past its last row
    first: np.ndarray                # number of each series' first window
    groups: tuple[str | None, ...]   # group value per series (text)
    times: tuple[str | None, ...] | None  # time value per sorted row (text)
    stride: int
    lead: int
    steps: int
    future: tuple[tuple[str | None, ...], ...] | None = None  # per series: times after its end

    @property
    def windows(self) -> int:
        return int(self.first[-1]) if len(self.first) else 0

    def locate(self, numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """-> (series, first input row) per window number."""
        numbers = np.asarray(numbers, dtype=np.int64)
        # a series without windows has the same ``first`` as the next one: 'right' skips it
        e = np.searchsorted(self.first[:-1], numbers, side="right") - 1
        return e, self.starts[e] + (numbers - self.first[e]) * self.stride

    def time_at(self, series: int, row: int) -> str | None:
        """The time of sorted row ``row`` of ``series``, also past its end (when known)."""
        if self.times is None:
            return None
        past = row - int(self.ends[series])
        if past < 0:
            return self.times[row]
        ahead = self.future[series] if self.future is not None else ()
        return ahead[past] if past < len(ahead) else None

    def keys(self, numbers: np.ndarray) -> dict[str, list]:
        e, start = self.locate(numbers)
        target = start + self.lead
        times = []
        for s, t in zip(e.tolist(), target.tolist()):
            times.append([self.time_at(s, r) for r in range(t, t + self.steps)])
        return {"group": [self.groups[s] for s in e.tolist()],
                "time_index": (target - self.starts[e]).tolist(), "time": times}


def _text(col: pa.ChunkedArray | pa.Array) -> list:
    if not pa.types.is_string(col.type):
        col = pc.cast(col, pa.string())
    return col.to_pylist()


def read_index(opts: SeriesOptions, uri: str, need: int, ahead: int = 0) -> SeriesIndex:
    """Read ``uri``'s key columns as the series ingest does; windows need ``need`` rows
    (window + horizon: the ingest's numbering; window: every window with a full input);
    ``ahead``: how many times past each series' end to extrapolate (rnn_spark/serve/timestep.py)."""
    from rnn_spark.ingest.tables import column, detect_format, read_table, sort_order
    fmt = detect_format(uri, opts.format, allowed=("csv", "parquet"))
    if fmt == "jsonl":
        raise UserError(f"{uri}: series inputs must be CSV or Parquet")
    table = read_table(uri, fmt)
    keys = [k for k in (opts.group_column, opts.time_column) if k]
    order = sort_order(table, keys, uri, fmt)
    n = len(order)
    if opts.group_column:
        g = np.asarray(_text(column(table, opts.group_column, uri).take(pa.array(order))),
                       dtype=object)
        cuts = np.flatnonzero(g[1:] != g[:-1]) + 1 if n else np.zeros(0, np.int64)
    else:
        g, cuts = None, np.zeros(0, np.int64)
    edges = np.concatenate([[0], cuts, [n]]).astype(np.int64)
    starts, ends = edges[:-1], edges[1:]
    counts = np.where(ends - starts >= need, (ends - starts - need) // opts.stride + 1, 0)
    first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    times = future = None
    if opts.time_column:
        native = column(table, opts.time_column, uri).take(pa.array(order)).combine_chunks()
        times = tuple(_text(native))
        if ahead:
            future = tuple(future_times(native[a:b], ahead) for a, b in zip(starts.tolist(),
                                                                             ends.tolist()))
    groups = tuple(g[starts].tolist()) if g is not None else (None,) * len(starts)
    return SeriesIndex(starts, ends, first, groups, times, opts.stride, opts.lead, opts.steps,
                       future)


def key_columns(indexes, src_file: np.ndarray, src_row: np.ndarray) -> dict[str, pa.Array]:
    """The key columns of rows (src_file, src_row) of a series dataset (see the module doc)."""
    n = len(src_row)
    group, tindex, time = [None] * n, [0] * n, [None] * n
    for f in np.unique(src_file).tolist():
        at = np.flatnonzero(src_file == f)
        k = indexes[f].keys(src_row[at])
        for j, i in enumerate(at.tolist()):
            group[i], tindex[i], time[i] = k["group"][j], k["time_index"][j], k["time"][j]
    return {"group": pa.array(group, pa.string()), "time_index": pa.array(tindex, pa.int64()),
            "time": pa.array(time, pa.list_(pa.string()))}


def dataset_indexes(m, stats: dict) -> tuple[SeriesIndex, ...] | None:
    """Per source file of series dataset ``m``, its SeriesIndex (ingest numbering); None for
    datasets of other ingests. The sources must still be readable (one line if not)."""
    if m.data.get("ingest") != "series":
        return None
    opts = SeriesOptions.of(m.data.get("options") or {}, stats)
    out = []
    for src in m.data.get("sources", []):
        why = (f"{m.root}: its series source {src['uri']} is needed to key the forecasts by group "
               "and time and {}")
        try:
            size = fs.info(src["uri"])["size"]
            index = read_index(opts, src["uri"], opts.window + opts.horizon)
        except UserError as err:
            raise UserError(why.format(f"is not readable ({str(err).splitlines()[0]}); make it "
                                       "reachable")) from None
        if src.get("bytes") is not None and size != src["bytes"]:
            raise UserError(why.format(f"has changed since the ingest ({size} bytes, the "
                                       f"manifest says {src['bytes']}); ingest it again"))
        out.append(index)
    return tuple(out)
