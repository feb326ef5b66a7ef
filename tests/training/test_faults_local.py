"""Fault tests on one machine: real processes SIGKILLed from outside while a round runs.

A task of round HOLD_ROUND is held (rnn_spark/runners/faults.py) so the kill lands mid-round, at
the same point every time; the held process writes its pid, which the test checks against /proc
before it kills. Every case must end with final weights bit-identical to an undisturbed run.
"""

import json

import pytest
from fault_tools import (alive, ancestors, assert_same_weights, checkpoint_names, cmdline,
                         descendants, fault_env,
                         finish, half_written, job_env, kill_group, release, sigkill, start_job,
                         train_argv, wait_gone, wait_held, weights)
from trainer_config import SMALL_FLAGS

from rnn_spark import fs

# The same run as trainer_config.small_config (the `undisturbed` fixture's weights): 6 rounds,
# checkpoints after rounds 1, 3, 5.
ARGS = [*SMALL_FLAGS, "--quiet"]
HOLD_ROUND = 3  # after the checkpoint of round 1, before the one of round 3


def _argv(dataset, run, *extra):
    return train_argv("--data", dataset, "--run-dir", str(run), *ARGS, *extra)


@pytest.mark.spark
def test_python_worker_sigkilled_mid_round_is_retried_to_the_same_weights(
        char_dataset, tmp_path, undisturbed):
    faults = tmp_path / "faults"
    proc = start_job(_argv(char_dataset, tmp_path / "run", "--runner", "spark",
                           "--master", "local[2,4]"),
                     job_env(**fault_env(faults, HOLD_ROUND, worker=1)), tmp_path / "job.log")
    try:
        held = wait_held(faults, proc)
        pid = held["pid"]
        # a Python worker forked by PySpark's daemon, below this job's driver (via its JVM)
        assert "pyspark" in cmdline(pid) and proc.pid in ancestors(pid), cmdline(pid)
        assert pid != proc.pid and held["round"] == HOLD_ROUND
        sigkill(pid)
        wait_gone([pid])
        release(faults)
        log = finish(proc)
    finally:
        kill_group(proc)
    assert "Lost task" in log or "exited unexpectedly" in log, log[-3000:]  # Spark saw the loss
    assert_same_weights(weights(str(tmp_path / "run" / "model")), undisturbed)


@pytest.mark.parametrize("runner", ["inline", pytest.param("spark", marks=pytest.mark.spark)])
def test_driver_sigkilled_between_checkpoints_resumes_to_the_same_weights(
        char_dataset, tmp_path, undisturbed, runner):
    run, faults = tmp_path / "run", tmp_path / "faults"
    extra = ["--runner", runner] + (["--master", "local[2]"] if runner == "spark" else [])
    proc = start_job(_argv(char_dataset, run, *extra),
                     job_env(**fault_env(faults, HOLD_ROUND)), tmp_path / "first.log")
    try:
        held = wait_held(faults, proc)
        if runner == "inline":
            assert held["pid"] == proc.pid  # the task runs in the driver itself
        else:
            assert proc.pid in ancestors(held["pid"])
        below = descendants(proc.pid)  # Spark's JVM, PySpark's daemon and workers
        sigkill(proc.pid)
        assert proc.wait(timeout=30) == -9
        # the driver's helpers notice and go away by themselves: nothing keeps running
        wait_gone(below, timeout=60)
    finally:
        release(faults)
        kill_group(proc)
    # the kill left the newest complete checkpoint and nothing half-written
    assert checkpoint_names(run) == ["round-000001"]
    assert half_written(str(run)) == []
    assert not (run / "model").exists()

    again = start_job(_argv(char_dataset, run, *extra, "--resume"), job_env(),
                      tmp_path / "resume.log")
    try:
        finish(again)
    finally:
        kill_group(again)
    assert_same_weights(weights(str(run / "model")), undisturbed)
    assert half_written(str(run)) == []
    rounds = [json.loads(line)["round"] for line in fs.read_text(str(run / "metrics.jsonl")).splitlines()
              if json.loads(line)["kind"] == "round"]
    assert rounds == list(range(6))  # each round once: the redone rounds replaced, not appended
    assert not any(alive(p) for p in below)


@pytest.mark.spark
def test_nan_from_a_spark_worker_names_round_and_worker_and_skip_worker_continues(
        char_dataset, tmp_path):
    """A worker's result turns NaN (RNN_SPARK_INJECT_NAN, tests only) inside a Spark task."""
    run = tmp_path / "run"
    spark = ["--runner", "spark", "--master", "local[2]"]
    proc = start_job(_argv(char_dataset, run, *spark), job_env(RNN_SPARK_INJECT_NAN="2:1"),
                     tmp_path / "stop.log")
    try:
        assert proc.wait(timeout=600) == 2
    finally:
        kill_group(proc)
    err = [ln for ln in (tmp_path / "stop.log").read_text().splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and err[0].startswith("error: round 2, worker 1:"), err
    assert "Traceback" not in (tmp_path / "stop.log").read_text()
    assert checkpoint_names(run) == ["round-000001"]
    assert half_written(str(run)) == [] and not (run / "model").exists()

    # skip_worker: the run goes on without that result, the same on Spark as inline
    skip = ["--on-nonfinite", "skip_worker"]
    for name, extra in (("inline", ["--runner", "inline"]), ("spark", spark)):
        job = start_job(_argv(char_dataset, tmp_path / name, *extra, *skip),
                        job_env(RNN_SPARK_INJECT_NAN="2:1"), tmp_path / f"{name}.log")
        try:
            finish(job)
        finally:
            kill_group(job)
    assert_same_weights(weights(str(tmp_path / "spark" / "model")),
                        weights(str(tmp_path / "inline" / "model")))
