"""The secured stage's YARN applications, run in the background.

An application on the test cluster spends most of its minute waiting: for its containers to be
localized, for the application master's and the executors' JVMs, for YARN's heartbeats. So the
session starts every ``rnn-spark submit`` it needs at once, before its first test (they run while
the edge-node tests run), at most ``RNN_SPARK_SECURE_YARN_PARALLEL`` (default 3: three small
applications fill the test NodeManager's 8 GiB) at a time; a job that needs another's output names
it in ``after`` and starts when that one succeeded. A test asks for a job's result and waits for
it. The end of the session prints how many applications ran and how long each took.
"""
from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field

PARALLEL_ENV = "RNN_SPARK_SECURE_YARN_PARALLEL"


@dataclass
class Job:
    name: str
    args: tuple
    after: str | None = None
    thread: threading.Thread | None = None
    result: subprocess.CompletedProcess | None = None
    seconds: float = 0.0
    waited: float = 0.0          # queued behind `after` or the limit
    done: threading.Event = field(default_factory=threading.Event)


class YarnJobs:
    """``start(name, *cli_args, after=None)``; ``result(name)`` waits and returns the process."""

    def __init__(self, run, parallel: int | None = None):
        self._run = run  # (args) -> subprocess.CompletedProcess: one CLI process, no ticket
        n = parallel or int(os.environ.get(PARALLEL_ENV) or 3)
        self._slots = threading.BoundedSemaphore(max(1, n))
        self.jobs: dict[str, Job] = {}

    def start(self, name: str, *args, after: str | None = None) -> None:
        assert name not in self.jobs and (after is None or after in self.jobs), name
        job = Job(name, tuple(map(str, args)), after)
        job.thread = threading.Thread(target=self._body, args=(job,), name=f"yarn-{name}",
                                      daemon=True)
        self.jobs[name] = job
        job.thread.start()

    def _body(self, job: Job) -> None:
        t0 = time.monotonic()
        try:
            if job.after:
                first = self.result(job.after)
                if first.returncode != 0:
                    job.result = subprocess.CompletedProcess(
                        job.args, -1, "", f"not run: {job.after} failed "
                                          f"(exit {first.returncode})")
                    return
            with self._slots:
                job.waited = time.monotonic() - t0
                t1 = time.monotonic()
                try:
                    job.result = self._run(job.args)
                except Exception as exc:  # a timeout: the test says so
                    job.result = subprocess.CompletedProcess(job.args, -1, "", repr(exc))
                job.seconds = time.monotonic() - t1
        finally:
            job.done.set()

    def result(self, name: str) -> subprocess.CompletedProcess:
        job = self.jobs[name]
        job.done.wait()
        return job.result

    def wait_all(self) -> None:
        for job in self.jobs.values():
            job.done.wait()

    def summary(self) -> list[str]:
        return [f"{j.name}: exit {j.result.returncode if j.result else '?'}, "
                f"{j.seconds:.0f} s running, {j.waited:.0f} s queued"
                for j in self.jobs.values()]
