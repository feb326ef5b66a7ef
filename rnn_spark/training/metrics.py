"""RUN/metrics.jsonl: one JSON object per round (kind "round") and per validation (kind "val").

The file is rewritten atomically (temp + rename) on every flush, so readers always see whole lines;
on local disks the trainer flushes every round, on HDFS at checkpoints and at the end.
A short progress line per round goes to stderr.
"""

from __future__ import annotations

import json
import math
import sys

from rnn_spark import fs


class MetricsLog:
    def __init__(self, uri: str, quiet: bool = False, keep_existing: bool = False):
        """`uri`: the metrics file (RunDir.metrics)."""
        self.uri = uri
        self.quiet = quiet
        self.records: list[dict] = []
        if keep_existing and fs.exists(self.uri):
            self.records = [json.loads(line) for line in fs.read_text(self.uri).splitlines() if line]
        self.remote = fs.is_remote(uri)

    def truncate_after(self, rnd: int) -> None:
        """Drop records past round `rnd` (a resumed run re-does those rounds)."""
        self.records = [r for r in self.records if r.get("round", -1) <= rnd]

    def add(self, record: dict) -> None:
        self.records.append(record)
        if not self.quiet:
            print(_progress_line(record), file=sys.stderr, flush=True)
        if not self.remote:
            self.flush()

    def flush(self) -> None:
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in self.records)
        fs.write_text(self.uri, text, overwrite=True)

    def last(self, kind: str) -> dict | None:
        for r in reversed(self.records):
            if r.get("kind") == kind:
                return r
        return None


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}" if math.isfinite(v) else str(v)
    return str(v)


def _progress_line(r: dict) -> str:
    if r.get("kind") == "val":
        extra = f" acc {_fmt(r['accuracy'])}" if "accuracy" in r else ""
        return f"[val]   round {r['round']:>5}  loss {_fmt(r['loss'])}{extra}  ({r['count']} targets)"
    return (f"[train] epoch {r['epoch']} round {r['round']:>5}  loss {_fmt(r['loss'])}  "
            f"lr {r['lr']:.3g}  {r['targets_per_s']:,.0f} targets/s  {r['seconds']:.2f}s")
