"""What a run tells its user: the per-round time split in metrics.jsonl, early stopping and the
exported weights, the metrics flush policy on remote files (issue #14)."""

import json
import math

import numpy as np
import pytest
from trainer_config import small_config

from rnn_spark.cli import main
from rnn_spark.errors import ConfigError
from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.loop import train
from rnn_spark.training.metrics import MetricsLog

ROUND_FIELDS = {
    "kind", "round", "epoch", "loss", "targets", "rows", "updates", "seconds", "lr",
    "targets_per_s", "tokens_per_s", "overhead_s", "update_norm", "weight_norm", "validate_s",
    "checkpoint_s", "time", "broadcast_s", "launch_s", "task_max_s", "compute_max_s",
    "compute_mean_s", "read_max_s", "read_mean_s", "transfer_s", "fold_s", "straggler", "tokens"}


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_round_records_carry_the_time_split(char_dataset, tmp_path):
    train(small_config(char_dataset, tmp_path / "run", **{"train.export": "last"}), quiet=True)
    recs = records(tmp_path / "run")
    rounds = [r for r in recs if r["kind"] == "round"]
    assert [r["round"] for r in rounds] == list(range(6))
    for r in rounds:
        assert set(r) == ROUND_FIELDS, set(r) ^ ROUND_FIELDS
        assert all(r[k] >= 0 for k in ROUND_FIELDS - {"kind"})
        assert r["read_max_s"] > 0 and r["compute_max_s"] > 0
        assert r["compute_mean_s"] <= r["compute_max_s"] + 1e-12
        assert r["read_mean_s"] <= r["read_max_s"] + 1e-12
        assert r["task_max_s"] <= r["seconds"]            # inline: tasks run inside the round
        assert r["straggler"] >= 1.0
        assert r["tokens"] > 0 and r["tokens_per_s"] > 0
        assert r["update_norm"] > 0 and r["weight_norm"] > 0
        assert math.isclose(r["overhead_s"], r["seconds"] - r["task_max_s"], abs_tol=1e-9)
    # validation runs every 3 rounds (and last); a checkpoint every 2 rounds (and last)
    assert [r["round"] for r in rounds if r["validate_s"] > 0] == [2, 5]
    assert [r["round"] for r in rounds if r["checkpoint_s"] > 0] == [1, 3, 5]
    # weight norm = |global weights| written to the last checkpoint
    w = ckpt.load_checkpoint(ckpt.list_checkpoints(
        __import__("rnn_spark.training.rundir", fromlist=["RunDir"]).RunDir(str(tmp_path / "run")))[-1]
    ).weights["global"]
    assert math.isclose(rounds[-1]["weight_norm"], float(np.linalg.norm(w)), rel_tol=1e-12)


def test_docs_schema_lists_every_round_field():
    """docs/guides/watching.md documents each field of a `kind: "round"` line, and no other."""
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parents[2] / "docs" / "guides" / "watching.md").read_text()
    section = page.split("## metrics.jsonl", 1)[1].split("\n## ", 1)[0]
    table = section.split('`kind: "round"`', 1)[1].split("\n\n", 2)[1]
    documented = {"kind"} | {f for row in table.splitlines()[2:]
                             for f in re.findall(r"`(\w+)`", row.split("|")[1])}
    assert documented == ROUND_FIELDS, documented ^ ROUND_FIELDS


def test_remote_metrics_flush_every_n_seconds(tmp_path):
    """On HDFS the file is rewritten when flush_seconds have passed, not at every record."""
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(str(path), flush_seconds=3600)
    log.remote = True  # the policy for remote files, applied to a local one
    log.add({"kind": "round", "round": 0})
    assert not path.exists()
    log.flush_seconds = 0.0
    log.add({"kind": "round", "round": 1, "loss": float("nan")})
    assert [json.loads(x) for x in path.read_text().splitlines()] == [
        {"kind": "round", "round": 0}, {"kind": "round", "round": 1, "loss": None}]


def test_local_metrics_rewritten_at_most_once_a_second(tmp_path, monkeypatch):
    """A local file is rewritten when a second has passed (and at checkpoints and the end), each
    record serialised once: a long run's metrics no longer cost it time that grows per round."""
    from rnn_spark.training import metrics as metrics_mod

    path = tmp_path / "metrics.jsonl"
    clock = [100.0]
    monkeypatch.setattr(metrics_mod.time, "monotonic", lambda: clock[0])
    log = MetricsLog(str(path))
    log.add({"kind": "round", "round": 0})
    assert not path.exists()  # within the second
    clock[0] += metrics_mod.LOCAL_FLUSH_SECONDS
    log.add({"kind": "round", "round": 1})
    assert [json.loads(x)["round"] for x in path.read_text().splitlines()] == [0, 1]
    log.add({"kind": "val", "round": 1, "loss": float("inf")})
    log.close()
    assert json.loads(path.read_text().splitlines()[-1]) == {"kind": "val", "round": 1, "loss": None}
    at = log.add({"kind": "round", "round": 2})
    log.records[at]["checkpoint_s"] = 0.5  # set after the checkpoint the flush came before
    log.amend(at)
    log.close()
    assert json.loads(path.read_text().splitlines()[-1])["checkpoint_s"] == 0.5
    again = MetricsLog(str(path), keep_existing=True)
    again.truncate_after(0)
    again.flush()
    assert [json.loads(x) for x in path.read_text().splitlines()] == [{"kind": "round", "round": 0}]


