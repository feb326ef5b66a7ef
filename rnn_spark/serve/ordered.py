"""Forecasts of a series dataset in order: ``predict --data`` writes them sorted by source file,
group and time -- the series ingest's window numbering (rnn_spark/serve/series.py) -- whatever
order the rows have in the shards (the ingest routes them there by hash).

The sort goes through the staging directory in two rounds of pure tasks, so the bytes are the
same inline and on Spark, whatever the number of workers:

1. score (serve/predict.py): each task sorts its predictions by key and writes them to
   ``_runs/run-NNNNN.parquet``, one row group per output part they fall in. The parts are fixed
   ranges of ``PART_ROWS`` window numbers (numbered across the dataset's source files, in order),
   known on the driver before anything runs;
2. merge: one task per part that has rows reads that part's row group of every run, sorts them
   together and writes ``part-NNNNN.parquet`` in row groups of ``ROW_GROUP_ROWS``.

The runs are deleted before the directory is committed. A task holds its <= 2 input row groups'
predictions (1) or one part (2) in memory.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data.shards import HashingWriter
from rnn_spark.serve.protocol import MergeShared, MergeTask, PartResult, SortRun

PART_ROWS = 1 << 16       # window numbers per output part
ROW_GROUP_ROWS = 1 << 13  # rows per row group of an output part
RUNS = "_runs"            # inside the staging directory, gone before the commit


def run_path(tmp: str, i: int) -> str:
    return fs.join(tmp, RUNS, f"run-{i:05d}.parquet")


def offsets(indexes) -> tuple[int, ...]:
    """Per source file, the window numbers of the files before it."""
    counts = [ix.windows for ix in indexes]
    return tuple(int(v) for v in np.cumsum([0] + counts[:-1]))


def _in_order(tables: list[pa.Table], schema: pa.Schema, offs) -> tuple[pa.Table, np.ndarray]:
    """The rows of ``tables`` sorted by their place in the dataset, and those places."""
    t = pa.concat_tables(tables).combine_chunks() if tables else schema.empty_table()
    pos = np.asarray(offs, np.int64)[t["src_file"].to_numpy()] + t["src_row"].to_numpy()
    order = np.argsort(pos, kind="stable")
    return t.take(pa.array(order)), pos[order]


def _write(path: str, pieces) -> HashingWriter:
    """Write ``(table, row_group_size)`` pieces to ``path`` (atomic, retry-safe)."""
    with fs.atomic_write(path, overwrite=True) as f:
        hw = HashingWriter(f)
        with pq.ParquetWriter(hw, pieces[0][0].schema, compression="zstd",
                              write_statistics=False) as w:
            for table, size in pieces:
                if table.num_rows:
                    w.write_table(table, row_group_size=size)
    return hw


def write_run(path: str, tables: list[pa.Table], schema: pa.Schema, indexes,
              part_rows: int) -> SortRun:
    """Worker side (step 1): one scoring task's predictions as a sorted run."""
    t, pos = _in_order(tables, schema, offsets(indexes))
    part = pos // part_rows
    bounds = [0, *(np.flatnonzero(np.diff(part)) + 1).tolist(), t.num_rows]
    pieces = [(t.slice(a, b - a), b - a) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    _write(path, pieces or [(t, 1)])
    return SortRun(path, tuple(int(part[a]) for a, b in zip(bounds[:-1], bounds[1:]) if b > a))


def merge_task(task: MergeTask, shared: MergeShared) -> PartResult:
    """Worker side (step 2): one output part from its row group of every run."""
    tables = []
    for run, group in task.pieces:
        with fs.open_read(run) as f:
            tables.append(pq.ParquetFile(f).read_row_group(group))
    t, _ = _in_order(tables, tables[0].schema, shared.offsets)
    hw = _write(task.path, [(t, shared.row_group_rows)])
    splits = ",".join(dict.fromkeys(t["split"].to_pylist()))
    return PartResult(fs.basename(task.path), splits, None, t.num_rows, hw.pos,
                      hw.sha.hexdigest())


def merge_runs(runner, tmp: str, runs: list[SortRun], indexes) -> list[PartResult]:
    """Driver side (step 2): the parts, in order, from the runs; the runs are then deleted."""
    by_part: dict[int, list[tuple[str, int]]] = {}
    for run in runs:
        for group, part in enumerate(run.parts):
            by_part.setdefault(part, []).append((run.path, group))
    tasks = [MergeTask(fs.join(tmp, f"part-{i:05d}.parquet"), tuple(by_part[p]))
             for i, p in enumerate(sorted(by_part))]
    shared = MergeShared(offsets(indexes), ROW_GROUP_ROWS)
    files = list(runner.map(merge_task, tasks, shared)) if tasks else []
    fs.rm(fs.join(tmp, RUNS), recursive=True, missing_ok=True)
    return files
