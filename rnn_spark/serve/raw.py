"""``predict --input RAW...``: score raw files with the model's own vocabulary or statistics.

The files go through their ingest's own reading (rnn_spark/serve/raw_parse.py): text for language
models (characters outside the vocabulary become ``<unk>``, counted per file and reported),
labelled sequences (CSV / Parquet / JSON lines) for classifiers and labelled regression, series
CSV / Parquet for forecasters (keyed by group and time, and forecasting past the data's end). The
ingest options (sequence length, columns, window, ...) are the training dataset's, read from its
manifest; ``seq_len`` overrides a language model's sequence length or a forecaster's window.
One task per input file, which writes its rows in row groups of ``ROWS_PER_GROUP``; the output
has the layout of ``predict --data`` (``split`` is "input", ``src_file`` indexes
``_predictions.json``'s "inputs").
"""

from __future__ import annotations

import dataclasses

import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data import Manifest
from rnn_spark.data.shards import HashingWriter
from rnn_spark.errors import UserError
from rnn_spark.serve.common import check_out
from rnn_spark.serve.predict import PredictSummary, write_outputs
from rnn_spark.serve.protocol import PartResult, RawShared, RawTask
from rnn_spark.serve.raw_parse import (ROWS_PER_GROUP, Counter, LabelledOptions, TextOptions,
                                       labelled_blocks, series_blocks, text_blocks)
from rnn_spark.serve.score import schema, score_table
from rnn_spark.serve.series import SeriesOptions

__all__ = ["ROWS_PER_GROUP", "predict_raw", "raw_task"]


def raw_task(task: RawTask, shared: RawShared) -> PartResult:
    """Worker side: one raw file -> one part file (atomic, retry-safe)."""
    model = shared.model.engine()
    m, opts, counter = shared.manifest, shared.options, Counter()
    cfg = shared.model.config
    if isinstance(opts, TextOptions):
        blocks = text_blocks(opts, task.uri, task.idx, shared.vocab, counter)
    elif isinstance(opts, SeriesOptions):
        blocks = series_blocks(opts, task.uri, task.idx, m.stats)
    else:
        blocks = labelled_blocks(opts, task.uri, task.idx, cfg, m.stats)
    keyed = isinstance(opts, SeriesOptions)
    tokens = shared.vocab.tokens if shared.vocab is not None else None
    n = 0
    with fs.atomic_write(task.path, overwrite=True) as f:
        hw = HashingWriter(f)
        with pq.ParquetWriter(hw, schema(m.task, keyed), compression="zstd",
                              write_statistics=False) as w:
            for table, keys in blocks:
                out = score_table(model, table, m, "input", batch_size=shared.batch_size,
                                  top_k=shared.top_k, tokens=tokens, keys=keys)
                w.write_table(out, row_group_size=max(1, out.num_rows))
                n += out.num_rows
    return PartResult(fs.basename(task.path), "input", task.uri, n, hw.pos, hw.sha.hexdigest(),
                      counter.unknown)


def _training_options(tm) -> tuple[str | None, dict | None]:
    """(ingest type, options) of the dataset the model was trained on, or (None, None)."""
    from rnn_spark.data import read_manifest
    try:
        d = read_manifest(tm.dataset).data
    except (UserError, TypeError, AttributeError):
        return None, None
    return d.get("ingest"), d.get("options") or {}


def _options(tm, seq_len):
    """The ingest options raw files are read with (see the module doc)."""
    kind, saved = _training_options(tm)
    unreadable = (f"{tm.source.uri}: the training dataset ({tm.dataset}) is not readable to take "
                  "its {what} from; {fix}")
    if tm.task == "lm":
        if tm.vocab is None:
            raise UserError(f"{tm.source.uri}: --input reads raw text with the model's vocabulary; "
                            "this language model has none: ingest the data and pass --data")
        if seq_len is None and saved is None:
            raise UserError(unreadable.format(what="sequence length", fix="pass --seq-len"))
        opts = TextOptions(seq_len or saved["seq_len"], 0 if seq_len else saved.get("overlap", 0),
                           tm.vocab.kind)
        if opts.seq_len < 2:
            raise UserError(f"--seq-len: {opts.seq_len} is too short; use at least 2")
        return opts
    if kind == "series":
        opts = SeriesOptions.of(saved, tm.stats)
        if seq_len is not None:
            if seq_len < 2:
                raise UserError(f"--seq-len: {seq_len} is too short; use at least 2")
            opts = dataclasses.replace(opts, window=seq_len)
        return opts
    if kind == "labelled" or (kind is None and tm.task == "classify"):
        return LabelledOptions.of(saved or {})
    if kind is None:
        raise UserError(unreadable.format(
            what="ingest options (series or labelled, columns)",
            fix="make it reachable, or ingest the data with `rnn-spark ingest` and pass --data"))
    raise UserError(f"{tm.source.uri}: --input reads raw text (lm), labelled sequences "
                    f"(classify/regress) or series (forecast); this model was trained on "
                    f"{kind!r} data: ingest the files and pass --data")


def _model_manifest(tm) -> Manifest:
    """The model's sizes, task and statistics in the shape the batching code reads."""
    c = tm.config
    return Manifest({"task": c.task, "head_at": c.head_at,
                     "kind": "tokens" if c.token_input else "features",
                     "vocab_size": c.vocab_size, "input_size": c.input_size,
                     "output_size": c.output_size, "stats": tm.stats, "splits": {}},
                    tm.source.uri)


def predict_raw(tm, inputs: list[str], out: str, *, runner=None, batch_size: int = 64,
                top_k: int = 5, seq_len: int | None = None, fmt: str | None = None,
                overwrite: bool = False) -> PredictSummary:
    """Score the raw files ``inputs`` with ``tm`` into ``out`` (see the module doc); ``fmt``
    overrides the training dataset's file format (labelled and series inputs)."""
    from rnn_spark.ingest.sources import resolve_sources
    if top_k < 1:
        raise UserError(f"--top-k: {top_k} must be >= 1")
    sources = [s["uri"] for s in resolve_sources(inputs)]
    replace = check_out(out, overwrite, sources, kind="predictions directory")
    opts = _options(tm, seq_len)
    if fmt is not None:
        if isinstance(opts, TextOptions):
            raise UserError("--format: language models read raw text; drop --format")
        opts = dataclasses.replace(opts, format=fmt)

    def make_tasks(tmp):
        return [RawTask(fs.join(tmp, f"part-{i:05d}.parquet"), uri, i)
                for i, uri in enumerate(sources)]
    shared = RawShared(tm.spec(), _model_manifest(tm), batch_size, top_k,
                       tm.vocab if tm.task == "lm" else None, opts)
    doc = {"inputs": sources, "top_k": top_k if tm.task == "lm" else None,
           "options": {"type": type(opts).__name__, **dataclasses.asdict(opts)}}
    if isinstance(opts, TextOptions):
        doc.update(seq_len=opts.seq_len, overlap=opts.overlap)
    doc, files = write_outputs(tm, out, overwrite=replace, runner=runner, fn=raw_task,
                               make_tasks=make_tasks, shared=shared, doc=doc,
                               keyed=isinstance(opts, SeriesOptions))
    return PredictSummary(out, tm.task, doc["rows"], len(files),
                          unknown_tokens=sum(f.unknown_tokens for f in files))
