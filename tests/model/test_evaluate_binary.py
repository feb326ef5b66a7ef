"""`rnn-spark evaluate` on two classes: ROC-AUC and PR-AUC beside per-class precision / recall /
F1 and macro-F1, the same on every runner and however the rows are cut into tasks."""

import json

import numpy as np
import pytest

import rnn_spark as rs
from rnn_spark import data, ingest
from rnn_spark.data.batching import iter_minibatches
from rnn_spark.runners.inline import InlineRunner
from rnn_spark.serve.evaluate import evaluate, format_table
from rnn_spark.training.classmetrics import batch_sums, binary_metrics


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory, train_run):
    root = tmp_path_factory.mktemp("bin")
    rng = np.random.default_rng(4)
    lines = []
    for _ in range(300):
        label = int(rng.random() < 0.15)
        seq = rng.integers(0, 6, int(rng.integers(3, 9))).tolist()
        if label:
            seq[-1] = 6
        lines.append(json.dumps({"sequence": seq, "label": label}))
    (root / "rows.jsonl").write_text("\n".join(lines) + "\n")
    ds = str(root / "data")
    ingest.ingest_labelled([str(root / "rows.jsonl")], ds, task="classify", rows_per_group=30,
                           val_fraction=0.3, quiet=True)
    return ds, train_run(ds, root / "run", **{"train.class_weights": "auto",
                                              "train.max_rounds": 8})


def test_binary_evaluation_reports_aucs_exactly(binary_run):
    ds, run = binary_run
    tm = rs.load_model(run)
    ev = evaluate(tm, ds)
    mets = ev.metrics
    assert {"macro_f1", "roc_auc", "pr_auc", "per_class", "confusion"} <= set(mets)
    assert evaluate(tm, ds, runner=InlineRunner(1)) == evaluate(tm, ds, runner=InlineRunner(4))
    m = data.read_manifest(ds)
    units = m.work_units("val")
    rows = sum(u.rows for u in units)
    mb = next(iter_minibatches(units, rows, manifest=m, shuffle_rows=False))
    ref = binary_metrics(batch_sums(tm.engine().forward(mb.inputs, mb.mask)[0], mb.targets).scores,
                         mb.targets)
    assert mets["roc_auc"] == pytest.approx(ref["roc_auc"], abs=1e-9)
    assert mets["pr_auc"] == pytest.approx(ref["pr_auc"], abs=1e-9)
    table = format_table(ev)
    assert "roc_auc" in table and "pr_auc" in table and "macro_f1" in table


def test_more_than_two_classes_have_no_aucs(classify_run):
    ds, run = classify_run
    mets = evaluate(rs.load_model(run), ds).metrics
    assert "macro_f1" in mets and "roc_auc" not in mets and "pr_auc" not in mets


@pytest.mark.spark
def test_binary_evaluation_on_spark_equals_inline(binary_run):
    from rnn_spark.runners.spark import SparkRunner

    ds, run = binary_run
    tm = rs.load_model(run)
    r = SparkRunner("local[2]", "rnn-spark-binary-eval", 1, {})
    try:
        assert evaluate(tm, ds, runner=r) == evaluate(tm, ds)
    finally:
        r.close()
