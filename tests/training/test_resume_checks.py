"""#8.5, #8.6, #8.8, --resume auto and YARN re-attempts: what a resumed run may change, what a
finished run does, and that stdout is always strict JSON."""

import json
import re

import numpy as np
import pytest
from safety_helpers import assert_user_error, run_cli, snapshot, strict_json, tiny_args

from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.resume import app_attempt, config_changes
from rnn_spark import config


@pytest.fixture
def run(char_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, tiny_args(char_dataset, run, "--quiet"))[0] == 0
    return run


@pytest.mark.parametrize("flags, listed", [
    (["--hidden-sizes", "16"], ["model.hidden_sizes (--hidden-sizes) 8 -> 16"]),
    (["--cell", "gru"], ["model.cell (--cell) lstm -> gru"]),
    (["--cell", "gru", "--k1", "12"], ["model.cell (--cell) lstm -> gru", "train.k1 (--k1) 8 -> 12"]),
    (["--workers", "1"], ["train.workers (--workers) 2 -> 1"]),
    (["--seed", "3"], ["train.seed (--seed) 0 -> 3"]),
    (["--lr", "0.01"], ["optim.lr (--lr) 0.002 -> 0.01"]),
])
def test_changed_configuration_is_refused_in_one_line(char_dataset, run, tmp_path, capsys, flags,
                                                      listed):
    line = assert_user_error(capsys, tiny_args(char_dataset, run, "--resume", "--max-rounds", "4",
                                               *flags), [tmp_path], "cannot resume", *listed)
    assert "ValueError" not in line and "shape" not in line


def test_another_dataset_is_refused(char_dataset, run, tmp_path, capsys):
    from rnn_spark import ingest

    other = tmp_path / "other"
    ingest.ingest_text([__file__], str(other), seq_len=33,
                     rows_per_group=64, val_fraction=0.1, seed=3, quiet=True)
    line = assert_user_error(capsys, tiny_args(other, run, "--resume", "--max-rounds", "4"),
                             [tmp_path], "cannot resume", "dataset")
    # what differs is named (#21.4), not only "other content"
    assert re.search(re.escape(f"-> {other} (vocabulary differs: id ") + r"\d+ is '.' in the run, '.' "
                     r"in this dataset \(\d+ of \d+ ids differ\)\)", line), line


def test_safe_keys_may_change(char_dataset, run, capsys):
    rc, out, err = run_cli(capsys, tiny_args(char_dataset, run, "--resume", "--max-rounds", "3",
                                             "--validate-every", "2", "--checkpoint-every", "3",
                                             "--keep-checkpoints", "5", "--quiet"))
    assert rc == 0, err
    assert strict_json(out.splitlines()[-1])["rounds"] == 3


def test_schedule_change_is_a_warning(char_dataset, tmp_path, capsys):
    run = tmp_path / "cos"
    args = tiny_args(char_dataset, run, "--schedule", "cosine", "--quiet")
    assert run_cli(capsys, args)[0] == 0
    rc, _, err = run_cli(capsys, args + ["--resume", "--max-rounds", "4"])
    assert rc == 0 and "warning: the cosine learning-rate schedule now spans 4 local steps " \
                       "instead of 2" in err and "--total-steps 2" in err
    # keeping the length of the schedule (4 steps since the last resume) is allowed and quiet
    rc, _, err = run_cli(capsys, args + ["--resume", "--max-rounds", "5", "--total-steps", "4"])
    assert rc == 0 and "warning" not in err


def test_finished_run_changes_nothing(char_dataset, run, capsys):
    before = snapshot(run)
    rc, out, err = run_cli(capsys, tiny_args(char_dataset, run, "--resume"))
    assert rc == 0
    assert "already finished at round 1; raise --epochs or --max-rounds to train further" in err
    assert "-" not in err.split("already finished")[1].split(";")[0]  # no "done: -995 rounds"
    summary = strict_json(out.splitlines()[-1])
    assert summary["rounds"] == 2 and summary["train_loss"] > 0 and summary["val_loss"] > 0
    assert snapshot(run) == before


def test_finished_run_writes_a_missing_model(char_dataset, run, capsys):
    """Stopped between the last checkpoint and the final model: the model is written from it."""
    weights = ckpt.read_model(str(run / "model"))[0]
    import shutil
    shutil.rmtree(run / "model")
    rc, out, err = run_cli(capsys, tiny_args(char_dataset, run, "--resume", "--quiet"))
    assert rc == 0 and "model written" in err
    again = ckpt.read_model(str(run / "model"))[0]
    assert all(np.array_equal(weights[k], again[k]) for k in weights)


def test_stdout_is_strict_json_without_validation(char_dataset, tmp_path, capsys):
    rc, out, _ = run_cli(capsys, tiny_args(char_dataset, tmp_path / "r", "--quiet", "--val-split", ""))
    assert rc == 0 and strict_json(out.splitlines()[-1])["val_loss"] is None


def test_summary_json_turns_nan_into_null():
    from rnn_spark.cli.train import summary_json

    s = strict_json(summary_json({"rounds": 1, "train_loss": float("nan"),
                                  "val": {"loss": float("inf")}, "seconds": 1.0, "model": "m"}))
    assert s["train_loss"] is None and s["val_loss"] is None


