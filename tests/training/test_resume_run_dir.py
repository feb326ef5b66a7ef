"""#21.5/#21.6: `rnn-spark train --run-dir RUN --resume` alone continues a run (its config.toml is
the base, flags are changes to it), bit for bit; Ctrl-C says where the run stands and how to go
on; the bad inputs of a resume are one line each, with nothing created or deleted."""

import json
import shutil

import pytest
from fault_tools import (assert_same_weights, checkpoint_names, fault_env, interrupt, job_env,
                         train_argv, weights)
from safety_helpers import assert_user_error, run_cli, snapshot, strict_json, tiny_args
from trainer_config import SMALL_FLAGS

from rnn_spark import config
from rnn_spark.training.resume import config_changes

ARGS = ["--runner", "inline", *SMALL_FLAGS]  # the `undisturbed` run (conftest.py)


def test_ctrl_c_says_how_to_continue_and_run_dir_alone_resumes_bit_for_bit(
        char_dataset, tmp_path, undisturbed, capsys):
    run, faults = tmp_path / "run", tmp_path / "faults"
    # held in round 4 (index 3): after the checkpoint of round index 1, before the one of 3
    log = interrupt(train_argv("--data", char_dataset, "--run-dir", str(run), *ARGS),
                    job_env(**fault_env(faults, 3)), faults, tmp_path / "first.log")
    lines = [x for x in log.splitlines() if x.strip()]
    assert lines[-1] == (f"rnn-spark: interrupted in round 4/6; the newest checkpoint is "
                         f"round-000001 (rounds 1..2); continue with: rnn-spark train --run-dir "
                         f"{run} --resume"), log
    assert "Traceback" not in log and "aborted" not in log
    assert checkpoint_names(run) == ["round-000001"]

    rc, out, err = run_cli(capsys, ["train", "--run-dir", str(run), "--resume"])
    assert rc == 0, err
    assert "resuming from" in err and strict_json(out.splitlines()[-1])["rounds"] == 6
    assert_same_weights(weights(str(run / "model")), undisturbed)


def test_ctrl_c_before_the_first_checkpoint(char_dataset, tmp_path):
    run, faults = tmp_path / "run", tmp_path / "faults"
    log = interrupt(train_argv("--data", char_dataset, "--run-dir", str(run), *ARGS),
                    job_env(**fault_env(faults, 0)), faults, tmp_path / "first.log")
    assert log.rstrip().endswith(
        f"rnn-spark: interrupted in round 1/6, before the first checkpoint; start it again with: "
        f"rnn-spark train --run-dir {run} --resume")


@pytest.fixture
def stopped(char_dataset, tmp_path, capsys):
    """A run of 2 rounds (of `tiny_args`), to be continued."""
    run = tmp_path / "run"
    assert run_cli(capsys, tiny_args(char_dataset, run, "--quiet"))[0] == 0
    return run


def test_precedence_defaults_run_config_files_set_flags(stopped, tmp_path, capsys):
    extra = tmp_path / "more.toml"
    extra.write_text("[train]\nmax_rounds = 5\nvalidate_every = 4\ncheckpoint_every = 3\n")
    rc, out, err = run_cli(capsys, ["config", "--run-dir", str(stopped), "--resume",
                                    "--config", str(extra), "--set", "train.validate_every=6",
                                    "--set", "train.checkpoint_every=7", "--checkpoint-every", "8"])
    assert rc == 0, err
    cfg = config.tomllib.loads(out)
    assert cfg["train"]["k1"] == 8 and cfg["model"]["hidden_sizes"] == [8]  # the run's, not defaults
    assert cfg["train"]["max_rounds"] == 5            # a --config file over the run's
    assert cfg["train"]["validate_every"] == 6        # --set over the file
    assert cfg["train"]["checkpoint_every"] == 8      # a flag over --set
    assert cfg["train"]["run_dir"] == str(stopped) and cfg["train"]["resume"] == "yes"
    # without --resume the run directory is not read
    rc, out, _ = run_cli(capsys, ["config", "--run-dir", str(stopped)])
    assert rc == 0 and config.tomllib.loads(out)["train"]["k1"] == 50


def test_display_and_logging_keys_may_change(stopped, capsys):
    rc, out, err = run_cli(capsys, ["train", "--run-dir", str(stopped), "--resume", "--max-rounds",
                                    "3", "--progress-seconds", "5", "--metrics-flush-seconds", "2",
                                    "--quiet"])
    assert rc == 0, err
    assert strict_json(out.splitlines()[-1])["rounds"] == 3
    saved = {"train": {"tensorboard_dir": "", "mlflow": False, "mlflow_uri": "mlruns",
                       "mlflow_experiment": "rnn-spark", "progress_seconds": 30.0,
                       "metrics_flush_seconds": 30.0}}
    cfg = config.load([], {"train.tensorboard_dir": "tb", "train.mlflow": True,
                           "train.mlflow_uri": "http://x", "train.mlflow_experiment": "e",
                           "train.progress_seconds": 1, "train.metrics_flush_seconds": 1})
    assert [k for k, _, _ in config_changes(saved, cfg) if k.startswith("train.")] == []


def test_a_moved_run_resumes_where_it_is(stopped, tmp_path, capsys):
    moved = tmp_path / "moved"
    shutil.move(str(stopped), moved)
    rc, out, err = run_cli(capsys, ["train", "--run-dir", str(moved), "--resume", "--max-rounds",
                                    "3", "--quiet"])
    assert rc == 0, err
    assert (moved / "checkpoints" / "round-000002").is_dir() and not stopped.exists()
    assert config.tomllib.loads((moved / "config.toml").read_text())["train"]["run_dir"] == str(moved)


