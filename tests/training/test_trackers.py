"""TensorBoard and MLflow, read back with their own readers and compared with metrics.jsonl."""

import json
import math

import pytest
from trainer_config import small_config

from rnn_spark.cli import main
from rnn_spark.runners.inline import InlineRunner
from rnn_spark.serve.sample import sample_text
from rnn_spark.training.loop import train
from rnn_spark.training.trackers import numeric_fields


def records(run_dir, kind):
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
            if r["kind"] == kind]


class FailingRunner(InlineRunner):
    """Inline, but round `fail_at` raises: the error path of train()."""

    def __init__(self, fail_at: int):
        super().__init__()
        self.fail_at = fail_at

    def map(self, fn, tasks, shared):
        if getattr(tasks[0], "round", None) == self.fail_at:
            raise RuntimeError(f"round {self.fail_at} failed")
        return super().map(fn, tasks, shared)


def event_file(tb):
    """The one event file (scalars, hparams, texts all go through one writer), read with
    TensorBoard's own EventAccumulator."""
    ea_mod = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    (f,) = tb.glob("events.out.tfevents.*")
    acc = ea_mod.EventAccumulator(str(f), size_guidance={ea_mod.SCALARS: 0, ea_mod.TENSORS: 0})
    acc.Reload()
    return acc


def test_tensorboard_scalars_match_metrics(char_dataset, tmp_path):
    pytest.importorskip("tensorboardX")
    tb = tmp_path / "tb"
    train(small_config(char_dataset, tmp_path / "run", **{"train.tensorboard_dir": str(tb)}),
          quiet=True, sample=sample_text)
    acc = event_file(tb)
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
    texts = "".join(acc.Tags().get("tensors", []))
    assert "config" in texts and "sample" in texts and "hparam/best_val_loss" in tags
    assert acc.Scalars("hparam/train_loss")[-1].value == pytest.approx(rounds[-1]["loss"], rel=1e-6)


def test_tensorboard_written_when_training_fails(char_dataset, tmp_path):
    """An error ends train(): the rounds done so far are in the event file (the writer's queue
    flushed, the file closed), as they are in metrics.jsonl."""
    pytest.importorskip("tensorboardX")
    tb = tmp_path / "tb"
    cfg = small_config(char_dataset, tmp_path / "run", **{"train.tensorboard_dir": tb.as_uri()})
    with pytest.raises(RuntimeError, match="round 3 failed"):
        train(cfg, runner=FailingRunner(3), quiet=True)
    acc = event_file(tb)
    assert [e.step for e in acc.Scalars("round/loss")] == [0, 1, 2]
    assert [r["round"] for r in records(tmp_path / "run", "round")] == [0, 1, 2]


def test_mlflow_run_failed_when_training_fails(char_dataset, tmp_path):
    mlflow = pytest.importorskip("mlflow")
    uri = tmp_path / "mlruns"
    cfg = small_config(char_dataset, tmp_path / "run",
                       **{"train.mlflow": True, "train.mlflow_uri": str(uri)})
    with pytest.raises(RuntimeError, match="round 3 failed"):
        train(cfg, runner=FailingRunner(3), quiet=True)
    client = mlflow.tracking.MlflowClient(tracking_uri=uri.as_uri())
    (found,) = client.search_runs([client.get_experiment_by_name("rnn-spark").experiment_id])
    assert found.info.status == "FAILED"
    assert sorted(m.step for m in client.get_metric_history(found.info.run_id, "loss")) == [0, 1, 2]


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
    assert "sample" not in found.data.tags  # train() without a sampler: no sample


def test_train_command_hands_the_trackers_a_sample(char_dataset, tmp_path):
    """`rnn-spark train` hands training the sampler from above (rnn_spark.serve.sample):
    training itself never imports serve or report (tests/test_import_cycles.py: layers)."""
    mlflow = pytest.importorskip("mlflow")
    uri = tmp_path / "mlruns"
    assert main(["train", "--data", char_dataset, "--run-dir", str(tmp_path / "run"),
                 "--runner", "inline", "--hidden-sizes", "8", "--embedding-size", "4", "--k1", "8",
                 "--batch-size", "4", "--steps-per-round", "1", "--max-rounds", "2", "--mlflow",
                 "--mlflow-uri", uri.as_uri(), "--quiet"]) == 0
    client = mlflow.tracking.MlflowClient(tracking_uri=uri.as_uri())
    (found,) = client.search_runs([client.get_experiment_by_name("rnn-spark").experiment_id])
    assert len(found.data.tags["sample"]) >= 300 and "(no sample" not in found.data.tags["sample"]


def test_tensorboard_hparams_do_not_clobber_scalars(tmp_path):
    """Regression: tensorboardX's add_hparams opened a second writer whose file name (timestamp to
    the second + hostname) equalled ours when both started in the same second, truncating our
    scalars (whether they were lost depended on how far the writer thread had got). Now there is
    one writer and one file, holding the scalars, the hparams and the texts."""
    pytest.importorskip("tensorboardX")
    from rnn_spark import config
    from rnn_spark.training.trackers import TensorBoardTracker

    tb = tmp_path / "tb"
    tracker = TensorBoardTracker(config.load([], {}), str(tb))
    for g in range(30):
        tracker.round({"kind": "round", "round": g, "loss": 1.0 / (g + 1)}, None)
    tracker.finish({"rounds": 30, "train_loss": 1 / 30}, str(tmp_path / "model"), [], "a sample")
    tracker.close()  # a second close does nothing
    acc = event_file(tb)
    assert [e.step for e in acc.Scalars("round/loss")] == list(range(30))
    assert {"config", "sample"} <= {t.split("/")[0] for t in acc.Tags()["tensors"]}
    assert acc.Scalars("hparam/train_loss")[0].value == pytest.approx(1 / 30)
