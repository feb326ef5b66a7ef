"""Speculative execution (spark.speculation=true): a straggling task's speculative copy finishes
the round; the final weights equal an undisturbed run's bit for bit.

Spark never starts a speculative copy on a host where the task already ran, and never speculates
in local mode, so neither local[N] nor the one-host YARN test cluster can show it. This module
starts a small Spark standalone cluster whose two workers register under two host names of this
machine (127.0.0.1 and localhost): the copy then has another "host" to run on.
"""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from fault_tools import (assert_same_weights, fault_env, finish, job_env, kill_group, start_job,
                         train_argv, wait_held, weights)
from trainer_config import small_config

from rnn_spark.training.loop import train

ARGS = ["--hidden-sizes", "24", "--embedding-size", "12", "--k1", "16", "--batch-size", "8",
        "--steps-per-round", "2", "--workers", "2", "--max-rounds", "4", "--validate-every", "4",
        "--checkpoint-every", "2", "--quiet"]
SPECULATION = {"spark.speculation": "true", "spark.speculation.interval": "100ms",
               "spark.speculation.multiplier": "1.5", "spark.speculation.quantile": "0.5",
               "spark.speculation.minTaskRuntime": "2s",
               "spark.speculation.efficiency.enabled": "false",
               "spark.executor.cores": "1", "spark.cores.max": "2", "spark.executor.memory": "512m"}


def _spark_class(*args, log: Path, env: dict) -> subprocess.Popen:
    import pyspark
    cmd = [str(Path(pyspark.__file__).parent / "bin" / "spark-class"), *args]
    with open(log, "ab") as out:
        return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def _wait_log(log: Path, pattern: str, proc: subprocess.Popen, timeout: float = 240) -> re.Match:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, log.read_text(errors="replace")) if log.exists() else None
        if m:
            return m
        assert proc.poll() is None, f"{log.name} ended:\n{log.read_text()[-3000:]}"
        time.sleep(0.5)
    raise AssertionError(f"{pattern!r} not in {log} after {timeout}s")


@pytest.fixture(scope="module")
def two_host_cluster(tmp_path_factory):
    """spark://127.0.0.1:PORT with one 1-core worker on host 127.0.0.1 and one on localhost."""
    import pyspark
    d = tmp_path_factory.mktemp("standalone")
    env = dict(os.environ, SPARK_HOME=str(Path(pyspark.__file__).parent),
               SPARK_LOCAL_IP="127.0.0.1", SPARK_MASTER_OPTS="-Dspark.master.rest.enabled=false")
    procs = [_spark_class("org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                          "--port", "0", "--webui-port", "0", log=d / "master.log", env=env)]
    try:
        url = _wait_log(d / "master.log", r"Starting Spark master at (spark://\S+)", procs[0]).group(1)
        for i, host in enumerate(("127.0.0.1", "localhost")):
            procs.append(_spark_class(
                "org.apache.spark.deploy.worker.Worker", "--host", host, "--cores", "1",
                "--memory", "1g", "--webui-port", "0", "--work-dir", str(d / f"work{i}"), url,
                log=d / f"worker{i}.log", env=dict(env, SPARK_LOCAL_HOSTNAME=host)))
        for i, p in enumerate(procs[1:]):
            _wait_log(d / f"worker{i}.log", r"Successfully registered with master", p)
        yield url
    finally:
        for p in procs:  # each in its own session with the executors it started
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=30)


@pytest.mark.spark
def test_speculative_copy_of_a_held_task_gives_the_same_weights(char_dataset, tmp_path,
                                                                 two_host_cluster):
    undisturbed = tmp_path / "undisturbed"
    train(small_config(char_dataset, undisturbed, **{"train.max_rounds": 4,
                                                     "train.validate_every": 4}), quiet=True)
    faults = tmp_path / "faults"
    hold = fault_env(faults, 1, worker=0, wait=600)  # held until the test ends: a straggler
    conf = {**SPECULATION, **{f"spark.executorEnv.{k}": v for k, v in hold.items()}}
    proc = start_job(train_argv("--data", char_dataset, "--run-dir", str(tmp_path / "run"), *ARGS,
                                "--runner", "spark", "--master", two_host_cluster,
                                "--set", f"spark.conf={json.dumps(conf)}"),
                     job_env(SPARK_LOCAL_IP="127.0.0.1"), tmp_path / "job.log")
    try:
        wait_held(faults, proc)
        # The held attempt never returns (no release file): only a speculative copy of that
        # task on the other worker can finish round 1 and let the run end.
        finish(proc, timeout=500)
    finally:
        kill_group(proc)
    assert not (faults / "release").exists()
    assert_same_weights(weights(str(tmp_path / "run" / "model")), weights(str(undisturbed / "model")))
