"""A run's summary: what `rnn-spark train` prints last (rounds, losses, seconds, the model, why it
stopped). Kept as RUN/summary.json when a run ends, so a finished run started again (--resume)
prints the summary it ended with -- not one rebuilt without its seconds, best loss or reason.

A run that ended before summary.json existed (or whose file is damaged or of an earlier end)
gets its summary rebuilt from metrics.jsonl and the checkpoint; its seconds are then the sum of
the rounds' own seconds (start-up not counted).
"""

from __future__ import annotations

import json
import math

from rnn_spark import fs
from rnn_spark.training.rundir import RunDir


def _finite(v):
    return None if isinstance(v, float) and not math.isfinite(v) else v


def summary(rounds: int, train_loss, val: dict | None, seconds: float, model: str, exported: str,
            best_val_loss, stop_reason: str) -> dict:
    return {"rounds": rounds, "train_loss": _finite(train_loss), "val": val,
            "seconds": seconds, "model": model, "exported": exported,
            "best_val_loss": _finite(best_val_loss), "stop_reason": stop_reason}


def write(run: RunDir, s: dict) -> None:
    """RUN/summary.json (strict JSON, written atomically)."""
    fs.write_text(run.summary, json.dumps(s, sort_keys=True, default=str) + "\n", overwrite=True)


def read(run: RunDir, rounds: int) -> dict | None:
    """The summary the run wrote when it ended after ``rounds`` rounds, or None."""
    try:
        s = json.loads(fs.read_text(run.summary))
    except (fs.FsNotFound, ValueError, UnicodeDecodeError):
        return None
    return s if isinstance(s, dict) and s.get("rounds") == rounds else None


def rebuilt(rounds: int, records: list[dict], model: str, exported: str, best_val_loss,
            stop_reason: str) -> dict:
    """The summary of a run without summary.json, from its metrics records."""
    last = next((r for r in reversed(records) if r.get("kind") == "round"), {})
    val = next((r for r in reversed(records) if r.get("kind") == "val"), None)
    seconds = sum(r.get("seconds") or 0.0 for r in records if r.get("kind") == "round")
    return summary(rounds, last.get("loss"), val, seconds, model, exported, best_val_loss,
                   stop_reason)
