"""Where a round's time goes: the driver's clocks plus each task's own, as one typed record.

A round on the driver is: broadcast the start weights -> the tasks run (each one reads its rows and
trains) -> their results travel back -> the driver folds them and applies the averager; then maybe
validation and a checkpoint. :class:`RoundClock` collects the driver-side times while
``Trainer.run_round`` runs; :class:`RoundSplit` is the result, and :func:`round_record` turns it
into the ``kind: "round"`` line of RUN/metrics.jsonl (docs/guides/watching.md has the schema).

Tasks report their own wall-clock start and end (``TaskResult.started/finished``), so

    launch   = first task start - end of the broadcast   (scheduling, Python worker, fetching it)
    transfer = last result on the driver - last task end  (serialisation and the network)

On one machine the clocks are the same clock; across a cluster they are NTP-close, and a negative
difference (skew) counts as 0.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

from rnn_spark.training.protocol import TaskResult


@dataclass(frozen=True)
class RoundSplit:
    """Seconds spent in each phase of one round (validation and checkpoint are added later)."""

    broadcast_s: float       # the driver making the broadcast (Spark: pickling + registering it)
    launch_s: float          # from the broadcast to the first task starting
    task_max_s: float        # the slowest task, read + compute
    compute_max_s: float     # tasks' training compute: slowest ...
    compute_mean_s: float    # ... and mean over workers
    read_max_s: float        # tasks' data read (row groups -> minibatches): slowest ...
    read_mean_s: float       # ... and mean
    transfer_s: float        # from the last task's end to its result on the driver
    fold_s: float            # the driver adding results into the tree and applying the averager
    straggler: float         # slowest task / mean task (1.0 = perfectly even)
    tokens: int              # real input time steps trained on in the round


class RoundClock:
    """The driver's stopwatch for one round; ``note(result)`` as each result arrives."""

    def __init__(self):
        self.t0 = time.time()
        self.bcast_end: float | None = None
        self.fold_s = 0.0
        self.results: list[tuple[TaskResult, float]] = []  # (result, arrival time)

    def note(self, res: TaskResult) -> None:
        self.results.append((res, time.time()))

    def split(self, broadcast_s: float) -> RoundSplit:
        tasks = [r for r, _ in self.results]
        secs = [float(r.seconds) for r in tasks] or [0.0]
        reads = [float(r.read_seconds) for r in tasks] or [0.0]
        compute = [s - rd for s, rd in zip(secs, reads)]
        mean = sum(secs) / len(secs)
        bcast_end = self.t0 + broadcast_s
        starts = [r.started for r in tasks if r.started]
        ends = [r.finished for r in tasks if r.finished]
        launch = max(0.0, min(starts) - bcast_end) if starts else 0.0
        last_arrival = max((t for _, t in self.results), default=self.t0)
        transfer = max(0.0, last_arrival - max(ends)) if ends else 0.0
        return RoundSplit(
            broadcast_s=broadcast_s, launch_s=launch, task_max_s=max(secs),
            compute_max_s=max(compute), compute_mean_s=sum(compute) / len(compute),
            read_max_s=max(reads), read_mean_s=sum(reads) / len(reads), transfer_s=transfer,
            fold_s=self.fold_s, straggler=max(secs) / mean if mean > 0 else 1.0,
            tokens=sum(int(r.tokens) for r in tasks))


def round_record(g: int, epoch: int, sums, split: RoundSplit, seconds: float, lr: float,
                 update_norm: float, weight_norm: float, validate_s: float = 0.0) -> dict:
    """The ``kind: "round"`` metrics line (checkpoint_s is filled in after the checkpoint)."""
    rec = {"kind": "round", "round": g, "epoch": epoch,
           "loss": sums.loss_sum / max(sums.n, 1), "targets": sums.n, "rows": sums.rows,
           "updates": sums.updates, "seconds": seconds, "lr": lr,
           "targets_per_s": sums.n / max(seconds, 1e-9),
           "tokens_per_s": split.tokens / max(seconds, 1e-9),
           "overhead_s": max(0.0, seconds - split.task_max_s),
           "update_norm": update_norm, "weight_norm": weight_norm,
           "validate_s": validate_s, "checkpoint_s": 0.0, "time": time.time()}
    rec.update(asdict(split))
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()}


# The per-phase fields a stacked time chart adds up to (docs/guides/watching.md).
# "other" is the rest of the round's wall time (inline: the tasks after the slowest, run in turn).
PHASES = ("broadcast_s", "launch_s", "task_max_s", "transfer_s", "fold_s", "validate_s",
          "checkpoint_s")
