"""Scoring one row group of shard rows -> one Arrow table of predictions (worker side, pure function).

Output columns, every task: ``split`` (string), ``src_file`` (int32), ``src_row`` (int64) -- the
input row's key (source file index in the dataset manifest, row/window number in that file) --
and ``length`` (steps). Then per task:

* lm: ``next_ids`` / ``next_tokens`` / ``next_probs`` -- the top-k next tokens after the whole row
  (probabilities, descending) -- and ``loss`` (mean nats per predicted token of the row), ``tokens``;
* classify: ``label`` (the stored label), ``pred`` (argmax), ``probs`` (softmax per class);
* regress: ``pred`` and ``target`` in original units (normalisation undone): ``output_size``
  values (last-step head) or ``length * output_size`` step-major (every-step head); forecasts of
  series data then ``group``, ``time_index``, ``time`` (rnn_spark/serve/series.py).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rnn_spark.data.batching import table_minibatches
from rnn_spark.serve.common import denorm, log_softmax64


def schema(task: str, keyed: bool = False) -> pa.Schema:
    """The output columns; ``keyed``: a series forecast's key columns after them (serve/series.py)."""
    f = [pa.field("split", pa.string()), pa.field("src_file", pa.int32()),
         pa.field("src_row", pa.int64()), pa.field("length", pa.int32())]
    if task == "lm":
        f += [pa.field("next_ids", pa.list_(pa.int32())), pa.field("next_tokens", pa.list_(pa.string())),
              pa.field("next_probs", pa.list_(pa.float32())), pa.field("loss", pa.float64()),
              pa.field("tokens", pa.int32())]
    elif task == "classify":
        f += [pa.field("label", pa.int32()), pa.field("pred", pa.int32()),
              pa.field("probs", pa.list_(pa.float32()))]
    else:
        f += [pa.field("pred", pa.list_(pa.float32())), pa.field("target", pa.list_(pa.float32()))]
    if keyed:
        from rnn_spark.serve.series import KEY_FIELDS
        f += list(KEY_FIELDS)
    return pa.schema(f)


def _lists(rows: list[np.ndarray], typ) -> pa.Array:
    offs = np.zeros(len(rows) + 1, np.int32)
    np.cumsum([len(r) for r in rows], out=offs[1:])
    vals = np.concatenate(rows) if rows else np.zeros(0)
    return pa.ListArray.from_arrays(pa.array(offs), pa.array(vals, type=typ))


def _token_nll(logits: np.ndarray, x: np.ndarray) -> np.ndarray:
    """-log p(x[:, t+1] | x[:, :t+1]) per step [B, T-1], with one [B, T-1, V] temporary at a time."""
    z = logits[:, :-1]
    if z.shape[1] == 0:
        return np.zeros(z.shape[:2])
    zt = np.take_along_axis(z, x[:, 1:, None].astype(np.intp), axis=2)[..., 0].astype(np.float64)
    mx = z.max(axis=2)
    d = z - mx[..., None]
    lse = np.log(np.exp(d, dtype=np.float64).sum(axis=2))
    return mx.astype(np.float64) + lse - zt


