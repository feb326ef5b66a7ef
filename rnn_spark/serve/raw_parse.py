"""Raw input files -> blocks of shard rows, through each ingest's own reading, with the model's own
vocabulary or statistics (worker side of ``predict --input``).

* text (lm):         the text ingest's UTF-8 reading and windowing (``seq_len + 1``-id rows,
                     ``overlap``; bpe/word: segment by segment, with the model's tokenizer);
                     characters (word: words) outside the model's vocabulary become ``<unk>``
                     (id 0) and are counted;
* labelled (classify, labelled regress): the labelled ingest's cell parsing (CSV, Parquet, JSON
                     lines); the label column is optional (``label`` -1 / NaN targets without it);
                     token ids must lie in the model's vocabulary, features are normalised with
                     the model's statistics;
* series (forecast): the series ingest's reading and sort, windows every ``stride`` rows of each
                     series -- also the last ones, whose targets lie past the end of the data
                     (``target`` NaN there): the forecasts of the future -- keyed by group and time.

``blocks(...)`` yields (table, key columns or None); ``src_row`` numbers rows/windows per file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rnn_spark.data.schema import make_block
from rnn_spark.errors import DataError
from rnn_spark.serve.series import SeriesOptions, read_index

ROWS_PER_GROUP = 1024


@dataclass(frozen=True)
class TextOptions:
    seq_len: int
    overlap: int
    vocab_kind: str


@dataclass(frozen=True)
class LabelledOptions:
    sequence_column: str
    label_column: str
    format: str

    @classmethod
    def of(cls, opts: dict) -> "LabelledOptions":
        return cls(opts.get("sequence_column", "sequence"), opts.get("label_column", "label"),
                   opts.get("format", "auto"))


def _private(table: pa.Table) -> pa.Table:
    return table.drop_columns(["_h", "_split"])


class Counter:
    """Characters that became <unk> in one file."""

    def __init__(self):
        self.unknown = 0


def text_blocks(opts: TextOptions, uri: str, idx: int, vocab, counter: Counter):
    from rnn_spark.data.tokenizer import SUBWORD_KINDS
    from rnn_spark.ingest.text import TextJob, window_rows
    job = TextJob(seq_len=opts.seq_len, vocab=opts.vocab_kind, overlap=opts.overlap,
                  vocab_size=vocab.size if opts.vocab_kind in SUBWORD_KINDS else None)
    if job.subword:  # segment by segment, as the ingest did
        ids, starts, lengths, _ = job.token_rows(idx, uri, vocab)
    else:
        ids = vocab.encode_codes(job._codes(uri))
        starts, lengths = window_rows(len(ids), opts.seq_len, opts.overlap)
    counter.unknown = 0 if vocab.unk_id is None else int(np.count_nonzero(ids == vocab.unk_id))
    rows = np.arange(len(starts), dtype=np.int64)
    for a in range(0, len(starts), ROWS_PER_GROUP):
        sl = slice(a, a + ROWS_PER_GROUP)
        yield _private(job._block(idx, ids, starts[sl], lengths[sl], rows[sl],
                                  np.zeros(len(rows[sl]), np.int8))), None


def _labelled_cells(opts: LabelledOptions, uri: str):
    from rnn_spark.ingest.tables import column, detect_format, read_table, where
    fmt = detect_format(uri, opts.format)
    sc, lc = opts.sequence_column, opts.label_column
    table = read_table(uri, fmt, string_columns=(sc, lc))
    if fmt == "jsonl":
        cells = [(r.get(sc), r.get(lc), r["__line"]) for r in table]
    else:
        labels = table[lc].to_pylist() if lc in table.column_names else [None] * table.num_rows
        cells = zip(column(table, sc, uri).to_pylist(), labels, range(table.num_rows))
    for seq, lab, r in cells:
        yield seq, lab, where(uri, fmt, r)


def _steps(seq, loc: str, sc: str, cfg) -> np.ndarray:
    from rnn_spark.ingest.labelled import _parse_cell
    if seq is None:
        raise DataError(f"{loc}: field {sc!r} is missing; fill or drop the row")
    try:
        steps = _parse_cell(seq)
    except (ValueError, TypeError) as err:
        raise DataError(f"{loc}: field {sc!r} is not a sequence of numbers ({err})") from None
    x = np.array(steps, dtype=np.float64) if steps else np.zeros((0, 1))
    if len(steps) < 1 or x.ndim != 2:
        raise DataError(f"{loc}: field {sc!r} needs at least one step of equal widths")
    if not np.isfinite(x).all():
        raise DataError(f"{loc}: field {sc!r} holds NaN/Inf; fix or drop the row")
    if cfg.token_input:
        bad = (x.shape[1] != 1) or not (x == np.round(x)).all() or x.min() < 0 \
            or x.max() >= cfg.vocab_size
        if bad:
            raise DataError(f"{loc}: field {sc!r} must hold one token id in [0, {cfg.vocab_size}) "
                            "per step (the model's vocabulary); fix the row")
    elif x.shape[1] != cfg.input_size:
        raise DataError(f"{loc}: field {sc!r} has {x.shape[1]} feature(s) per step, the model "
                        f"reads {cfg.input_size}; fix the row")
    return x


def labelled_blocks(opts: LabelledOptions, uri: str, idx: int, cfg, stats):
    from rnn_spark.ingest.labelled import LabelledJob
    job = LabelledJob(task=cfg.task, num_classes=cfg.output_size if cfg.task == "classify"
                      else None)
    norm = stats if stats and stats.get("normalized") else None
    xs, ys = [], []
    for seq, lab, loc in _labelled_cells(opts, uri):
        x = _steps(seq, loc, opts.sequence_column, cfg)
        if lab is None or lab == "":
            y = -1 if cfg.task == "classify" else np.full(cfg.output_size, np.nan)
        else:
            y = job._label(lab, loc, opts.label_column)
            if cfg.task == "regress" and len(y) != cfg.output_size:
                raise DataError(f"{loc}: target has {len(y)} value(s), the model predicts "
                                f"{cfg.output_size}; fix the row")
        xs.append(x)
        ys.append(y)
    if not xs:
        raise DataError(f"{uri}: no rows; remove the empty file from the inputs")
    for a in range(0, len(xs), ROWS_PER_GROUP):
        bx, by = xs[a:a + ROWS_PER_GROUP], ys[a:a + ROWS_PER_GROUP]
        lengths = np.array([len(x) for x in bx], dtype=np.int64)
        if cfg.token_input:
            xv, width = np.concatenate([x[:, 0] for x in bx]).astype(np.int64), 1
        else:
            xv = np.concatenate(bx)
            if norm and "features" in norm:
                xv = (xv - norm["features"]["mean"]) / norm["features"]["std"]
            xv, width = xv.astype(np.float32).reshape(-1), cfg.input_size
        if cfg.task == "classify":
            kw = {"y": np.array(by, dtype=np.int32)}
        else:
            y = np.stack([np.asarray(v, np.float64) for v in by])
            if norm and "targets" in norm:
                y = (y - norm["targets"]["mean"]) / norm["targets"]["std"]
            kw = {"y": y.astype(np.float32).reshape(-1),
                  "y_offsets": np.arange(len(bx) + 1, dtype=np.int64) * cfg.output_size}
        yield _private(make_block("tokens" if cfg.token_input else "features", cfg.task,
                                  x_values=xv, x_offsets=np.concatenate([[0], np.cumsum(
                                      lengths * width)]), lengths=lengths, src_file=idx,
                                  src_row=np.arange(a, a + len(bx)), **kw)), None


def series_blocks(opts: SeriesOptions, uri: str, idx: int, stats):
    from rnn_spark.serve.series import key_columns
    _, _, feats, targs, _ = opts.job()._load(uri)
    if stats and stats.get("normalized"):
        feats = (feats - stats["features"]["mean"]) / stats["features"]["std"]
        targs = (targs - stats["targets"]["mean"]) / stats["targets"]["std"]
    index = read_index(opts, uri, opts.window, ahead=opts.horizon)
    if index.windows == 0:
        raise DataError(f"{uri}: no series has the {opts.window} rows a window needs; pass "
                        "longer series (or a shorter --seq-len)")
    L, D, nt = opts.window, feats.shape[1], targs.shape[1]
    pad = np.concatenate([targs, np.full((opts.lead + opts.steps, nt), np.nan)])
    for a in range(0, index.windows, ROWS_PER_GROUP):
        numbers = np.arange(a, min(a + ROWS_PER_GROUP, index.windows), dtype=np.int64)
        e, start = index.locate(numbers)
        x = feats[start[:, None] + np.arange(L)].astype(np.float32).reshape(-1)
        rows = start[:, None] + opts.lead + np.arange(opts.steps)
        past = rows >= index.ends[e][:, None]       # beyond the series: no target
        y = pad[np.where(past, len(targs), rows)]    # NaN rows of the padding
        n = len(numbers)
        table = make_block("features", "regress", x_values=x,
                           x_offsets=np.arange(n + 1, dtype=np.int64) * L * D,
                           lengths=np.full(n, L, np.int32), src_file=idx, src_row=numbers,
                           y=y.astype(np.float32).reshape(-1),
                           y_offsets=np.arange(n + 1, dtype=np.int64) * opts.steps * nt)
        yield _private(table), key_columns((index,), np.zeros(n, np.int64), numbers)
