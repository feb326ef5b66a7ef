"""Fault tests on the YARN test cluster: real processes SIGKILLed from outside mid-round.

A task of a chosen round is held (rnn_spark/runners/faults.py) in its executor; the test finds the
process to kill in /proc (the executor's container JVM, the client-mode driver, the cluster-mode
driver's AM container), kills it with SIGKILL and checks that the run ends with weights
bit-identical to an undisturbed inline run of the same configuration.
"""

import json
import os
import secrets
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from yarn_jobs import start_train

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from fault_tools import (ancestors, assert_same_weights, checkpoint_names, cmdline,  # noqa: E402
                         descendants, fault_env, find_processes, finish, half_written, kill_group,
                         sigkill, wait_gone, wait_held, weights)

from rnn_spark import config, fs, ingest  # noqa: E402
from rnn_spark.training.loop import train  # noqa: E402

# 5 rounds, checkpoints after rounds 1 and 3 (and the last, 4)
ARGS = ["--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
        "--steps-per-round", "2", "--workers", "2", "--max-rounds", "5", "--validate-every", "5",
        "--checkpoint-every", "2", "--seed", "7", "--runner", "spark", "--quiet"]
EXECUTOR = "YarnCoarseGrainedExecutorBackend"
AM = "org.apache.spark.deploy.yarn.ApplicationMaster"


@pytest.fixture(scope="module")
def dataset(hadoop_cluster):
    uri = hadoop_cluster.uri("/tmp/e2e/faults-yarn-dataset")
    src = Path(json.__file__).parent / "*.py"
    ingest.ingest_text([str(src)], uri, seq_len=33, rows_per_group=64, seed=3, overwrite=True,
                     quiet=True, engine="local")
    yield uri
    fs.rm(uri, recursive=True, missing_ok=True)


@pytest.fixture(scope="module")
def undisturbed(dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("undisturbed") / "run"
    keys = [a.lstrip("-").replace("-", "_") for a in ARGS[:-3:2]]
    cfg = config.load([], {**dict(zip(keys, ARGS[1:-3:2])), "data.path": dataset,
                           "train.run_dir": str(run), "train.runner": "inline"})
    train(cfg, quiet=True)
    return weights(str(run / "model"))


def _app(hadoop_cluster, name: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        apps = [a for a in hadoop_cluster.yarn_apps() if a.get("name") == name]
        if apps:
            return apps[0]
        time.sleep(0.5)
    raise AssertionError(f"no YARN application named {name}")


def _wait_app_ended(hadoop_cluster, name: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = _app(hadoop_cluster, name)
        if app["state"] in ("FINISHED", "FAILED", "KILLED"):
            return app
        time.sleep(1)
    raise AssertionError(f"YARN application {name} still running after {timeout}s")


def _cwd(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return ""


def _kill_tree(pid: int) -> list[int]:
    """SIGKILL a process and everything below it (a container dying), the process first."""
    tree = [pid, *descendants(pid)]
    for p in tree:
        sigkill(p)
    wait_gone(tree)
    return tree


def test_executor_container_sigkilled_mid_round(hadoop_cluster, hdfs_tmp, dataset, undisturbed,
                                                tmp_path):
    run, faults = hadoop_cluster.uri(f"{hdfs_tmp}/run"), tmp_path / "faults"
    proc = start_train(hadoop_cluster, ["--data", dataset, "--run-dir", run, *ARGS],
                       log=tmp_path / "job.log", task_env=fault_env(faults, 1))
    try:
        held = wait_held(faults, proc, timeout=600)
        jvm = [p for p in ancestors(held["pid"]) if EXECUTOR in cmdline(p)]
        assert jvm, f"the held task (pid {held['pid']}) runs in no executor JVM"
        _kill_tree(jvm[0])
        log = finish(proc, timeout=900)
    finally:
        kill_group(proc)
    assert "Lost executor" in log or "Lost task" in log, log[-3000:]
    assert_same_weights(weights(fs.join(run, "model")), undisturbed)


def test_client_mode_driver_sigkilled_between_checkpoints_then_resumed(
        hadoop_cluster, hdfs_tmp, dataset, undisturbed, tmp_path):
    run, faults = hadoop_cluster.uri(f"{hdfs_tmp}/run"), tmp_path / "faults"
    name = f"faults-driver-{secrets.token_hex(4)}"
    args = ["--data", dataset, "--run-dir", run, *ARGS]
    proc = start_train(hadoop_cluster, args, log=tmp_path / "first.log",
                       conf={"spark.app.name": name}, task_env=fault_env(faults, 3))
    try:
        wait_held(faults, proc, timeout=600)
        # the driver: spark-submit's JVM (this pid) and the Python program it runs
        python = [p for p in descendants(proc.pid) if "train.py" in cmdline(p)
                  and "SparkSubmit" not in cmdline(p)]
        assert python, [cmdline(p)[:200] for p in descendants(proc.pid)]
        for p in (*python, proc.pid):
            sigkill(p)
        wait_gone([*python, proc.pid])
    finally:
        kill_group(proc)
    _wait_app_ended(hadoop_cluster, name)  # YARN notices the driver is gone and ends the app
    assert checkpoint_names(run) == ["round-000001"]
    assert half_written(run) == []

    again = start_train(hadoop_cluster, [*args, "--resume"], log=tmp_path / "resume.log")
    try:
        finish(again, timeout=900)
    finally:
        kill_group(again)
    assert_same_weights(weights(fs.join(run, "model")), undisturbed)
    assert half_written(run) == []


def test_cluster_mode_am_sigkilled_then_attempt_2_resumes(hadoop_cluster, hdfs_tmp, dataset,
                                                          undisturbed, tmp_path):
    """The driver's container (the YARN AM) dies; YARN starts attempt 2, which continues from the
    checkpoints (jobs/train.py: --resume auto on a re-attempt)."""
    run, faults = hadoop_cluster.uri(f"{hdfs_tmp}/run"), tmp_path / "faults"
    name = f"faults-am-{secrets.token_hex(4)}"
    proc = start_train(hadoop_cluster, ["--data", dataset, "--run-dir", run, *ARGS],
                       deploy_mode="cluster", log=tmp_path / "job.log",
                       conf={"spark.app.name": name, "spark.yarn.maxAppAttempts": "2"},
                       task_env=fault_env(faults, 3))
    try:
        wait_held(faults, proc, timeout=600)
        app = _app(hadoop_cluster, name)
        # the AM's JVM (not the container's `bash -c` launcher above it)
        am = [p for p in find_processes(AM) if app["id"] in cmdline(p) + _cwd(p)
              and cmdline(p).split()[0].endswith("java")]
        assert len(am) == 1, [cmdline(p)[:200] for p in am]
        _kill_tree(am[0])
        finish(proc, timeout=900)
    finally:
        kill_group(proc)
    final = _wait_app_ended(hadoop_cluster, name)
    assert final["finalStatus"] == "SUCCEEDED"
    url = f"{hadoop_cluster.rm_url}/ws/v1/cluster/apps/{app['id']}/appattempts"
    with urllib.request.urlopen(url, timeout=10) as r:
        assert len(json.loads(r.read())["appAttempts"]["appAttempt"]) == 2
    assert_same_weights(weights(fs.join(run, "model")), undisturbed)
    assert half_written(run) == []
