"""A model trained with bidirectional layers and every dropout goes through everything that uses a
model -- load, evaluate, predict, inspect, export -- and none of them drops anything: the numbers
are the engine's plain forward pass on the stored weights."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import rnn_spark as rs
from rnn_spark import config, ingest
from rnn_spark.cli import main
from rnn_spark.data import read_manifest
from rnn_spark.data.batching import iter_minibatches
from rnn_spark.training.loop import train


@pytest.fixture(scope="module")
def bidi_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("bidi")
    rng = np.random.default_rng(3)
    lines = []
    for _ in range(200):
        seq = rng.integers(0, 8, int(rng.integers(3, 11)))
        lines.append(json.dumps({"sequence": seq.tolist(), "label": int(seq[0] % 3)}))
    (root / "s.jsonl").write_text("\n".join(lines) + "\n")
    ds = str(root / "data")
    ingest.ingest_labelled([str(root / "s.jsonl")], ds, task="classify", rows_per_group=40,
                           val_fraction=0.2, quiet=True)
    cfg = config.load([], {"data.path": ds, "train.run_dir": str(root / "run"),
                           "model.hidden_sizes": [8, 8], "model.embedding_size": 6,
                           "model.cell": "lstm", "model.bidirectional": True,
                           "model.dropout": 0.3, "model.embedding_dropout": 0.2,
                           "model.recurrent_dropout": 0.3, "train.k1": 10,
                           "train.batch_size": 8, "train.steps_per_round": 2,
                           "train.workers": 2, "train.max_rounds": 4, "train.validate_every": 2,
                           "train.runner": "inline"})
    train(cfg, quiet=True)
    return ds, str(root / "run")


def engine_val(tm, ds):
    m = read_manifest(ds)
    units = m.work_units("val")
    mb = next(iter_minibatches(units, sum(u.rows for u in units), manifest=m, shuffle_rows=False))
    logits = tm.engine().forward(mb.inputs, mb.mask)[0]
    return mb, logits


def test_evaluate_is_the_plain_forward_pass(bidi_run):
    ds, run = bidi_run
    tm = rs.load_model(run)
    assert tm.config.bidirectional and tm.config.dropout == 0.3
    a, b = tm.evaluate(ds), tm.evaluate(ds)
    assert a.metrics == b.metrics
    mb, logits = engine_val(tm, ds)
    z = logits - logits.max(axis=1, keepdims=True)
    nll = -(z[np.arange(len(z)), mb.targets] - np.log(np.exp(z).sum(axis=1)))
    assert a.metrics["loss"] == pytest.approx(nll.mean(), rel=1e-5)
    assert a.metrics["accuracy"] == pytest.approx((logits.argmax(1) == mb.targets).mean())


def test_predict_inspect_export(bidi_run, tmp_path, capsys):
    ds, run = bidi_run
    out = tmp_path / "p"
    assert main(["predict", "--model", run, "--data", ds, "--out", str(out)]) == 0
    doc = json.loads((out / "_predictions.json").read_text())
    t = pa.concat_tables([pq.read_table(out / f["path"]) for f in doc["files"]])
    tm = rs.load_model(run)
    m = read_manifest(ds)
    unit = m.work_units("val")[0]
    mb = next(iter_minibatches([unit], unit.rows, manifest=m, shuffle_rows=False))
    logits = tm.engine().forward(mb.inputs, mb.mask)[0]
    want = np.exp(logits - logits.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    val = {r: p for s, r, p in zip(t["split"].to_pylist(), t["src_row"].to_pylist(),
                                   t["probs"].to_pylist()) if s == "val"}
    rows = pq.read_table(unit.shard).slice(0, unit.rows)["src_row"].to_pylist()
    np.testing.assert_allclose([val[r] for r in rows], want, rtol=1e-5, atol=1e-6)
    capsys.readouterr()
    assert main(["inspect", run + "/model"]) == 0
    shown = capsys.readouterr().out
    assert "rnn.weight_hh_l1_reverse" in shown and "bidirectional" in shown
    assert main(["export", "--model", run, "--out", str(tmp_path / "ox"), "--format", "onnx"]) == 0
    assert main(["export", "--model", run, "--out", str(tmp_path / "pt"), "--format",
                 "pytorch"]) == 0