def test_not_a_run(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("precious")
    (tmp_path / "afile").write_text("x")
    for name, what in (("gone", "does not exist, so there is no run to resume"),
                       ("afile", "is a file, so there is no run to resume"),
                       ("empty", "not a run directory (no .rnn-spark-run or config.toml)"),
                       ("mine", "not a run directory")):
        line = assert_user_error(capsys, ["train", "--run-dir", str(tmp_path / name), "--resume"],
                                 [tmp_path], f"{tmp_path / name}: {what}", "pass --data")
        assert "check --run-dir" in line


@pytest.mark.parametrize("damage, needle", [
    (lambda p: p.write_text("[train\nk1 = 8\n"), "config.toml: damaged (not valid TOML: "),
    (lambda p: p.write_bytes(b"\xff\xfe\x00"), "config.toml: damaged (not valid TOML: "),
    (lambda p: p.unlink(), "config.toml: missing; --resume continues the run from it"),
    (lambda p: p.write_text(p.read_text().replace('cell = "lstm"', 'cell = "xyz"')),
     "config.toml: model.cell (--cell): 'xyz' is not one of"),
    (lambda p: p.write_text(p.read_text() + "\n[extra]\nx = 1\n"),
     "config.toml: unknown section [extra]"),
])
def test_damaged_run_config(stopped, tmp_path, capsys, damage, needle):
    damage(stopped / "config.toml")
    line = assert_user_error(capsys, ["train", "--run-dir", str(stopped), "--resume"], [tmp_path],
                             needle)
    if "damaged" in needle or "missing" in needle:
        assert "restore it (every checkpoint's meta.json holds the run's configuration" in line


def test_a_key_that_may_not_change_is_refused(stopped, tmp_path, capsys):
    assert_user_error(capsys, ["train", "--run-dir", str(stopped), "--resume", "--max-rounds", "3",
                               "--cell", "gru", "--lr", "0.1"], [tmp_path], "cannot resume",
                      "model.cell (--cell) lstm -> gru", "optim.lr (--lr) 0.002 -> 0.1")


def test_resume_with_data_on_a_new_directory_still_starts_a_run(char_dataset, tmp_path, capsys):
    rc, out, err = run_cli(capsys, tiny_args(char_dataset, tmp_path / "new", "--resume", "--quiet"))
    assert rc == 0 and "nothing to resume" in err
    assert json.loads(out.splitlines()[-1])["rounds"] == 2
    assert snapshot(tmp_path / "new")  # made


# -- a finished run, resumed (#21.5) ----------------------------------------------------------
def test_a_finished_run_prints_the_summary_it_ended_with(char_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    rc, out, _ = run_cli(capsys, tiny_args(char_dataset, run, "--quiet", "--early-stop-patience",
                                           "1", "--max-rounds", "8", "--lr", "0.2"))
    ended = strict_json(out.splitlines()[-1])
    assert rc == 0 and ended["stop_reason"] != "completed" and ended["seconds"] > 0
    before = snapshot(run)
    rc, out, err = run_cli(capsys, ["train", "--run-dir", str(run), "--resume"])
    assert rc == 0 and "already finished" in err
    assert strict_json(out.splitlines()[-1]) == ended
    assert snapshot(run) == before


def test_a_finished_run_without_summary_json_gets_one_rebuilt(stopped, capsys):
    (stopped / "summary.json").unlink()   # as runs of earlier releases end
    rc, out, err = run_cli(capsys, ["train", "--run-dir", str(stopped), "--resume"])
    s = strict_json(out.splitlines()[-1])
    assert rc == 0 and s["rounds"] == 2 and s["stop_reason"] == "completed"
    assert s["exported"] == "best" and s["best_val_loss"] > 0 and s["seconds"] > 0
    assert s["val_loss"] == s["best_val_loss"] or s["val_loss"] > s["best_val_loss"]


def test_a_missing_model_is_the_one_train_export_names(char_dataset, tmp_path, capsys):
    """Stopped after its last checkpoint, before the model: the model written on resume is the
    best validation's (train.export = best), as the run would have written, not the last round's."""
    run = tmp_path / "run"
    rc, out, _ = run_cli(capsys, tiny_args(char_dataset, run, "--quiet", "--max-rounds", "6",
                                           "--lr", "0.2"))
    vals = [json.loads(x)["loss"] for x in (run / "metrics.jsonl").open()
            if json.loads(x)["kind"] == "val"]
    assert rc == 0 and min(vals) < vals[-1]      # the best is not the last round's
    want = weights(str(run / "model"))
    shutil.rmtree(run / "model")
    rc, out, err = run_cli(capsys, ["train", "--run-dir", str(run), "--resume"])
    assert rc == 0 and f"model written to {run / 'model'} (best, from " in err
    assert_same_weights(weights(str(run / "model")), want)


def test_a_run_stopped_before_its_config_toml_starts_again_with_data(char_dataset, tmp_path,
                                                                    capsys):
    """Made (marker) and stopped before config.toml was written: with --data there is a whole
    configuration, and nothing to resume; --resume auto (a YARN re-attempt) starts it."""
    run = tmp_path / "run"
    run.mkdir()
    (run / ".rnn-spark-run").write_text('{"rnn_spark_run": 1}\n')
    rc, out, err = run_cli(capsys, tiny_args(char_dataset, run, "--resume", "auto", "--quiet"))
    assert rc == 0, err
    assert strict_json(out.splitlines()[-1])["rounds"] == 2
