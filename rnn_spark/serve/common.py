"""Pieces every model verb shares: model/data compatibility, runners, reading one work unit,
rebuilding the engine on a worker, JSON without NaN."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data import Manifest, WorkUnit, read_manifest
from rnn_spark.engine import Model, ModelConfig
from rnn_spark.errors import DataError, UserError


def check_data(cfg: ModelConfig, m: Manifest, where: str) -> None:
    """A dataset the model can read: same task, input kind and sizes (one-line UserError)."""
    def bad(what, model_v, data_v, hint="use the dataset the model was trained on (or one "
                                         "ingested with the same options)"):
        raise UserError(f"{where}: {what} is {data_v!r}, the model expects {model_v!r}; {hint}")
    if m.task != cfg.task:
        bad("task", cfg.task, m.task)
    if (m.kind == "tokens") != cfg.token_input:
        bad("input kind", "tokens" if cfg.token_input else "features", m.kind)
    if cfg.token_input and m.vocab_size != cfg.vocab_size:
        bad("vocabulary size", cfg.vocab_size, m.vocab_size)
    if not cfg.token_input and m.input_size != cfg.input_size:
        bad("input size", cfg.input_size, m.input_size)
    if m.output_size != cfg.output_size:
        bad("output size", cfg.output_size, m.output_size)
    if m.head_at != cfg.head_at:
        bad("head_at", cfg.head_at, m.head_at)


def open_dataset(cfg: ModelConfig, data: str, split: str) -> tuple[Manifest, list[WorkUnit]]:
    m = read_manifest(data)
    check_data(cfg, m, data)
    if split not in m.splits:
        raise UserError(f"{data}: no split {split!r} (has: {', '.join(m.splits) or 'none'}); "
                        "pass --split")
    return m, m.work_units(split)


def make_runner(runner: str, master: str = "local[2]", workers: int = 2, conf: dict | None = None,
                app_name: str = "rnn-spark-model"):
    from rnn_spark.runners.inline import InlineRunner
    if runner == "inline":
        return InlineRunner(workers, 1)
    if runner != "spark":
        raise UserError(f"--runner: {runner!r} is not one of inline, spark")
    from rnn_spark.runners.spark import SparkRunner
    return SparkRunner(master, app_name, 1, conf or {})


def engine_from_spec(spec: dict) -> Model:
    model = Model(ModelConfig.from_dict(spec["model"]), seed=0)
    model.set_flat(spec["flat"])
    return model


def manifest_of(shared: dict) -> Manifest:
    data, root = shared["manifest"]
    return Manifest(data, root)


class UnitReader:
    """Reads work units one row group at a time; at most one shard file open."""

    def __init__(self):
        self.uri, self.file, self.pf = None, None, None

    def read(self, unit: WorkUnit) -> pa.Table:
        if unit.shard != self.uri:
            self.close()
            try:
                self.file = fs.open_read(unit.shard)
                self.pf = pq.ParquetFile(self.file)
            except fs.FsNotFound:
                raise DataError(f"{unit.shard}: shard listed in the manifest is missing") from None
            except (pa.ArrowException, OSError) as err:
                self.close()
                raise DataError(f"{unit.shard}: not a readable Parquet file ({err})") from None
            self.uri = unit.shard
        md = self.pf.metadata
        if unit.row_group >= md.num_row_groups or md.row_group(unit.row_group).num_rows != unit.rows:
            raise DataError(f"{unit.shard}: row group {unit.row_group} does not match the "
                            "manifest (shard replaced?); re-run the ingest")
        return self.pf.read_row_group(unit.row_group)

    def close(self):
        if self.file is not None:
            self.file.close()
        self.uri, self.file, self.pf = None, None, None


def chunk(items: list, n: int) -> list[list]:
    """``items`` cut into at most ``n`` contiguous, nearly equal, non-empty parts (in order)."""
    n = max(1, min(n, len(items)))
    bounds = np.linspace(0, len(items), n + 1).round().astype(int)
    return [items[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def finite(v):
    """JSON-safe: NaN / inf become None, numpy scalars become Python numbers (recursively)."""
    if isinstance(v, dict):
        return {k: finite(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [finite(x) for x in v]
    if isinstance(v, np.ndarray):
        return finite(v.tolist())
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


def log_softmax64(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def check_out(out: str, overwrite: bool) -> None:
    """Refuse an existing ``out`` without ``overwrite`` and an ``out`` that cannot be created,
    before any work is done (one line; nothing is written)."""
    from rnn_spark import fs
    if fs.exists(out):
        if not overwrite:
            raise fs.FsExists(out, "already exists; pass --overwrite to replace it")
        return
    parent = fs.parent(out)
    while parent and not fs.exists(parent):
        up = fs.parent(parent)
        if up == parent:
            break
        parent = up
    if parent and fs.exists(parent) and not fs.isdir(parent):
        raise fs.FsError(out, f"cannot be created: {parent} is a file")
    if fs.scheme(out) == "file":
        import os
        local = fs.split(out)[2] if "://" in out else out
        base = parent if parent else os.path.dirname(os.path.abspath(local)) or "."
        base = fs.split(base)[2] if "://" in base else base
        if os.path.isdir(base) and not os.access(base, os.W_OK | os.X_OK):
            raise fs.FsPermission(out, f"cannot be created: {base} is not writable")
