"""Time-series ingest: CSV/Parquet tables -> sliding windows with a forecast horizon.

Each input file holds complete series: rows are grouped by ``group_column`` (one series per
entity; the whole file is one series without it) and ordered by ``time_column`` (file order
without it). A series of ``n`` rows yields windows starting every ``stride`` rows of ``window``
steps of ``columns``; targets are ``target_columns`` at the ``horizon`` rows after the window
(head_at ``last``: output_size = horizon * targets) or, at every step t, the row t + horizon
(head_at ``every``: output_size = targets).

Split: ``split_by="time"`` keeps the last ``val_fraction`` of each series for validation (train
windows end before the cut; validation windows have all their targets after it, their inputs may
look back across it); ``split_by="group"`` sends whole entities to validation by a seeded hash.
Normalisation statistics (per column mean/std) come from the training rows only.
"""

from __future__ import annotations

import numpy as np

from rnn_spark.data.schema import make_block, row_hash, unit_fraction
from rnn_spark.errors import ConfigError, DataError
from rnn_spark.ingest.job import Job
from rnn_spark.ingest.pipeline import run_ingest
from rnn_spark.ingest.stats import combine_moments, moments, stats_dict
from rnn_spark.ingest.tables import (FORMATS, column, date_time_text, detect_format,
                                     numeric_matrix, read_table, sort_order, where)


