"""RUN/metrics.jsonl: one JSON object per round (kind "round"), per validation (kind "val") and
one when a run stops early (kind "stop"); docs/guides/watching.md documents every field.

The file is rewritten atomically (temp + rename) on every flush, so readers always see whole lines.
Local files are rewritten at most once a second (LOCAL_FLUSH_SECONDS); on HDFS at least every
``flush_seconds`` (train.metrics_flush_seconds); both at every checkpoint and at the end. Each
record is serialised once, when added (or amended): rewriting every record at every round made a
run's metrics cost grow with the square of its rounds (9 ms a round after 200 rounds). The loop
flushes before it writes a checkpoint, so the file always holds every round up to the newest
checkpoint. What a person sees while the run goes is training/progress.py's.
"""

from __future__ import annotations

import json
import math
import sys
import time

from rnn_spark import fs

LOCAL_FLUSH_SECONDS = 1.0


class MetricsLog:
    def __init__(self, uri: str, quiet: bool = False, keep_existing: bool = False,
                 flush_seconds: float = 30.0):
        """`uri`: the metrics file (RunDir.metrics). `quiet` is kept for callers of the first
        release; progress lines are training/progress.py's now."""
        self.uri = uri
        self.records: list[dict] = []
        if keep_existing and fs.exists(self.uri):
            self.records = [json.loads(line) for line in fs.read_text(self.uri).splitlines() if line]
        self.lines = [_line(r) for r in self.records]  # records[i], serialised
        self.remote = fs.is_remote(uri)
        self.flush_seconds = flush_seconds
        self.flushed_at = time.monotonic()
        self.dirty = False

    def truncate_after(self, rnd: int) -> None:
        """Drop records past round `rnd` (a resumed run re-does those rounds)."""
        keep = [i for i, r in enumerate(self.records) if r.get("round", -1) <= rnd]
        self.records = [self.records[i] for i in keep]
        self.lines = [self.lines[i] for i in keep]

    def add(self, record: dict) -> int:
        """Append `record` (a non-finite number becomes null: the file is strict JSON); returns
        its index for `amend`."""
        _finite(record)
        self.records.append(record)
        self.lines.append(_line(record))
        self.dirty = True
        every = self.flush_seconds if self.remote else min(self.flush_seconds, LOCAL_FLUSH_SECONDS)
        if time.monotonic() - self.flushed_at >= every:
            self.flush()
        return len(self.records) - 1

    def amend(self, index: int) -> None:
        """Record `index` changed after it was added (a round's checkpoint_s): written with the
        next flush."""
        _finite(self.records[index])
        self.lines[index] = _line(self.records[index])
        self.dirty = True

    def flush(self) -> None:
        fs.write_text(self.uri, "".join(self.lines), overwrite=True)
        self.flushed_at = time.monotonic()
        self.dirty = False

    def close(self) -> None:
        """Write what is not written yet (train()'s end, also after an error: on HDFS the rounds
        since the last flush are not lost). A failing write is a warning, so it cannot hide the
        error that ended the run."""
        if not self.dirty:
            return
        try:
            self.flush()
        except Exception as e:  # noqa: BLE001
            print(f"rnn-spark: warning: {self.uri} not written: {e}", file=sys.stderr, flush=True)

    def last(self, kind: str) -> dict | None:
        for r in reversed(self.records):
            if r.get("kind") == kind:
                return r
        return None


def _finite(record: dict) -> None:
    for k, v in record.items():
        if isinstance(v, float) and not math.isfinite(v):
            record[k] = None


def _line(record: dict) -> str:
    return json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