def _lm(model, table, batch_size, top_k, tokens):
    """Whole rows go in (``length`` ids): steps 0..n-2 score the row, step n-1 the next token."""
    lens = table["length"].to_numpy().astype(np.int64)
    xcol = table["x"].combine_chunks()
    xv, xo = xcol.values.to_numpy(), xcol.offsets.to_numpy()
    k = min(top_k, model.cfg.vocab_size)
    ids, probs, loss = [], [], []
    for a in range(0, len(lens), batch_size):
        n = lens[a:a + batch_size]
        B, T = len(n), int(n.max())
        x = np.zeros((B, T), np.int32)
        for b in range(B):
            x[b, :n[b]] = xv[xo[a + b]:xo[a + b] + n[b]]
        mask = (np.arange(T)[None] < n[:, None])
        logits, _ = model.forward(x, mask.astype(model.dtype))
        last = logits[np.arange(B), n - 1].astype(np.float64)
        p = np.exp(log_softmax64(last))
        order = np.argsort(-p, axis=1, kind="stable")[:, :k]
        ids.append(order)
        probs.append(np.take_along_axis(p, order, axis=1))
        nll = _token_nll(logits, x)
        valid = mask[:, 1:]
        cnt = valid.sum(axis=1)
        loss.append(np.divide((nll * valid).sum(axis=1), cnt, out=np.full(B, np.nan), where=cnt > 0))
    ids = np.concatenate(ids) if ids else np.zeros((0, k), np.int64)
    probs = np.concatenate(probs) if probs else np.zeros((0, k))
    toks = [[tokens[i] for i in row] for row in ids.tolist()] if tokens is not None else \
        [[str(i) for i in row] for row in ids.tolist()]
    return {"next_ids": _lists(list(ids.astype(np.int32)), pa.int32()),
            "next_tokens": pa.array(toks, type=pa.list_(pa.string())),
            "next_probs": _lists(list(probs.astype(np.float32)), pa.float32()),
            "loss": pa.array(np.concatenate(loss) if loss else np.zeros(0)),
            "tokens": pa.array(np.maximum(lens - 1, 0).astype(np.int32))}


def _classify(model, table, manifest, batch_size):
    preds, probs, labels = [], [], []
    for mb in table_minibatches(table, manifest, batch_size, model.dtype, False):
        logits, _ = model.forward(mb.inputs, mb.mask)
        p = np.exp(log_softmax64(logits))
        preds.append(p.argmax(axis=1))
        probs.extend(p.astype(np.float32))
        labels.append(mb.targets)
    cat = (lambda xs: np.concatenate(xs)) if preds else (lambda xs: np.zeros(0))
    return {"label": pa.array(cat(labels).astype(np.int32)), "pred": pa.array(cat(preds).astype(np.int32)),
            "probs": _lists(probs, pa.float32())}


def _regress(model, table, manifest, batch_size, stats):
    preds, targs = [], []
    O = model.cfg.output_size
    d = denorm(stats, "targets", O)
    for mb in table_minibatches(table, manifest, batch_size, model.dtype, False):
        out, _ = model.forward(mb.inputs, mb.mask)
        out, tg = out.astype(np.float64), mb.targets.astype(np.float64)
        if d is not None:
            out, tg = out * d[1] + d[0], tg * d[1] + d[0]
        for b in range(len(out)):
            n = int(mb.lengths[b])
            sl = (slice(None),) if out.ndim == 2 else (slice(0, n),)
            preds.append(out[b][sl].reshape(-1).astype(np.float32))
            targs.append(tg[b][sl].reshape(-1).astype(np.float32))
    return {"pred": _lists(preds, pa.float32()), "target": _lists(targs, pa.float32())}


def score_table(model, table: pa.Table, manifest, split: str, *, batch_size: int, top_k: int,
                tokens, keys: dict | None = None) -> pa.Table:
    """Predictions of ``table``'s rows; ``keys``: a forecast's key columns (serve/series.py)."""
    n = table.num_rows
    cols = {"split": pa.array([split] * n, type=pa.string()),
            "src_file": table["src_file"].combine_chunks().cast(pa.int32()),
            "src_row": table["src_row"].combine_chunks().cast(pa.int64()),
            "length": table["length"].combine_chunks().cast(pa.int32())}
    if manifest.task == "lm":
        cols.update(_lm(model, table, batch_size, top_k, tokens))
    elif manifest.task == "classify":
        cols.update(_classify(model, table, manifest, batch_size))
    else:
        cols.update(_regress(model, table, manifest, batch_size, manifest.stats))
    cols.update(keys or {})
    return pa.table(cols, schema=schema(manifest.task, keys is not None))
