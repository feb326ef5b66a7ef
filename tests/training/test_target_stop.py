"""train.stop_at_val_loss: a run stops at the first validation at or below the target (issue #13's
time-to-loss race uses it; Lightning's EarlyStopping calls it stopping_threshold)."""

import json

from trainer_config import small_config

from rnn_spark.cli import main
from rnn_spark.training.loop import train


def records(run_dir):
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_run_stops_at_the_first_validation_below_the_target(char_dataset, tmp_path, capsys):
    probe = tmp_path / "probe"
    train(small_config(char_dataset, probe, **{"train.validate_every": 1}), quiet=True)
    vals = [r for r in records(probe) if r["kind"] == "val"]
    assert len(vals) >= 3
    target = vals[1]["loss"] + 1e-9          # reached at the second validation, not before
    assert vals[0]["loss"] > target
    run = tmp_path / "run"
    summary = train(small_config(char_dataset, run, **{"train.validate_every": 1,
                                                       "train.stop_at_val_loss": target}), quiet=True)
    assert summary["rounds"] == vals[1]["round"] + 1
    assert summary["stop_reason"].startswith(f"target reached at round {vals[1]['round']}")
    recs = records(run)
    stop = [r for r in recs if r["kind"] == "stop"]
    assert len(stop) == 1 and stop[0]["round"] == vals[1]["round"]
    val_recs = [r for r in recs if r["kind"] == "val"]
    assert all(isinstance(r["time"], float) for r in val_recs)   # wall clock of each validation
    assert [r["loss"] for r in val_recs] == [r["loss"] for r in vals[:2]]
    capsys.readouterr()
    again = train(small_config(char_dataset, run, **{"train.validate_every": 1, "train.resume": "yes",
                                                     "train.stop_at_val_loss": target}), quiet=True)
    assert again["rounds"] == summary["rounds"]
    assert "already finished: target reached" in capsys.readouterr().err


def test_negative_target_is_one_line(char_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", char_dataset, "--run-dir", str(run),
                 "--stop-at-val-loss", "-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "train.stop_at_val_loss (--stop-at-val-loss) must be >= 0" in err and "\n" not in err
    assert not run.exists()
