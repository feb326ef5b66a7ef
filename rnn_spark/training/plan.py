"""Deterministic planning of an epoch: which rows each worker trains on in each round.

The plan is a pure function of (work units, workers, rows per round, seed, epoch): the driver can
recompute it after a restart and get the same rounds, which is what makes resuming bitwise exact.

1. Shuffle the work units (row groups of the training shards) with a generator seeded by (seed, epoch).
2. Deal them to W workers, each unit to the worker with the fewest rows so far (ties: lowest index),
   so every worker gets a contiguous stream of rows of about the same length.
3. Cut every worker's stream into chunks of H*B rows: chunk r is that worker's share of round r.
   The epoch has floor(total rows / (W*H*B)) rounds (at least 1); rows past the last round are left for
   the next epoch's shuffle. A chunk can span the end of one unit and the start of the next; it is
   described by slices (unit, start row, stop row) that the worker reads without touching other rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLAN_STREAM = 0x706C616E  # "plan": keeps the planner's random stream apart from the workers'


@dataclass(frozen=True)
class Slice:
    """Rows [start, stop) of one work unit (a row group of one shard)."""

    unit: int  # index into the list of work units the plan was made from
    start: int
    stop: int

    def to_list(self) -> list[int]:
        return [self.unit, self.start, self.stop]

    @classmethod
    def from_list(cls, v) -> "Slice":
        return cls(int(v[0]), int(v[1]), int(v[2]))


def rounds_in_epoch(total_rows: int, workers: int, rows_per_round: int) -> int:
    return max(1, total_rows // (workers * rows_per_round))


def plan_epoch(unit_rows: list[int], workers: int, rows_per_round: int, seed: int,
               epoch: int) -> list[list[list[Slice]]]:
    """plan[r][w] = the slices worker w trains on in round r of this epoch."""
    if not unit_rows or sum(unit_rows) == 0:
        raise ValueError("no training rows to plan")
    rng = np.random.default_rng([seed, epoch, PLAN_STREAM])
    order = rng.permutation(len(unit_rows))
    streams: list[list[int]] = [[] for _ in range(workers)]
    loads = [0] * workers
    for u in order.tolist():
        w = min(range(workers), key=lambda i: (loads[i], i))
        streams[w].append(u)
        loads[w] += unit_rows[u]
    n_rounds = rounds_in_epoch(sum(unit_rows), workers, rows_per_round)
    plan = [[[] for _ in range(workers)] for _ in range(n_rounds)]
    for w, stream in enumerate(streams):
        r, room = 0, rows_per_round
        for u in stream:
            pos = 0
            while pos < unit_rows[u] and r < n_rounds:
                take = min(room, unit_rows[u] - pos)
                plan[r][w].append(Slice(u, pos, pos + take))
                pos += take
                room -= take
                if room == 0:
                    r, room = r + 1, rows_per_round
            if r >= n_rounds:
                break
    return plan


def task_seed(seed: int, epoch: int, rnd: int, worker: int) -> np.random.SeedSequence:
    """The seed of one task: the same on a retry, on any executor, inline or on Spark."""
    return np.random.SeedSequence([seed, epoch, rnd, worker])
