"""TensorBoard and MLflow, read back with their own readers and compared with metrics.jsonl."""

import json
import math

import pytest
from trainer_config import small_config

from rnn_spark.training.loop import train
from rnn_spark.training.trackers import numeric_fields


def records(run_dir, kind):
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
            if r["kind"] == kind]


@pytest.mark.xfail(strict=False, reason="flaky: the per-round scalars are sometimes not yet in the "
                   "event file when it is read (tensorboardX flush on close); open in #14")
def test_tensorboard_scalars_match_metrics(char_dataset, tmp_path):
    pytest.importorskip("tensorboardX")
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    tb = tmp_path / "tb"
    train(small_config(char_dataset, tmp_path / "run", **{"train.tensorboard_dir": str(tb)}), quiet=True)
    # the hparams go to a second event file in the same directory: read every file on its own
    # (a directory read may stop at the file that sorts last)
    accs = []
    for f in sorted(tb.glob("events.out.tfevents.*")):
        a = ea_mod.EventAccumulator(str(f), size_guidance={ea_mod.SCALARS: 0, ea_mod.TENSORS: 0})
        a.Reload()
        accs.append(a)
    acc = max(accs, key=lambda a: len(a.Tags()["scalars"]))  # the file with the per-round scalars
    rounds = records(tmp_path / "run", "round")
    tags = set(acc.Tags()["scalars"])
    for field in numeric_fields(rounds[0]):
        assert f"round/{field}" in tags
        got = [(e.step, e.value) for e in acc.Scalars(f"round/{field}")]
        want = [(r["round"], float(r[field])) for r in rounds]
        assert [s for s, _ in got] == [s for s, _ in want]
        assert all(math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6) for (_, a), (_, b) in zip(got, want))
    vals = records(tmp_path / "run", "val")
    assert [(e.step, pytest.approx(e.value, rel=1e-6)) for e in acc.Scalars("val/loss")] == \
        [(v["round"], v["loss"]) for v in vals]
    assert "config" in "".join(t for a in accs for t in a.Tags().get("tensors", []))  # config text


def test_mlflow_run_matches_metrics(char_dataset, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = tmp_path / "mlruns"
    run = tmp_path / "run"
    train(small_config(char_dataset, run, **{"train.mlflow": True, "train.mlflow_uri": str(uri)}),
          quiet=True)
    client = mlflow.tracking.MlflowClient(tracking_uri=uri.as_uri())
    exp = client.get_experiment_by_name("rnn-spark")
    (found,) = client.search_runs([exp.experiment_id])
    assert found.data.params["optim.lr"] == "0.002"
    assert found.data.params["train.workers"] == "2"
    assert found.data.tags["stop_reason"] == "completed"
    rounds = records(run, "round")
    hist = client.get_metric_history(found.info.run_id, "loss")
    assert [(m.step, m.value) for m in sorted(hist, key=lambda m: m.step)] == \
        [(r["round"], pytest.approx(r["loss"])) for r in rounds]
    vals = client.get_metric_history(found.info.run_id, "val_loss")
    assert sorted(m.step for m in vals) == [v["round"] for v in records(run, "val")]
    arts = {a.path for a in client.list_artifacts(found.info.run_id, "model")}
    assert {"model/weights.npz", "model/model.json"} <= arts
    assert found.info.status == "FINISHED"