class SeriesJob(Job):
    type = "series"
    kind, task = "features", "regress"

    def __init__(self, *, window: int, horizon: int = 1, stride: int = 1, columns=None,
                 target_columns=None, time_column=None, group_column=None, head_at="last",
                 normalize=True, val_fraction=0.1, split_by="time", seed=0, format="auto"):
        if window < 2:
            raise ConfigError(f"window: {window} is too short; use at least 2 steps")
        if horizon < 1 or stride < 1:
            raise ConfigError("horizon and stride: must be >= 1")
        if head_at not in ("last", "every"):
            raise ConfigError(f"head_at: {head_at!r} is not one of last, every")
        if split_by not in ("time", "group"):
            raise ConfigError(f"split_by: {split_by!r} is not one of time, group")
        if split_by == "group" and not group_column:
            raise ConfigError("split_by: 'group' needs --group-column")
        if format not in FORMATS[:3]:
            raise ConfigError(f"format: {format!r} is not one of auto, csv, parquet")
        if not 0 <= val_fraction < 1:
            raise ConfigError(f"val_fraction: {val_fraction} must be in [0, 1)")
        self.head_at, self.seed = head_at, seed
        self.opts = dict(window=window, horizon=horizon, stride=stride,
                         columns=list(columns) if columns else None,
                         target_columns=list(target_columns) if target_columns else None,
                         time_column=time_column, group_column=group_column, head_at=head_at,
                         normalize=normalize, val_fraction=val_fraction, split_by=split_by,
                         format=format)
        self.columns = self.targets = self.mean = self.std = None

    # -- reading ---------------------------------------------------------------------------
    def _columns(self, table, uri):
        o = self.opts
        skip = {o["time_column"], o["group_column"]}
        cols = o["columns"] or [c for c in table.column_names if c not in skip]
        if not cols:
            raise DataError(f"{uri}: no feature columns; pass --columns")
        return cols, o["target_columns"] or cols

    def _refuse_dates(self, table, names, uri, fmt):
        """A feature or target column of dates/times: the user meant it as the time column."""
        for name in names:
            col = column(table, name, uri)
            text = date_time_text(col)
            if text is None:
                continue
            row = int(np.flatnonzero(col.is_valid().to_numpy(zero_copy_only=False))[0])
            tc = self.opts["time_column"]
            fix = (f"pass --time-column {name} to order each series by it, or --columns to "
                   "choose the features") if not tc else \
                f"leave it out with --columns (the time column is {tc})"
            raise DataError(f"{where(uri, fmt, row)}: field {name!r} holds dates/times "
                            f"({text!r}), not numbers; {fix}")

    def _load(self, uri):
        """-> (features [n, D], targets [n, nt], series bounds [(a, b)], entity count)."""
        o = self.opts
        fmt = detect_format(uri, o["format"], allowed=("csv", "parquet"))
        if fmt == "jsonl":
            raise DataError(f"{uri}: series inputs must be CSV or Parquet")
        table = read_table(uri, fmt)
        if table.num_rows == 0:
            raise DataError(f"{uri}: no rows; remove the empty file from the inputs")
        cols, tcols = self._columns(table, uri)
        if self.columns is not None and cols != self.columns:
            raise DataError(f"{uri}: columns {cols} differ from the first file's {self.columns}; "
                            "pass --columns")
        self._refuse_dates(table, dict.fromkeys(cols + tcols), uri, fmt)
        keys = [k for k in (o["group_column"], o["time_column"]) if k]
        order = sort_order(table, keys, uri, fmt)
        feats = numeric_matrix(table, cols, uri, fmt)[order]
        targs = numeric_matrix(table, tcols, uri, fmt)[order]
        if o["group_column"]:
            g = np.asarray(column(table, o["group_column"], uri).to_pylist(), dtype=object)[order]
            cuts = np.flatnonzero(g[1:] != g[:-1]) + 1
        else:
            cuts = np.zeros(0, np.int64)
        edges = np.concatenate([[0], cuts, [len(order)]]).astype(np.int64)
        return cols, tcols, feats, targs, list(zip(edges[:-1], edges[1:]))

    def _windows(self, idx, bounds):
        """-> starts, split per window, window numbers, train row mask length n."""
        o = self.opts
        L, H, f = o["window"], o["horizon"], o["val_fraction"]
        starts, splits, train_rows = [], [], []
        if o["split_by"] == "group":
            gval = unit_fraction(row_hash(self.seed ^ 0x6A09E667, idx,
                                          np.arange(len(bounds)))) < f
        for e, (a, b) in enumerate(bounds):
            n = b - a
            s = np.arange(a, b - L - H + 1, o["stride"], dtype=np.int64)
            end, tau = s + L + H, (s + L if self.head_at == "last" else s + H)
            if o["split_by"] == "group":
                sp = np.full(len(s), 1 if gval[e] else 0, np.int8)
                train_rows.append(np.zeros(n, bool) if gval[e] else np.ones(n, bool))
            else:
                cut = a + int(np.floor(n * (1 - f)))
                sp = np.where(end <= cut, 0, np.where(tau >= cut, 1, -1)).astype(np.int8)
                train_rows.append(np.arange(a, b) < cut)
            starts.append(s)
            splits.append(sp)
        starts = np.concatenate(starts) if starts else np.zeros(0, np.int64)
        splits = np.concatenate(splits) if splits else np.zeros(0, np.int8)
        number = np.arange(len(starts), dtype=np.int64)
        keep = splits >= 0
        mask = np.concatenate(train_rows) if train_rows else np.zeros(0, bool)
        return starts[keep], splits[keep], number[keep], mask

    def _out_width(self, nt):
        return nt * self.opts["horizon"] if self.head_at == "last" else nt

    # -- the three steps -------------------------------------------------------------------
    def scan(self, idx, uri):
        cols, tcols, feats, targs, bounds = self._load(uri)
        starts, splits, _, train = self._windows(idx, bounds)
        per = self.opts["window"] * len(cols) + self._out_width(len(tcols)) * \
            (self.opts["window"] if self.head_at == "every" else 1)
        return {"rows": [int((splits == 0).sum()), int((splits == 1).sum())],
                "values": [int((splits == 0).sum()) * per, int((splits == 1).sum()) * per],
                "columns": cols, "targets": tcols, "max_len": max((b - a for a, b in bounds),
                                                                    default=0),
                "feat": moments(feats[train]), "targ": moments(targs[train])}

    def finalize(self, scans, sources):
        self.columns, self.targets = scans[0]["columns"], scans[0]["targets"]
        for s, src in zip(scans, sources):
            if s["columns"] != self.columns or s["targets"] != self.targets:
                raise DataError(f"{src['uri']}: columns differ from {sources[0]['uri']}; "
                                "pass --columns / --target-columns")
        if sum(s["rows"][0] + s["rows"][1] for s in scans) == 0:
            longest = max(s["max_len"] for s in scans)
            need = self.opts["window"] + self.opts["horizon"]
            raise DataError(f"{sources[0]['uri']}: no window fits: the longest series has "
                            f"{longest} rows, a window needs {need} (window + horizon); use a "
                            "shorter --window")
        fm = combine_moments([s["feat"] for s in scans])
        tm = combine_moments([s["targ"] for s in scans])
        self.stats = {"features": stats_dict(self.columns, fm),
                      "targets": stats_dict(self.targets, tm),
                      "normalized": bool(self.opts["normalize"])}

    def block(self, idx, uri):
        cols, tcols, feats, targs, bounds = self._load(uri)
        starts, splits, number, _ = self._windows(idx, bounds)
        if self.opts["normalize"]:
            feats = (feats - self.stats["features"]["mean"]) / self.stats["features"]["std"]
            targs = (targs - self.stats["targets"]["mean"]) / self.stats["targets"]["std"]
        L, H, D, nt = self.opts["window"], self.opts["horizon"], len(cols), len(tcols)
        x = feats[starts[:, None] + np.arange(L)].astype(np.float32).reshape(-1)
        if self.head_at == "last":
            y = targs[starts[:, None] + L + np.arange(H)].astype(np.float32).reshape(-1)
            ylen = H * nt
        else:
            y = targs[starts[:, None] + H + np.arange(L)].astype(np.float32).reshape(-1)
            ylen = L * nt
        n = len(starts)
        return make_block("features", "regress", x_values=x,
                          x_offsets=np.arange(n + 1, dtype=np.int64) * L * D,
                          lengths=np.full(n, L, np.int32), src_file=idx, src_row=number,
                          y=y, y_offsets=np.arange(n + 1, dtype=np.int64) * ylen,
                          split=splits, seed=self.seed)

    def fields(self):
        return {"vocab_size": None, "input_size": len(self.columns),
                "output_size": self._out_width(len(self.targets)), "vocab": None,
                "stats": self.stats, "options": self.opts}


def ingest_series(sources, out: str, *, window: int, horizon: int = 1, stride: int = 1,
                  columns=None, target_columns=None, time_column=None, group_column=None,
                  head_at: str = "last", normalize: bool = True, val_fraction: float = 0.1,
                  split_by: str = "time", seed: int = 0, format: str = "auto", **run):
    """Ingest CSV/Parquet time series into windowed regression shards; return the Manifest."""
    job = SeriesJob(window=window, horizon=horizon, stride=stride, columns=columns,
                    target_columns=target_columns, time_column=time_column,
                    group_column=group_column, head_at=head_at, normalize=normalize,
                    val_fraction=val_fraction, split_by=split_by, seed=seed, format=format)
    return run_ingest(job, sources, out, seed=seed, **run)
