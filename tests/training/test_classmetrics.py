"""Classification metrics (training/classmetrics.py): ROC-AUC and average precision against their
definitions written plainly (ties included), independent of row order; confusion-based F1."""

import itertools
import math

import numpy as np
import pytest

from rnn_spark.training.classmetrics import (average_precision, batch_sums, macro_f1, per_class,
                                             roc_auc, val_fields)


def auc_by_pairs(s, y):
    """P(score of a positive > score of a negative) + P(tie) / 2, over every pair."""
    pos, neg = s[y == 1], s[y == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def ap_by_thresholds(s, y):
    """sum over distinct thresholds t (high to low) of (R(t) - R(previous)) * P(t)."""
    total, prev_r = 0.0, 0.0
    for t in sorted(set(s.tolist()), reverse=True):
        sel = s >= t
        tp = int((y[sel] == 1).sum())
        r, p = tp / int((y == 1).sum()), tp / int(sel.sum())
        total += (r - prev_r) * p
        prev_r = r
    return total


@pytest.mark.parametrize("seed", range(6))
def test_auc_and_ap_match_their_definitions_with_ties(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    s = np.round(rng.standard_normal(n), 1)  # rounded: many ties
    y = (rng.random(n) < 0.3).astype(np.int8)
    y[0], y[1] = 0, 1
    assert roc_auc(s, y) == pytest.approx(auc_by_pairs(s, y), abs=1e-12)
    assert average_precision(s, y) == pytest.approx(ap_by_thresholds(s, y), abs=1e-12)
    perm = rng.permutation(n)  # the order rows arrive in does not matter, to the bit
    assert roc_auc(s[perm], y[perm]) == roc_auc(s, y)
    assert average_precision(s[perm], y[perm]) == average_precision(s, y)


def test_against_scikit_learn_when_installed():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(9)
    s, y = np.round(rng.standard_normal(500), 2), (rng.random(500) < 0.05).astype(int)
    assert roc_auc(s, y) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert average_precision(s, y) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)


def test_edge_cases():
    s = np.array([0.3, 0.1, 0.2])
    assert math.isnan(roc_auc(s, np.zeros(3))) and math.isnan(roc_auc(s, np.ones(3)))
    assert math.isnan(average_precision(s, np.zeros(3)))
    assert average_precision(s, np.ones(3)) == 1.0
    assert roc_auc(s, np.array([1, 0, 0])) == 1.0 and roc_auc(s, np.array([0, 1, 1])) == 0.0
    assert roc_auc(np.zeros(4), np.array([0, 1, 0, 1])) == 0.5


def test_batch_sums_and_f1():
    logits = np.array([[2.0, 0.0], [0.0, 1.0], [1.0, 0.5], [0.0, 3.0]])
    t = np.array([0, 1, 1, 0])
    b = batch_sums(logits, t)
    assert b.correct == 2 and b.confusion.tolist() == [[1, 1], [1, 1]]
    assert np.array_equal(b.scores, logits[:, 1] - logits[:, 0])
    lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    assert b.loss_sum == pytest.approx(-lp[np.arange(4), t].sum(), rel=1e-12)
    conf = np.array([[8, 2, 0], [1, 3, 0], [0, 0, 0]])
    prec, rec, f1 = per_class(conf)
    assert prec.tolist() == pytest.approx([8 / 9, 3 / 5, 0.0]) and rec[2] == 0 and f1[2] == 0
    assert macro_f1(conf) == pytest.approx(f1.mean())
    assert batch_sums(np.zeros((2, 3)), np.array([0, 2])).scores is None  # three classes
    assert val_fields(None, [], []) == {}
    assert set(val_fields(b.confusion, [b.scores], [t])) == {"macro_f1", "roc_auc", "pr_auc"}
