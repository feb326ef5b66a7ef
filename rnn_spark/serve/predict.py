"""Batch scoring: a dataset's shards -> Parquet prediction parts + ``_predictions.json``, atomic.

One task per run of up to ``UNITS_PER_TASK`` row groups of one input shard; it streams them one row
group at a time (memory: one row group and its predictions) and writes ``part-NNNNN.parquet`` with
one output row group per input row group.
Everything goes into a hidden staging directory beside ``out`` that is renamed onto ``out`` only when
every task and the manifest are written (a failed run leaves nothing). The output is a function of
the model and the input only -- same bytes inline, on local Spark or on YARN.

``_predictions.json`` (named so that Spark and Arrow skip it: they read the directory as one
table): format, format_version, task, model, dataset, splits, top_k, schema (column
names), rows, and per file: path, split, source shard, rows, bytes, sha256, unknown_tokens.
Forecasts of a series dataset carry its group and time keys (rnn_spark/serve/series.py): the
driver reads the key columns of the dataset's source files once and broadcasts them. They are
written in order -- sorted by source file, group and time, across the splits -- through a sort in
the staging directory (rnn_spark/serve/ordered.py); their parts' entries name the splits they
hold ("train,val") and no source shard.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data.shards import HashingWriter
from rnn_spark.errors import UserError
from rnn_spark.serve.common import PREDICTIONS_MANIFEST, check_data, check_out, unit_reader
from rnn_spark.serve import ordered
from rnn_spark.serve.protocol import PartResult, PredictShared, PredictTask, SortRun
from rnn_spark.serve.score import schema, score_table
from rnn_spark.serve.series import dataset_indexes, key_columns

FORMAT = "rnn-spark-predictions"
UNITS_PER_TASK = 2  # row groups per task (and part file): a function of the input alone
MANIFEST = PREDICTIONS_MANIFEST


@dataclass(frozen=True)
class PredictSummary:
    out: str
    task: str
    rows: int
    files: int
    unknown_tokens: int = 0


def _scored(task: PredictTask, shared: PredictShared):
    """Each of the task's row groups scored (one in memory at a time)."""
    model = shared.model.engine()
    m = shared.manifest
    reader = unit_reader()
    try:
        for unit in task.units:
            table = reader.read_row_group(unit)
            if shared.ids is not None:
                table = shared.ids.apply(table)
            keys = None if shared.series is None else key_columns(
                shared.series, table["src_file"].to_numpy(), table["src_row"].to_numpy())
            yield score_table(model, table, m, task.split, batch_size=shared.batch_size,
                              top_k=shared.top_k, tokens=shared.tokens, keys=keys)
    finally:
        reader.close()


def predict_task(task: PredictTask, shared: PredictShared) -> PartResult | SortRun:
    """Worker side: score one input shard's units into ``task.path`` (atomic, retry-safe); a
    series dataset's forecasts into a sorted run instead (serve/ordered.py)."""
    keyed = shared.series is not None
    out_schema = schema(shared.manifest.task, keyed)
    if keyed:
        return ordered.write_run(task.path, list(_scored(task, shared)), out_schema, shared.series,
                         shared.part_rows)
    rows = 0
    with fs.atomic_write(task.path, overwrite=True) as f:
        hw = HashingWriter(f)
        with pq.ParquetWriter(hw, out_schema, compression="zstd", write_statistics=False) as w:
            for out in _scored(task, shared):
                w.write_table(out, row_group_size=max(1, out.num_rows))
                rows += out.num_rows
    return PartResult(fs.basename(task.path), task.split, task.source, rows, hw.pos,
                      hw.sha.hexdigest())


def _splits(m, split: str) -> list[str]:
    if split == "all":
        return list(m.splits)
    if split not in m.splits:
        raise UserError(f"{m.root}: no split {split!r} (has: {', '.join(m.splits)}); pass --split")
    return [split]


def write_outputs(tm, out: str, *, overwrite: bool, runner, fn, make_tasks, shared,
                  doc: dict, keyed: bool = False, then=None) -> tuple[dict, list[PartResult]]:
    """Run ``fn`` over ``make_tasks(staging_dir)`` and commit the files + _predictions.json to
    ``out`` (all or nothing); ``then(runner, staging_dir, results)``: the parts made from the
    task results (a forecast's sort). -> (manifest, per-part results)."""
    from rnn_spark.serve.common import make_runner
    own = runner is None
    runner = runner or make_runner("inline")
    try:
        with fs.staging_dir(out, overwrite=overwrite) as tmp:
            files = list(runner.map(fn, make_tasks(tmp), shared))
            if then is not None:
                files = then(runner, tmp, files)
            doc = {"format": FORMAT, "format_version": 1, "task": tm.task, "model": tm.source.uri,
                   **doc, "schema": schema(tm.task, keyed).names,
                   "rows": sum(f.rows for f in files), "files": [f.to_json() for f in files]}
            fs.write_text(fs.join(tmp, MANIFEST), json.dumps(doc, indent=1, sort_keys=True) + "\n")
    finally:
        if own:
            runner.close()
    return doc, files


def predict(tm, data: str, out: str, *, split: str = "all", runner=None, batch_size: int = 64,
            top_k: int = 5, overwrite: bool = False, remap_vocab: bool = False) -> PredictSummary:
    """Score ``data`` (a dataset URI or a Manifest) with ``tm``; write ``out`` (see the module doc;
    ``remap_vocab``: read a character vocabulary in another order token by token)."""
    from rnn_spark.data import Manifest, read_manifest
    if top_k < 1:
        raise UserError(f"--top-k: {top_k} must be >= 1")
    m = data if isinstance(data, Manifest) else read_manifest(data)
    ids = check_data(tm, m, data if isinstance(data, str) else m.root, remap_vocab)
    replace = check_out(out, overwrite, [m.root], kind="predictions directory")
    splits = _splits(m, split)

    series = dataset_indexes(m, tm.stats or m.stats) if tm.task == "regress" else None

    def make_tasks(tmp):
        tasks = []
        for s in splits:
            units = m.work_units(s)
            for sh in m.shards(s):
                mine = [u for u in units if u.shard == fs.join(m.root, sh["path"])]
                for a in range(0, max(len(mine), 1), UNITS_PER_TASK):
                    path = (fs.join(tmp, f"part-{len(tasks):05d}.parquet") if series is None
                            else ordered.run_path(tmp, len(tasks)))
                    tasks.append(PredictTask(path, s, sh["path"],
                                             tuple(mine[a:a + UNITS_PER_TASK])))
        return tasks
    shared = PredictShared(tm.spec(), m, batch_size, top_k,
                           tuple(tm.vocab.tokens) if tm.vocab is not None else None, series,
                           ordered.PART_ROWS if series is not None else 0, ids)
    then = None if series is None else (
        lambda r, tmp, runs: ordered.merge_runs(r, tmp, runs, series))
    doc, files = write_outputs(tm, out, overwrite=replace, runner=runner, fn=predict_task,
                               make_tasks=make_tasks, shared=shared, keyed=series is not None,
                               then=then,
                               doc={"dataset": m.root, "splits": splits,
                                    "top_k": top_k if tm.task == "lm" else None})
    return PredictSummary(out, tm.task, doc["rows"], len(files))
