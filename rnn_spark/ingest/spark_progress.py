"""What a running Spark ingest job has done so far, on stderr while it runs.

The Spark engine's two jobs (scan: one task per file or chunk; write: one task per block, then
one per shard) can run for many minutes, and Spark's console progress bar is off, so without
this nothing is printed between "N input file(s)" and "scanned ...". :class:`JobProgress` polls
Spark's status tracker from a daemon thread and prints ``LABEL: 12/40 task(s) done`` through
the ingest's :class:`~rnn_spark.ingest.job.Progress`: when the count moves (at most one line
every ``every`` seconds, like the local engine's lines) and every ``idle`` seconds while it does
not, so a long task still shows the ingest is alive. Nothing when the ingest is quiet.
"""

from __future__ import annotations

import threading
import time


class JobProgress:
    """``with JobProgress(sc, group, label, say): ...collect()`` for the jobs of ``group``."""

    def __init__(self, sc, group: str, label: str, say, *, poll: float = 0.5,
                 every: float = 2.0, idle: float = 30.0):
        self.sc, self.group, self.label, self.say = sc, group, label, say
        self.poll, self.every, self.idle = poll, every, idle
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if not self.say.quiet:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="rnn-spark-ingest-progress")
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def counts(self) -> tuple[int, int]:
        """(tasks done, tasks) over the stages of the group's running jobs."""
        tracker = self.sc.statusTracker()
        active = set(tracker.getActiveJobsIds())
        done = total = 0
        for jid in tracker.getJobIdsForGroup(self.group):
            info = tracker.getJobInfo(jid) if jid in active else None
            for sid in info.stageIds if info else ():
                stage = tracker.getStageInfo(sid)
                if stage:
                    done, total = done + stage.numCompletedTasks, total + stage.numTasks
        return done, total

    def _run(self):
        last, failures = None, 0
        while not self._stop.wait(self.poll):
            try:
                now = self.counts()
                failures = 0
            except Exception:  # noqa: BLE001 - progress must never stop or fail the ingest
                failures += 1
                if failures >= 20:  # the context is gone: nothing more to say
                    return
                continue
            quiet_for = time.monotonic() - self.say.last
            if now[1] and ((now != last and quiet_for >= self.every) or quiet_for >= self.idle):
                self.say(f"{self.label}: {now[0]}/{now[1]} task(s) done")
                last = now