def test_resume_with_nothing_to_resume_says_so(char_dataset, tmp_path, capsys):
    rc, out, err = run_cli(capsys, tiny_args(char_dataset, tmp_path / "new", "--resume", "--quiet"))
    assert rc == 0 and "nothing to resume" in err and "starting a new run" in err
    assert strict_json(out.splitlines()[-1])["rounds"] == 2


def test_resume_auto_starts_then_continues(char_dataset, tmp_path, capsys):
    run = tmp_path / "auto"
    rc, _, err = run_cli(capsys, tiny_args(char_dataset, run, "--resume", "auto", "--quiet"))
    assert rc == 0 and len([l for l in err.splitlines() if l.strip()]) == 1  # one info line
    rc, out, err = run_cli(capsys, tiny_args(char_dataset, run, "--resume", "auto", "--max-rounds", "3"))
    assert rc == 0 and "resuming from" in err and strict_json(out.splitlines()[-1])["rounds"] == 3


def test_resume_auto_refuses_a_different_configuration(char_dataset, run, tmp_path, capsys):
    assert_user_error(capsys, tiny_args(char_dataset, run, "--resume", "auto", "--cell", "gru"),
                      [tmp_path], "cannot resume")


def test_config_changes_reads_first_release_configs():
    cfg = config.load([], {"train.resume": "yes"})
    old = cfg.to_dict()
    old["train"]["resume"] = True  # the first release saved a boolean
    del old["train"]["on_nonfinite"]  # and did not have this key
    assert config_changes(old, cfg) == []


@pytest.mark.parametrize("container, attempt", [
    ("container_e02_1700000000000_0001_02_000001", 2),
    ("container_1700000000000_0007_01_000001", 1),
    ("container_1700000000000_0007_03_000001", 3),
    ("", 1),
    ("garbage", 1),
])
def test_yarn_attempt_from_container_id(container, attempt):
    assert app_attempt({"CONTAINER_ID": container}) == attempt


@pytest.mark.parametrize("argv, expected", [
    (["--data", "d", "--overwrite"], ["--data", "d", "--resume", "auto"]),
    (["--resume", "--lr", "0.1"], ["--lr", "0.1", "--resume", "auto"]),
    (["--resume", "no", "--no-resume", "--resume=yes"], ["--resume", "auto"]),
])
def test_reattempt_arguments(argv, expected):
    from rnn_spark.training.resume import reattempt_args

    assert reattempt_args(argv) == expected


def test_jobs_train_resumes_on_a_yarn_reattempt(char_dataset, tmp_path):
    """jobs/train.py as the driver of attempt 2 (CONTAINER_ID says so) continues the run that
    attempt 1 left, even though the submitted command says --overwrite."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    run = tmp_path / "run"
    args = tiny_args(char_dataset, run, "--quiet", "--overwrite")[1:]
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("CONTAINER_ID", None)
    first = subprocess.run([sys.executable, str(root / "jobs" / "train.py"), *args], env=env,
                           capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    env["CONTAINER_ID"] = "container_e01_1700000000000_0001_02_000001"
    second = subprocess.run([sys.executable, str(root / "jobs" / "train.py"), *args,
                             "--max-rounds", "3"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert second.returncode == 0, second.stderr
    assert "attempt 2" in second.stderr and "resuming from" not in second.stderr  # --quiet
    rounds = [json.loads(l)["round"] for l in (run / "metrics.jsonl").read_text().splitlines()
              if json.loads(l)["kind"] == "round"]
    assert rounds == [0, 1, 2]  # continued, not started over


def test_first_release_run_dir_resumes_bit_for_bit(char_dataset, tmp_path, capsys):
    """A run directory of the previous release (no marker, checkpoints without checksums.json or
    model.json, meta without the dataset fingerprint, resume saved as a boolean) still resumes,
    and ends with the same weights as a run that never stopped."""
    full, cut = tmp_path / "full", tmp_path / "cut"
    assert run_cli(capsys, tiny_args(char_dataset, full, "--quiet", "--max-rounds", "4"))[0] == 0
    assert run_cli(capsys, tiny_args(char_dataset, cut, "--quiet"))[0] == 0
    (cut / ".rnn-spark-run").unlink()
    for d in (cut / "checkpoints").iterdir():
        (d / "checksums.json").unlink()
        (d / "model.json").unlink()
        meta = json.loads((d / "meta.json").read_text())
        for key in ("dataset_fingerprint", "total_steps"):
            del meta[key]
        meta["config"]["train"]["resume"] = False
        del meta["config"]["train"]["on_nonfinite"], meta["config"]["train"]["verify_data"]
        (d / "meta.json").write_text(json.dumps(meta))
    rc, _, err = run_cli(capsys, tiny_args(char_dataset, cut, "--resume", "--max-rounds", "4"))
    assert rc == 0 and "resuming from" in err and "round-000001" in err
    a, b = ckpt.read_model(str(full / "model"))[0], ckpt.read_model(str(cut / "model"))[0]
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_a_moved_dataset_with_the_same_content_may_resume(char_dataset, run, tmp_path, capsys):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(char_dataset, moved)
    rc, out, err = run_cli(capsys, tiny_args(moved, run, "--resume", "--max-rounds", "3", "--quiet"))
    assert rc == 0, err
    assert strict_json(out.splitlines()[-1])["rounds"] == 3
