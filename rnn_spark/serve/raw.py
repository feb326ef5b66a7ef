"""``predict --input RAW...``: score raw text files with a language model's own vocabulary.

The files go through the text ingest's own reading and windowing (UTF-8 checks, ``seq_len + 1``-id
rows, the dataset's ``overlap``), but the ids come from the model's vocabulary: characters outside
it become ``<unk>`` (id 0), counted per file and reported. One task per input file, which writes
its rows in row groups of ``ROWS_PER_GROUP``; the output has the layout of ``predict --data``
(``split`` is "input", ``src_file`` indexes ``predictions.json``'s "inputs").
"""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.serve.common import check_out, engine_from_spec
from rnn_spark.data.shards import HashingWriter
from rnn_spark.serve.predict import PredictSummary, write_outputs
from rnn_spark.serve.score import schema, score_table

ROWS_PER_GROUP = 1024


class _LM:
    task = "lm"


def _text_job(opts: dict):
    from rnn_spark.ingest.text import TextJob
    return TextJob(seq_len=opts["seq_len"], vocab=opts["vocab"], overlap=opts["overlap"])


def raw_task(task: dict, shared: dict) -> dict:
    """Worker side: one raw file -> one part file (atomic, retry-safe)."""
    from rnn_spark.ingest.text import window_rows
    from rnn_spark.data.vocab import Vocab
    model = engine_from_spec(shared["spec"])
    vocab = Vocab.from_dict(shared["vocab"])
    job = _text_job(shared["opts"])
    codes = job._codes(task["uri"])
    ids = vocab.encode_codes(codes)
    unknown = int(np.count_nonzero(ids == 0)) if vocab.kind == "char" else 0
    starts, lengths = window_rows(len(ids), shared["opts"]["seq_len"], shared["opts"]["overlap"])
    rows = np.arange(len(starts), dtype=np.int64)
    n = 0
    with fs.atomic_write(task["path"], overwrite=True) as f:
        hw = HashingWriter(f)
        with pq.ParquetWriter(hw, schema("lm"), compression="zstd", write_statistics=False) as w:
            for a in range(0, len(starts), ROWS_PER_GROUP):
                sl = slice(a, a + ROWS_PER_GROUP)
                table = job._block(task["idx"], ids, starts[sl], lengths[sl], rows[sl],
                                   np.zeros(len(rows[sl]), np.int8)).drop_columns(["_h", "_split"])
                out = score_table(model, table, _LM, "input", batch_size=shared["batch_size"],
                                  top_k=shared["top_k"], tokens=vocab.tokens)
                w.write_table(out, row_group_size=max(1, out.num_rows))
                n += out.num_rows
    return {"path": fs.basename(task["path"]), "split": "input", "source": task["uri"], "rows": n,
            "bytes": hw.pos, "sha256": hw.sha.hexdigest(), "unknown_tokens": unknown}


def _options(tm, seq_len):
    opts = {"seq_len": seq_len, "overlap": 0, "vocab": tm.vocab.kind}
    if seq_len is None:
        try:
            from rnn_spark.data import read_manifest
            saved = read_manifest(tm.dataset).data.get("options") or {}
            opts.update(seq_len=saved["seq_len"], overlap=saved.get("overlap", 0))
        except (UserError, KeyError, TypeError):
            raise UserError(f"{tm.source.uri}: the training dataset ({tm.dataset}) is not readable "
                            "to take its sequence length from; pass --seq-len") from None
    if opts["seq_len"] < 2:
        raise UserError(f"--seq-len: {opts['seq_len']} is too short; use at least 2")
    return opts


def predict_raw(tm, inputs: list[str], out: str, *, runner=None, batch_size: int = 64,
                top_k: int = 5, seq_len: int | None = None, overwrite: bool = False) -> PredictSummary:
    if tm.task != "lm" or tm.vocab is None:
        raise UserError(f"{tm.source.uri}: --input takes raw text for language models; this "
                        f"model's task is {tm.task!r}: ingest the data with `rnn-spark ingest` "
                        "and pass --data")
    from rnn_spark.ingest.sources import resolve_sources
    sources = [s["uri"] for s in resolve_sources(inputs)]
    replace = check_out(out, overwrite, sources, kind="predictions directory")
    opts = _options(tm, seq_len)

    def make_tasks(tmp):
        return [{"path": fs.join(tmp, f"part-{i:05d}.parquet"), "uri": uri, "idx": i}
                for i, uri in enumerate(sources)]
    shared = {"spec": tm.spec(), "vocab": tm.vocab.to_dict(), "opts": opts,
              "batch_size": batch_size, "top_k": top_k}
    doc, files = write_outputs(tm, out, overwrite=replace, runner=runner, fn=raw_task,
                               make_tasks=make_tasks, shared=shared,
                               doc={"inputs": sources, "top_k": top_k, "seq_len": opts["seq_len"],
                                    "overlap": opts["overlap"]})
    return PredictSummary(out, tm.task, doc["rows"], len(files),
                          unknown_tokens=sum(f["unknown_tokens"] for f in files))
