"""Watching a run on the real HDFS (issue #14): RUN/metrics.jsonl is rewritten at least every
train.metrics_flush_seconds, not only at checkpoints (and always just before one is written, so it
holds every round up to it), and `rnn-spark report` on an hdfs:// run
writes a whole report.html (and its PNG copies) on HDFS."""

import json
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from rnn_spark import fs
from rnn_spark.cli import main
from rnn_spark.ingest import ingest_text
from rnn_spark.training import metrics as metrics_mod

pytestmark = pytest.mark.e2e

FLUSH_S = 1.0
HOLD_ROUND = 4
ROUNDS = 10


def _hold_then_release(fault_dir: Path, seconds: float) -> threading.Thread:
    """Wait until round HOLD_ROUND's task is held (runners/faults.py), keep it held `seconds`,
    release it: the run then has spent more than the flush interval inside one round."""
    def run():
        deadline = time.monotonic() + 300
        while not (fault_dir / "paused.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(seconds)
        (fault_dir / "release").touch()
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_metrics_flushed_on_hdfs_between_checkpoints_and_report(hdfs, tmp_path, monkeypatch, capsys):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ds, run = fs.join(hdfs, "ds"), fs.join(hdfs, "run")
    ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=33, rows_per_group=64,
                val_fraction=0.1, seed=3, quiet=True)

    # every flush of the metrics file: what HDFS then held, and whether a checkpoint existed yet
    seen = []
    real_flush = metrics_mod.MetricsLog.flush

    def spy(self):
        real_flush(self)
        lines = fs.read_text(self.uri).splitlines()
        seen.append({"at": self.flushed_at, "rounds": [json.loads(x)["round"] for x in lines
                                                        if json.loads(x)["kind"] == "round"],
                     "in_memory": sum(r["kind"] == "round" for r in self.records),
                     "checkpoint": fs.exists(fs.join(run, "checkpoints"))
                     and bool(fs.ls(fs.join(run, "checkpoints")))})
    monkeypatch.setattr(metrics_mod.MetricsLog, "flush", spy)

    fault_dir = tmp_path / "fault"
    fault_dir.mkdir()
    monkeypatch.setenv("RNN_SPARK_FAULT_DIR", str(fault_dir))
    monkeypatch.setenv("RNN_SPARK_FAULT_ROUND", str(HOLD_ROUND))
    releaser = _hold_then_release(fault_dir, FLUSH_S + 0.5)
    rc = main(["train", "--data", ds, "--run-dir", run, "--runner", "inline",
               "--max-rounds", str(ROUNDS), "--hidden-sizes", "8", "--embedding-size", "4",
               "--k1", "8", "--batch-size", "4", "--steps-per-round", "1", "--workers", "2",
               "--checkpoint-every", "0", "--validate-every", "0",
               "--metrics-flush-seconds", str(FLUSH_S), "--quiet",
               # trackers stay local; MLflow gets the model on HDFS through a local copy
               "--tensorboard-dir", str(tmp_path / "tb"), "--mlflow",
               "--mlflow-uri", str(tmp_path / "mlruns")])
    releaser.join(timeout=5)
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rounds"] == ROUNDS

    # before the only checkpoint (at the end), the file on HDFS already held whole round lines:
    # at the latest the round that ran longer than the flush interval wrote it
    early = [s for s in seen if not s["checkpoint"]]
    assert early, f"no flush before the first checkpoint: {seen}"
    assert any(HOLD_ROUND in s["rounds"] for s in early)
    for s in seen:  # each flush wrote every record made so far, in order
        assert s["rounds"] == list(range(s["in_memory"]))
    # the last of them is the flush just before the checkpoint is written: it holds every round
    assert early[-1]["rounds"] == list(range(ROUNDS))
    # the cadence: flushes during the rounds are at least the interval apart (not one per round)
    mid = [s["at"] for s in early[:-1]]
    assert all(b - a >= FLUSH_S for a, b in zip(mid, mid[1:]))
    final = fs.read_text(fs.join(run, "metrics.jsonl")).splitlines()
    assert [r["round"] for r in map(json.loads, final) if r["kind"] == "round"] == list(range(ROUNDS))

    mlflow = pytest.importorskip("mlflow")
    client = mlflow.tracking.MlflowClient(tracking_uri=(tmp_path / "mlruns").as_uri())
    (found,) = client.search_runs([client.get_experiment_by_name("rnn-spark").experiment_id])
    assert found.info.status == "FINISHED"
    assert {"model/weights.npz", "model/model.json"} <= {
        a.path for a in client.list_artifacts(found.info.run_id, "model")}
    assert len(list((tmp_path / "tb").glob("events.out.tfevents.*"))) == 1

    # the report of the hdfs:// run is written on HDFS, whole, with its PNG copies
    capsys.readouterr()
    assert main(["report", run]) == 0
    out = capsys.readouterr().out.strip()
    assert out == fs.join(run, "report.html")
    page = fs.read_text(out)
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    for chart in ("loss", "throughput", "time", "straggler", "lr"):
        assert f"id='chart-{chart}'" in page
        assert fs.read_bytes(fs.join(run, f"report-{chart}.png")).startswith(b"\x89PNG\r\n\x1a\n")
    assert "<pre id='sample'>" in page and "(no sample" not in page  # generated from HDFS
    assert not [tag for tag in ("<script", "<link", "<img", "<iframe") if tag in page]  # nothing fetched
    names = [fs.basename(u) for u in fs.ls(run)]
    assert not [n for n in names if n.startswith((".", "_")) and n != ".rnn-spark-run"], names
