"""Measure a trained model on a dataset split, inline or as a Spark job.

Tasks are contiguous runs of work units; each returns one :class:`Sums` per unit, and the driver
adds them in unit order, so the numbers do not depend on the runner or the number of tasks.

* lm: loss (nats/token), perplexity, bits per token, bits per character (the targets' nats over
  the characters they stand for: the model's ``Vocab.char_lengths``, so char, byte, bpe and word
  models of the same text compare), top-1 / top-5 accuracy
* classify: loss, accuracy, per-class precision / recall / F1, macro-F1, confusion matrix; with
  two classes also ROC-AUC and PR-AUC (average precision) of class 1, exact: each row's score
  travels to the driver, which ranks them all (training/classmetrics.py)
* regress: MSE / RMSE / MAE in the data's original units (normalisation undone) and the same for
  the naive last-value forecast, when the targets are among the input columns (time series);
  with ``season=P`` (a forecaster with head_at last) also for the seasonal naive forecast: step j
  of the horizon repeats the input one season before it (row length - P + (j mod P)), which needs
  windows of at least P steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from rnn_spark.data.batching import table_minibatches
from rnn_spark.errors import UserError
from rnn_spark.serve.common import chunk, denorm, log_softmax64, open_dataset, unit_reader
from rnn_spark.serve.protocol import EvalShared, EvalTask
from rnn_spark.training.classmetrics import batch_sums, binary_metrics, macro_f1, per_class


@dataclass
class Sums:
    """Additive per-unit totals (float64 sums, integer counts)."""

    loss_sum: float = 0.0
    count: int = 0
    chars: float = 0.0                              # lm: characters the targets stand for
    top1: int = 0
    top5: int = 0
    confusion: np.ndarray | None = None            # classify [C, C]: true row, predicted column
    scores: list = field(default_factory=list)     # two classes: z1 - z0 per row ...
    labels: list = field(default_factory=list)     # ... and its label
    # sse, sae, n, naive sse, naive sae, seasonal naive sse, seasonal naive sae
    reg: np.ndarray = field(default_factory=lambda: np.zeros(7))

    def add(self, o: "Sums") -> None:
        self.loss_sum += o.loss_sum
        self.count += o.count
        self.chars += o.chars
        self.top1 += o.top1
        self.top5 += o.top5
        self.reg = self.reg + o.reg
        if o.confusion is not None:
            self.confusion = o.confusion.copy() if self.confusion is None else self.confusion + o.confusion
        self.scores += o.scores
        self.labels += o.labels


@dataclass(frozen=True)
class Evaluation:
    task: str
    split: str
    rows: int
    metrics: dict     # JSON-able (see the module doc)


def _naive_cols(stats, width: int):
    """Feature index per output column whose target is also an input column, else None."""
    if not stats or "features" not in stats or "targets" not in stats:
        return None
    fcols, tcols = stats["features"]["columns"], stats["targets"]["columns"]
    if not all(c in fcols for c in tcols):
        return None
    return np.array([fcols.index(tcols[o % len(tcols)]) for o in range(width)])


def _lm(model, mb, s: Sums, chars: np.ndarray | None = None):
    logits, _ = model.forward(mb.inputs, mb.mask)
    m = mb.mask.astype(bool)
    z = logits[m]
    t = mb.targets[m].astype(np.intp)
    lp = log_softmax64(z)
    s.loss_sum += float(-lp[np.arange(len(t)), t].sum())
    s.count += int(len(t))
    if chars is not None:
        s.chars += float(chars[t].sum())
    above = (z > z[np.arange(len(t)), t][:, None]).sum(axis=1)
    s.top1 += int((above < 1).sum())
    s.top5 += int((above < 5).sum())


def _classify(model, mb, s: Sums):
    logits, _ = model.forward(mb.inputs, mb.mask)
    b = batch_sums(logits, mb.targets)
    s.loss_sum += b.loss_sum
    s.count += len(mb.targets)
    s.top1 += b.correct
    s.confusion = b.confusion if s.confusion is None else s.confusion + b.confusion
    if b.scores is not None:
        s.scores.append(b.scores)
        s.labels.append(np.asarray(mb.targets, np.int8))


def _regress(model, mb, s: Sums, stats, season: int = 0):
    out, _ = model.forward(mb.inputs, mb.mask)
    x = mb.inputs
    O = out.shape[-1]
    if out.ndim == 3:                     # every step: [B, T, O], unmasked steps only
        m = mb.mask.astype(bool)
        pred, targ, last = out[m], mb.targets[m], x[m]
    else:                                 # last step: [B, O]; the window's last real step
        idx = np.maximum(mb.lengths.astype(np.intp) - 1, 0)
        pred, targ, last = out, mb.targets, x[np.arange(len(idx)), idx]
    pred, targ = pred.astype(np.float64), targ.astype(np.float64)
    s.loss_sum += float(((pred - targ) ** 2).sum()) / O
    s.count += int(pred.shape[0])
    d = denorm(stats, "targets", O)
    if d is not None:
        pred, targ = pred * d[1] + d[0], targ * d[1] + d[0]
    err = pred - targ
    s.reg[:3] += [float((err ** 2).sum()), float(np.abs(err).sum()), err.size]
    cols = _naive_cols(stats, O)
    if cols is not None:
        naive = last[:, cols].astype(np.float64)
        fd = denorm(stats, "features", len(stats["features"]["mean"]))
        if fd is not None:
            naive = naive * fd[1][cols] + fd[0][cols]
        ne = naive - targ
        s.reg[3:5] += [float((ne ** 2).sum()), float(np.abs(ne).sum())]
    else:
        s.reg[3:5] = np.nan
    s.reg[5:] += _seasonal_errors(mb, stats, cols, season, targ) if season else np.nan


def _seasonal_errors(mb, stats, cols, season: int, targ: np.ndarray):
    """[sse, sae] of the seasonal naive forecast of last-step outputs (step j of the horizon =
    the input row ``length - season + (j mod season)``); NaN where it does not apply."""
    lengths = mb.lengths.astype(np.intp)
    if cols is None or mb.targets.ndim != 2 or (lengths < season).any():
        return np.nan
    step = np.arange(targ.shape[1]) // len(stats["targets"]["columns"])  # outputs: step-major
    rows = lengths[:, None] - season + step[None] % season             # [B, O]
    naive = mb.inputs[np.arange(len(rows))[:, None], rows, cols[None]].astype(np.float64)
    fd = denorm(stats, "features", len(stats["features"]["mean"]))
    if fd is not None:
        naive = naive * fd[1][cols] + fd[0][cols]
    e = naive - targ
    return np.array([float((e ** 2).sum()), float(np.abs(e).sum())])


def evaluate_task(task: EvalTask, shared: EvalShared) -> list[Sums]:
    """Worker side: one Sums per work unit of ``task.units`` (streamed one row group at a time)."""
    model = shared.model.engine()
    m = shared.manifest
    reader, out = unit_reader(), []
    try:
        for unit in task.units:
            s = Sums()
            table = reader.read_row_group(unit)
            if shared.ids is not None:
                table = shared.ids.apply(table)
            for mb in table_minibatches(table, m, shared.batch_size, model.flat.dtype, False):
                if m.task == "lm":
                    _lm(model, mb, s, shared.chars)
                elif m.task == "classify":
                    _classify(model, mb, s)
                else:
                    _regress(model, mb, s, m.stats, shared.season)
            out.append(s)
    finally:
        reader.close()
    return out


def _div(a, b):
    return a / b if b else float("nan")


def metrics_of(task: str, s: Sums, season: int = 0) -> dict:
    if task == "lm":
        loss = _div(s.loss_sum, s.count)
        return {"loss": loss, "perplexity": math.exp(loss) if loss < 700 else float("inf"),
                "bits_per_token": loss / math.log(2), "top1_accuracy": _div(s.top1, s.count),
                "top5_accuracy": _div(s.top5, s.count), "targets": s.count}
    if task == "classify":
        conf = s.confusion if s.confusion is not None else np.zeros((0, 0), np.int64)
        prec, rec, f1 = per_class(conf)
        out = {"loss": _div(s.loss_sum, s.count), "accuracy": _div(s.top1, s.count),
               "macro_f1": macro_f1(conf)}
        if s.scores:
            out.update(binary_metrics(np.concatenate(s.scores), np.concatenate(s.labels)))
        return {**out, "per_class": [{"class": c, "precision": float(prec[c]),
                                      "recall": float(rec[c]), "f1": float(f1[c]),
                                      "support": int(conf[c].sum())} for c in range(len(f1))],
                "confusion": conf.tolist(), "targets": s.count}
    sse, sae, n = s.reg[:3]
    out = {"loss": _div(s.loss_sum, s.count), "mse": _div(sse, n), "rmse": math.sqrt(_div(sse, n)),
           "mae": _div(sae, n), "targets": s.count, "values": int(n)}

    def errors(e_sse, e_sae, **more):
        return None if math.isnan(e_sse) else {
            "mse": _div(e_sse, n), "rmse": math.sqrt(_div(e_sse, n)), "mae": _div(e_sae, n), **more}
    out["naive_last_value"] = errors(*s.reg[3:5])
    if season:
        out["seasonal_naive"] = errors(*s.reg[5:7], season=season)
    return out


def evaluate(tm, data: str, split: str = "val", runner=None, batch_size: int = 64,
             season: int = 0, remap_vocab: bool = False) -> Evaluation:
    """Evaluate a :class:`~rnn_spark.serve.load.TrainedModel` on ``data``'s ``split``;
    ``season``: a forecaster's season in steps, for the seasonal naive forecast (0: none);
    ``remap_vocab``: read a character vocabulary in another order token by token."""
    from rnn_spark.serve.common import make_runner
    if season and (season < 1 or tm.task != "regress" or tm.config.head_at != "last"):
        raise UserError(f"--season {season}: the seasonal naive forecast is for forecasters "
                        "(head_at last), with a season of at least 1 step; drop --season")
    m, units, ids = open_dataset(tm, data, split, remap_vocab)
    own = runner is None
    runner = runner or make_runner("inline")
    try:
        vocab = tm.vocab if tm.task == "lm" else None
        shared = EvalShared(tm.spec(), m, batch_size, season, ids,
                            None if vocab is None else vocab.char_lengths())
        tasks = [EvalTask(tuple(part)) for part in chunk(units, 2 * max(1, runner.workers_hint))]
        total = Sums()
        for res in runner.map(evaluate_task, tasks, shared):
            for s in res:
                total.add(s)
    finally:
        if own:
            runner.close()
    metrics = metrics_of(tm.task, total, season)
    if shared.chars is not None:  # char: one token is one character, the same as per token
        metrics["bits_per_char"] = _div(total.loss_sum, total.chars) / math.log(2)
    return Evaluation(tm.task, split, sum(u.rows for u in units), metrics)


def format_table(ev: Evaluation) -> str:
    """The human-readable report."""
    lines = [f"{ev.task} model on split {ev.split!r}: {ev.rows} rows"]
    mets = ev.metrics

    def row(name, v):
        lines.append(f"  {name:<22} {v:.6g}" if isinstance(v, float) else f"  {name:<22} {v}")
    for k, v in mets.items():
        if k not in ("per_class", "confusion", "naive_last_value", "seasonal_naive"):
            row(k, v)
    if ev.task == "regress":
        nv = mets["naive_last_value"]
        lines.append("  naive last-value forecast (original units):" if nv else
                     "  naive last-value forecast: not applicable (targets are not input columns)")
        for k, v in (nv or {}).items():
            row("  " + k, v)
        if "seasonal_naive" in mets:
            sn = mets["seasonal_naive"]
            lines.append("  seasonal naive forecast (original units):" if sn else
                         "  seasonal naive forecast: not applicable (targets are not input "
                         "columns, or windows are shorter than the season)")
            for k, v in (sn or {}).items():
                row("  " + k, v)
    if ev.task == "classify":
        lines.append(f"  {'class':>7} {'precision':>10} {'recall':>10} {'f1':>10} {'support':>9}")
        for c in mets["per_class"]:
            lines.append(f"  {c['class']:>7} {c['precision']:>10.4f} {c['recall']:>10.4f} "
                         f"{c['f1']:>10.4f} {c['support']:>9}")
        lines.append("  confusion matrix (rows: true class, columns: predicted):")
        for r in mets["confusion"]:
            lines.append("    " + " ".join(f"{v:>6}" for v in r))
    return "\n".join(lines)
