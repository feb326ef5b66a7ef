"""RUN/metrics.jsonl: one JSON object per round (kind "round"), per validation (kind "val") and
one when a run stops early (kind "stop"); README ("Watching a run") documents every field.

The file is rewritten atomically (temp + rename) on every flush, so readers always see whole lines.
Local files are rewritten at every record; on HDFS at least every ``flush_seconds``
(train.metrics_flush_seconds), at every checkpoint and at the end. What a person sees while the
run goes is training/progress.py's.
"""

from __future__ import annotations

import json
import math
import sys
import time

from rnn_spark import fs


class MetricsLog:
    def __init__(self, uri: str, quiet: bool = False, keep_existing: bool = False,
                 flush_seconds: float = 30.0):
        """`uri`: the metrics file (RunDir.metrics). `quiet` is kept for callers of the first
        release; progress lines are training/progress.py's now."""
        self.uri = uri
        self.records: list[dict] = []
        if keep_existing and fs.exists(self.uri):
            self.records = [json.loads(line) for line in fs.read_text(self.uri).splitlines() if line]
        self.remote = fs.is_remote(uri)
        self.flush_seconds = flush_seconds
        self.flushed_at = time.monotonic()
        self.dirty = False

    def truncate_after(self, rnd: int) -> None:
        """Drop records past round `rnd` (a resumed run re-does those rounds)."""
        self.records = [r for r in self.records if r.get("round", -1) <= rnd]

    def add(self, record: dict) -> None:
        """Append `record` (a non-finite number becomes null: the file is strict JSON)."""
        for k, v in record.items():
            if isinstance(v, float) and not math.isfinite(v):
                record[k] = None
        self.records.append(record)
        self.dirty = True
        if not self.remote or time.monotonic() - self.flushed_at >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        text = "".join(json.dumps(r, sort_keys=True, allow_nan=False) + "\n" for r in self.records)
        fs.write_text(self.uri, text, overwrite=True)
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
