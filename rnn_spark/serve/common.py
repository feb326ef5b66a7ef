"""Pieces every model verb shares: model/data compatibility, runners, reading one work unit,
rebuilding the engine on a worker, JSON without NaN."""

from __future__ import annotations

import math
import sys

import numpy as np
from rnn_spark.data import Manifest, WorkUnit, read_manifest
from rnn_spark.data.compat import IdMap, mismatch
from rnn_spark.engine import ModelConfig
from rnn_spark.errors import UserError
from rnn_spark.fs.kinds import PREDICTIONS_MANIFEST  # noqa: F401  (the side file's one name)
from rnn_spark.spark_master import DEFAULT_MASTER


def check_data(tm, m: Manifest, where: str, remap_vocab: bool = False) -> IdMap | None:
    """A dataset the model can read: same task, input kind and sizes, and the same vocabulary and
    normalisation statistics, value by value (rnn_spark.data.compat). One-line UserError.
    ``remap_vocab``: a character vocabulary in another order (or with other characters) is read
    token by token instead -> the IdMap to apply to each row group (None: the ids are the model's)."""
    cfg: ModelConfig = tm.config
    trained_on = f" ({tm.dataset})" if getattr(tm, "dataset", None) else ""
    hint = (f"use the dataset the model was trained on{trained_on} or one ingested with the same "
            f"options from the same data")

    chars = cfg.task == "lm" and "char" == getattr(tm.vocab, "kind", None) == \
        (m.vocab_info or {}).get("type")
    remap = ", or read it token by token: --remap-vocab" if chars else ""

    def bad(what, model_v, data_v):
        tail = remap if what == "vocabulary size" else ""
        raise UserError(f"{where}: {what} is {data_v!r}, the model expects {model_v!r}; "
                        f"{hint}{tail}")
    if m.task != cfg.task:
        bad("task", cfg.task, m.task)
    if (m.kind == "tokens") != cfg.token_input:
        bad("input kind", "tokens" if cfg.token_input else "features", m.kind)
    ids = _vocab_map(tm, m, where) if remap_vocab else None
    if cfg.token_input and m.vocab_size != cfg.vocab_size and ids is None:
        bad("vocabulary size", cfg.vocab_size, m.vocab_size)
    if not cfg.token_input and m.input_size != cfg.input_size:
        bad("input size", cfg.input_size, m.input_size)
    if m.output_size != cfg.output_size and ids is None:
        bad("output size", cfg.output_size, m.output_size)
    if m.head_at != cfg.head_at:
        bad("head_at", cfg.head_at, m.head_at)
    differs = mismatch(None if ids is not None else tm.vocab, tm.stats, m.vocab_info, m.stats,
                       where, model_steps=getattr(tm, "steps", None), data_steps=m.steps_info)
    if differs:
        raw = "raw text with the model's vocabulary" if tm.vocab is not None else \
            "raw files with the model's statistics"
        tail = remap if "vocabulary" in differs else ""
        raise UserError(f"{differs}; {hint}{tail}, or score {raw}: rnn-spark predict --input")
    return ids


def _vocab_map(tm, m: Manifest, where: str) -> IdMap | None:
    """--remap-vocab: the dataset's ids in the model's numbering (None when they already are);
    characters the model lacks are read as its <unk>, said on stderr."""
    mv, dv = tm.vocab, m.tokenizer()
    if m.task != "lm" or mv is None or dv is None or "byte" in (mv.kind, dv.kind):
        raise UserError(f"--remap-vocab: maps one character vocabulary onto another; "
                        f"{where} and the model are not both language models with character "
                        f"vocabularies: drop --remap-vocab")
    if mv.tokens == dv.tokens:
        return None
    ids = IdMap.between(mv, dv)
    if ids.unknown:
        shown = ", ".join(map(repr, ids.unknown[:5])) + (", ..." if len(ids.unknown) > 5 else "")
        print(f"rnn-spark: --remap-vocab: {len(ids.unknown)} of the {dv.size - 1} characters of "
              f"{where} are not in the model's vocabulary ({shown}) and are read as <unk>",
              file=sys.stderr, flush=True)
    return ids


def open_dataset(tm, data: str, split: str,
                 remap_vocab: bool = False) -> tuple[Manifest, list[WorkUnit], IdMap | None]:
    m = read_manifest(data)
    ids = check_data(tm, m, data, remap_vocab)
    if split not in m.splits:
        raise UserError(f"{data}: no split {split!r} (has: {', '.join(m.splits) or 'none'}); "
                        "pass --split")
    return m, m.work_units(split), ids


def make_runner(runner: str, master: str = DEFAULT_MASTER, workers: int = 2, conf: dict | None = None,
                app_name: str = "rnn-spark-model"):
    from rnn_spark.runners.inline import InlineRunner
    if runner == "inline":
        return InlineRunner(workers, 1)
    if runner != "spark":
        raise UserError(f"--runner: {runner!r} is not one of inline, spark")
    from rnn_spark.runners.spark import SparkRunner
    return SparkRunner(master, app_name, 1, conf or {})


def denorm(stats, part: str, width: int):
    """(mean, std) per output column of a normalised part, or None when it was not normalised."""
    if not stats or not stats.get("normalized") or part not in stats:
        return None
    mean, std = np.asarray(stats[part]["mean"]), np.asarray(stats[part]["std"])
    idx = np.arange(width) % len(mean)
    return mean[idx], std[idx]


def unit_reader():
    """The data layer's ShardReader without a cache: each work unit is read once, streamed."""
    from rnn_spark.data import ShardReader
    return ShardReader(cache_row_groups=0)


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


def check_out(out: str, overwrite: bool, inputs=(), kind: str = "predictions directory") -> bool:
    """The ``--overwrite`` rule (rnn_spark.fs.guard: never an input, never inside or in place of
    anything rnn-spark made but an output of the same ``kind`` -- rnn_spark.fs.kinds' PREDICTIONS
    or EXPORT) plus an ``out`` that cannot be created, checked before any work is done (one line;
    nothing is written). -> whether an existing ``out`` is to be replaced (for fs.staging_dir)."""
    import os

    from rnn_spark import fs
    from rnn_spark.fs.guard import check_output
    replace = check_output(out, list(inputs), overwrite=overwrite, kind=kind)
    if fs.exists(out):
        return replace
    parent = fs.parent(out)
    while parent and not fs.exists(parent):
        up = fs.parent(parent)
        if up == parent:
            break
        parent = up
    if parent and fs.exists(parent) and not fs.isdir(parent):
        raise fs.FsError(out, f"cannot be created: {parent} is a file")
    if fs.scheme(out) == "file" and parent:
        base = fs.split(parent)[2] if "://" in parent else parent
        if os.path.isdir(base) and not os.access(base, os.W_OK | os.X_OK):
            raise fs.FsPermission(out, f"cannot be created: {base} is not writable")
    return replace