def test_remote_metrics_written_on_close_after_an_error(tmp_path, capsys):
    """Trainer.close() (also after an error) writes the records not yet flushed; once written, a
    close rewrites nothing; a write that fails is a warning line, never an exception that would
    hide the error that ended the run."""
    path = tmp_path / "metrics.jsonl"
    log = MetricsLog(str(path), flush_seconds=3600)
    log.remote = True
    log.add({"kind": "round", "round": 0})
    assert not path.exists()
    log.close()
    assert [json.loads(x)["round"] for x in path.read_text().splitlines()] == [0]
    path.unlink()
    log.close()
    assert not path.exists()  # nothing new: not rewritten
    log.add({"kind": "round", "round": 1})
    log.uri = str(tmp_path / "no-such-dir" / "sub" / "x" / "metrics.jsonl")
    (tmp_path / "no-such-dir").write_text("a file where a directory should be")
    log.close()
    err = capsys.readouterr().err
    assert err.startswith("rnn-spark: warning:") and "not written" in err and err.count("\n") == 1


def test_early_stop_records_the_reason_and_exports_best(char_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    cfg = small_config(char_dataset, run, **{
        "train.validate_every": 1, "train.early_stop_patience": 2,
        "train.early_stop_min_delta": 100.0})  # nothing after the first counts as better
    summary = train(cfg, quiet=True)
    assert summary["rounds"] == 3 and "early stop at round 2" in summary["stop_reason"]
    assert summary["exported"] == "best"
    recs = records(run)
    stops = [r for r in recs if r["kind"] == "stop"]
    assert len(stops) == 1 and stops[0]["round"] == 2 and "did not improve" in stops[0]["reason"]
    vals = [r["loss"] for r in recs if r["kind"] == "val"]
    assert summary["best_val_loss"] == min(vals)
    best = ckpt.load_checkpoint(str(run / "best")).weights["global"]
    model, _ = ckpt.read_model(str(run / "model"))
    flat = np.concatenate([v.ravel() for v in model.values()])
    assert np.isclose(np.linalg.norm(flat), np.linalg.norm(best.astype(np.float32)), rtol=1e-6)
    # the stop round is checkpointed, and a resumed run stays stopped
    assert (run / "checkpoints" / "round-000002").is_dir()
    capsys.readouterr()
    again = train(small_config(char_dataset, run, **{
        "train.validate_every": 1, "train.early_stop_patience": 2,
        "train.early_stop_min_delta": 100.0, "train.resume": "yes"}), quiet=True)
    assert again["rounds"] == 3
    assert "already finished: early stop" in capsys.readouterr().err
    assert records(run) == recs


def test_summary_json_carries_stop_reason_and_export_last(char_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", char_dataset, "--run-dir", str(run), "--runner", "inline",
                 "--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
                 "--steps-per-round", "1", "--max-rounds", "3", "--validate-every", "1",
                 "--export", "last", "--quiet"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["stop_reason"] == "completed" and out["exported"] == "last"
    last = ckpt.load_checkpoint(str(run / "checkpoints" / "round-000002")).weights["global"]
    model, _ = ckpt.read_model(str(run / "model"))
    flat = np.concatenate([v.ravel() for v in model.values()])
    assert np.isclose(np.linalg.norm(flat), np.linalg.norm(last.astype(np.float32)), rtol=1e-6)


@pytest.mark.parametrize("flag, value, words", [
    ("--early-stop-patience", "-1", "train.early_stop_patience (--early-stop-patience) must be >= 0"),
    ("--early-stop-min-delta", "-0.5", "must be >= 0"),
    ("--export", "first", "'first' is not one of best, last"),
    ("--metrics-flush-seconds", "0", "must be > 0"),
    ("--progress-seconds", "-3", "must be > 0"),
    ("--spark-log-level", "LOUD", "is not one of"),
    ("--tensorboard-dir", "hdfs:///user/me/tb", "written to a local directory; give a local path"),
    ("--tensorboard-dir", "ftp://host/tb", "unsupported scheme 'ftp'"),
])
def test_bad_observe_options_are_one_line(char_dataset, tmp_path, capsys, flag, value, words):
    run = tmp_path / "run"
    assert main(["train", "--data", char_dataset, "--run-dir", str(run), flag, value]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "\n" not in err
    assert not run.exists()


def test_missing_tracker_library_is_refused_before_anything_is_made(char_dataset, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tensorboardX", None)  # as if not installed
    with pytest.raises(ConfigError, match=r"pip install 'rnn-spark\[tensorboard\]'"):
        train(small_config(char_dataset, tmp_path / "run", **{"train.tensorboard_dir": str(tmp_path / "tb")}))
    assert not (tmp_path / "run").exists()


def test_every_round_is_in_metrics_before_its_checkpoint_exists(char_dataset, tmp_path, monkeypatch):
    """A run killed right after a checkpoint resumes from it with the metrics of every round up to
    it: the loop flushes metrics.jsonl before each checkpoint is written."""
    seen = []
    write = ckpt.write_checkpoint

    def spy(run, rnd, *args, **kwargs):
        lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
        seen.append((rnd, sorted({json.loads(x)["round"] for x in lines
                                  if json.loads(x)["kind"] == "round"})))
        return write(run, rnd, *args, **kwargs)

    monkeypatch.setattr(ckpt, "write_checkpoint", spy)
    train(small_config(char_dataset, tmp_path / "run", **{"train.max_rounds": 6,
                                                          "train.checkpoint_every": 2}), quiet=True)
    assert [r for r, _ in seen] == [1, 3, 5]
    assert all(rounds == list(range(r + 1)) for r, rounds in seen)
    final = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert all("checkpoint_s" in r for r in final if r["kind"] == "round" and r["round"] in (1, 3, 5))
