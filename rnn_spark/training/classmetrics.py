"""Classification metrics that do not depend on how rows were cut into tasks: what imbalanced data
needs, for the validation during training and for `rnn-spark evaluate`.

A batch of logits gives additive totals (:func:`batch_sums`): the float64 cross-entropy sum, the
argmax hits, the confusion matrix (true row, predicted column; integers) and, with two classes,
each row's score ``z1 - z0`` (the logit margin of class 1, monotone in its probability) with its
label. Confusion matrices add exactly; the scores are gathered on the driver and ranked there, so
ROC-AUC and PR-AUC (average precision) are exact and depend only on the set of (score, label)
pairs, not on the runner, the tasks or their order. That costs 9 bytes per validation row on the
driver and one sort (a million rows: 9 MB, about 0.3-1 s on a loaded 2-core machine, measured by
benchmarks/class_weights.py); a histogram of scores would be cheaper but not exact.

* per class: precision, recall, F1, support; macro-F1 (the unweighted mean of the classes' F1)
* two classes, class 1 the positive: ROC-AUC (ties count one half: the Mann-Whitney statistic)
  and average precision, sum_n (R_n - R_n-1) P_n over the distinct scores from the highest
  (scikit-learn's ``average_precision_score``); NaN when the rows hold one class only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BatchSums:
    loss_sum: float            # float64 cross-entropy summed over the rows
    correct: int
    confusion: np.ndarray      # [C, C] int64
    scores: np.ndarray | None  # two classes: z1 - z0 per row (float64), else None


def batch_sums(logits: np.ndarray, targets: np.ndarray) -> BatchSums:
    """The additive totals of one batch of ``logits [N, C]`` against int ``targets [N]``."""
    z = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets).astype(np.intp)
    m = z.max(axis=1, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=1)) + m[:, 0]
    rows = np.arange(len(t))
    pred = z.argmax(axis=1)
    C = z.shape[1]
    conf = np.bincount(t * C + pred, minlength=C * C).reshape(C, C).astype(np.int64)
    return BatchSums(float((lse - z[rows, t]).sum()), int((pred == t).sum()), conf,
                     z[:, 1] - z[:, 0] if C == 2 else None)


def per_class(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, F1) per class of a confusion matrix (0 where undefined)."""
    tp = np.diag(conf).astype(np.float64)
    prec = np.divide(tp, conf.sum(0), out=np.zeros_like(tp), where=conf.sum(0) > 0)
    rec = np.divide(tp, conf.sum(1), out=np.zeros_like(tp), where=conf.sum(1) > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=prec + rec > 0)
    return prec, rec, f1


def macro_f1(conf: np.ndarray) -> float:
    f1 = per_class(conf)[2]
    return float(f1.mean()) if len(f1) else math.nan


def _ranked(scores: np.ndarray, labels: np.ndarray):
    """True and false positives at each distinct score, from the highest down (cumulative)."""
    order = np.argsort(-scores)  # any order within ties: each run of ties is counted as one
    s, y = scores[order], labels[order].astype(np.int64)
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]  # the end of each run of ties
    tp = np.cumsum(y)[last]
    return tp, (last + 1) - tp


def _auc_ap(tp: np.ndarray, fp: np.ndarray) -> tuple[float, float]:
    """ROC-AUC (the trapezoids between distinct scores, so ties count 1/2: from integer sums and
    one division) and average precision (sum over distinct scores of the recall step times the
    precision, added exactly by math.fsum), from _ranked's counts."""
    P, N = int(tp[-1]), int(fp[-1])
    if not P:
        return math.nan, math.nan
    auc = math.nan
    if N:
        tp0, fp0 = np.r_[0, tp[:-1]], np.r_[0, fp[:-1]]
        twice = int(((fp - fp0) * (tp + tp0)).sum())  # twice the area, in units of 1 / (P N)
        auc = twice / (2 * P * N)
    dtp = np.diff(np.r_[0, tp])
    return auc, math.fsum((dtp * tp / (tp + fp)).tolist()) / P


def binary_metrics(scores: np.ndarray, labels: np.ndarray) -> dict:
    """{"roc_auc", "pr_auc"} of class 1 (NaN where undefined), from one ranking of the rows."""
    if not len(labels):
        return {"roc_auc": math.nan, "pr_auc": math.nan}
    auc, ap = _auc_ap(*_ranked(np.asarray(scores, np.float64), np.asarray(labels)))
    return {"roc_auc": auc, "pr_auc": ap}


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    return binary_metrics(scores, labels)["roc_auc"]


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """PR-AUC as average precision (scikit-learn's ``average_precision_score``)."""
    return binary_metrics(scores, labels)["pr_auc"]


def val_fields(confusion: np.ndarray | None, scores: list[np.ndarray],
               labels: list[np.ndarray]) -> dict:
    """A validation record's classification fields: macro_f1, and for two classes roc_auc and
    pr_auc (the score arrays of every task, in any order)."""
    if confusion is None:
        return {}
    out = {"macro_f1": macro_f1(confusion)}
    if confusion.shape[0] == 2 and scores:
        out.update(binary_metrics(np.concatenate(scores), np.concatenate(labels)))
    return out
