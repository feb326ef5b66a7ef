"""A Spark ingest job says how far it is while it runs (#21: minutes of silence before)."""

import os
import threading
import time

import pytest

from rnn_spark.ingest.job import Progress
from rnn_spark.ingest.spark_progress import JobProgress

pytestmark = pytest.mark.spark


class Lines(Progress):
    """The ingest's progress, kept instead of printed."""

    def __init__(self, quiet=False):
        super().__init__(quiet)
        self.lines = []

    def __call__(self, msg):
        if not self.quiet:
            self.last = time.monotonic()
            self.lines.append(msg)


def _held_job(sc, group, flag):
    """3 tasks: two end at once, the third waits for ``flag``."""
    def task(i):
        while i == 2 and not os.path.exists(flag):
            time.sleep(0.05)
        return i
    sc.setJobGroup(group, "test")
    return sc.parallelize(range(3), 3).map(task).collect()


def _wait(cond, timeout=120):
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(0.05)


def test_running_job_prints_tasks_done(spark, tmp_path):
    sc, flag, say = spark.sparkContext, str(tmp_path / "go"), Lines()
    out = []
    with JobProgress(sc, "t-progress", "scan of 3 file(s)", say, poll=0.05, every=0, idle=60):
        t = threading.Thread(target=lambda: out.append(_held_job(sc, "t-progress", flag)))
        t.start()
        _wait(lambda: "scan of 3 file(s): 2/3 task(s) done" in say.lines)
        open(flag, "w").close()
        t.join(120)
    assert out == [[0, 1, 2]]
    assert say.lines[0].startswith("scan of 3 file(s): ") and len(set(say.lines)) == len(say.lines)


def test_a_task_that_takes_long_still_shows_the_ingest_is_alive(spark, tmp_path):
    sc, flag, say = spark.sparkContext, str(tmp_path / "go"), Lines()
    with JobProgress(sc, "t-idle", "write", say, poll=0.05, every=0, idle=0.3):
        t = threading.Thread(target=_held_job, args=(sc, "t-idle", flag))
        t.start()
        _wait(lambda: say.lines.count("write: 2/3 task(s) done") >= 3)
        open(flag, "w").close()
        t.join(120)


def test_quiet_starts_no_watcher(spark):
    with JobProgress(spark.sparkContext, "g", "x", Lines(quiet=True)) as p:
        assert p._thread is None
