"""How e2e tests launch a training job on YARN -- ONE place, so the launcher can change (say, to
`rnn-spark submit` shipping a packed Python environment) without touching the tests.

start_train(cluster, args, log=..., deploy_mode=..., conf=..., task_env=...) -> subprocess.Popen
    runs jobs/train.py ARGS through spark-submit in the background (its own session; output in
    `log`). `task_env` reaches the executors (and, in cluster mode, the driver in the YARN AM).
    Wait with fault_tools.finish(proc); clean up with fault_tools.kill_group(proc).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from fault_tools import TRAIN_JOB, job_env, start_job  # noqa: E402

from rnn_spark.runners.spark import BLAS_PIN_ENV  # noqa: E402


def start_train(cluster, args: list[str], *, log: Path, deploy_mode: str = "client",
                conf: dict | None = None, task_env: dict | None = None):
    settings = dict(conf or {})
    # Same BLAS kernels on every process (bitwise equality); the driver in the AM gets them too.
    pins = {v: os.environ[v] for v in BLAS_PIN_ENV if os.environ.get(v)}
    for key, value in {**pins, **(task_env or {})}.items():
        settings[f"spark.executorEnv.{key}"] = value
        settings[f"spark.yarn.appMasterEnv.{key}"] = value
    # Every container runs the packed rnn-spark environment (the cluster's own Python is bare),
    # as `rnn-spark submit` does; the client-mode driver is this Python with this checkout.
    argv = cluster.spark_submit_cmd(TRAIN_JOB, *args, deploy_mode=deploy_mode, conf=settings)
    env = cluster.spark_submit_env(deploy_mode)
    if deploy_mode == "client":
        env = job_env(env)
    return start_job(argv, env, log)
