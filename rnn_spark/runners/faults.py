"""Fault points for the fault tests: hold one training task at a known moment, so a test can kill
a real process (a Spark Python worker, an executor, the driver, a DataNode) while a round runs.

Off unless ``RNN_SPARK_FAULT_DIR`` is set (tests only; one ``os.environ.get`` per task otherwise).

    RNN_SPARK_FAULT_DIR=/tmp/f     a directory the test watches (must exist; local to the host)
    RNN_SPARK_FAULT_ROUND=3        the round to hold (default 0)
    RNN_SPARK_FAULT_WORKER=0       the worker (task index) to hold (default 0)
    RNN_SPARK_FAULT_WAIT=600       seconds to hold at most (default 600)

The first process to reach that task creates ``<dir>/paused.json`` (exclusively) holding its pid,
parent pid, host, round and worker, then waits until ``<dir>/release`` exists, the wait runs out,
or its parent process is gone. Because the file is created exclusively, the hold happens once per
directory: a retried task, a resumed run or a second YARN attempt runs straight through.
"""

from __future__ import annotations

import json
import os
import socket
import time

DIR_ENV = "RNN_SPARK_FAULT_DIR"
FAULT_ENV = (DIR_ENV, "RNN_SPARK_FAULT_ROUND", "RNN_SPARK_FAULT_WORKER", "RNN_SPARK_FAULT_WAIT")


def _field(task, name):
    if isinstance(task, dict):
        return task.get(name)
    return getattr(task, name, None)


def maybe_hold(task) -> None:
    """Hold this task if it is the one the fault test asked for (see the module docstring)."""
    where = os.environ.get(DIR_ENV)
    if not where:
        return
    rnd, worker = _field(task, "round"), _field(task, "worker")
    if rnd is None or int(rnd) != int(os.environ.get("RNN_SPARK_FAULT_ROUND", "0")) \
            or int(worker or 0) != int(os.environ.get("RNN_SPARK_FAULT_WORKER", "0")):
        return
    try:
        fd = os.open(os.path.join(where, "paused.json"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return  # held once already: retries and resumed runs go through
    parent = os.getppid()
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "ppid": parent, "host": socket.gethostname(),
                   "round": int(rnd), "worker": int(worker or 0)}, f)
    deadline = time.monotonic() + float(os.environ.get("RNN_SPARK_FAULT_WAIT", "600"))
    release = os.path.join(where, "release")
    while time.monotonic() < deadline and not os.path.exists(release) and os.getppid() == parent:
        time.sleep(0.05)
