"""Deterministic planning of an epoch: which rows each worker trains on in each round.

The plan is a pure function of (work units, workers, rows per round, seed, epoch): the driver can
recompute it after a restart and get the same rounds, which is what makes resuming bitwise exact.

1. Shuffle the work units (row groups of the training shards) with a generator seeded by (seed, epoch).
2. Read them as one stream of rows and cut it into W contiguous segments of equal length (worker w
   gets segment w: few units per worker, at most one unit shared by two neighbours).
3. Cut every worker's segment into chunks of H*B rows: chunk r is that worker's share of round r.
   The epoch has floor(total rows / (W*H*B)) rounds (at least 1); rows past the last round are left for
   the next epoch's shuffle. A chunk can span the end of one unit and the start of the next; it is
   described by slices (unit, start row, stop row) that the worker reads without touching other rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PLAN_STREAM = 0x706C616E  # "plan": keeps the planner's random stream apart from the workers'
DROPOUT_STREAM = 0x64726F70  # "drop": the dropout masks' streams, apart from the task's own


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
    order = rng.permutation(len(unit_rows)).tolist()
    n_rounds = rounds_in_epoch(sum(unit_rows), workers, rows_per_round)
    per_worker = min(n_rounds * rows_per_round, sum(unit_rows) // workers) or sum(unit_rows)
    plan = [[[] for _ in range(workers)] for _ in range(n_rounds)]
    # Walk the shuffled row stream once; position p goes to worker p // per_worker, and inside that
    # worker's segment to round (p % per_worker) // rows_per_round.
    pos = 0
    for u in order:
        row = 0
        while row < unit_rows[u]:
            w, off = divmod(pos, per_worker)
            if w >= workers:
                return plan
            r, room = divmod(off, rows_per_round)
            take = min(unit_rows[u] - row, rows_per_round - room, per_worker - off)
            if r < n_rounds:
                plan[r][w].append(Slice(u, row, row + take))
            row += take
            pos += take
    return plan


def split_rows(unit_rows: list[int], parts: int) -> list[list[Slice]]:
    """The rows of the units, in order, cut into ``parts`` contiguous pieces of near-equal length
    (validation: every worker evaluates its share, whatever the row groups); empty pieces dropped."""
    total = sum(unit_rows)
    bounds = [total * i // parts for i in range(parts + 1)]
    out: list[list[Slice]] = []
    for lo, hi in zip(bounds, bounds[1:]):
        piece, first = [], 0
        for u, n in enumerate(unit_rows):
            a, b = max(lo, first), min(hi, first + n)
            if a < b:
                piece.append(Slice(u, a - first, b - first))
            first += n
        if piece:
            out.append(piece)
    return out


def localize(units: list, slices: list[Slice]) -> tuple[tuple, tuple[Slice, ...]]:
    """The units the slices touch (in index order) and the slices re-indexed into them: what one
    task carries, not every unit of the split."""
    used = sorted({s.unit for s in slices})
    index = {u: k for k, u in enumerate(used)}
    return tuple(units[u] for u in used), tuple(Slice(index[s.unit], s.start, s.stop) for s in slices)


def task_seed(seed: int, epoch: int, rnd: int, worker: int) -> np.random.SeedSequence:
    """The seed of one task: the same on a retry, on any executor, inline or on Spark."""
    return np.random.SeedSequence([seed, epoch, rnd, worker])


def dropout_seed(seed: int, epoch: int, rnd: int, worker: int, step: int) -> tuple[int, ...]:
    """The dropout seed of one minibatch step of one task: the engine draws each TBPTT window's
    masks from it plus (window, part, layer, direction) -- the same on a retry, anywhere."""
    return (seed, epoch, rnd, worker, step, DROPOUT_STREAM)
