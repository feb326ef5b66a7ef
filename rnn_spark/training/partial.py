"""The executor-side reduction (train.reduce = tree): each task turns its result into its own
float64 contribution, and sums of aligned blocks of workers are added on the executors, so the
driver receives one vector of P numbers per round whatever W is -- with the bits of the driver's
fold (training/state.py: RoundSums) and of the inline runner.

Why the bits do not change: RoundSums adds n_i (w_i - w_bcast) in a fixed pairwise tree over worker
indices (training/reduce.py, odd one out carried up). In that tree the node at level k, index j is
exactly the pairwise sum over workers [j 2^k, min((j+1) 2^k, W)), so every aligned power-of-two
block of workers is a subtree; :func:`combine` of the ordered parts of one block (``ordered_sum``)
is that subtree, and combining subtree roots block by block rebuilds the same tree to the root.
The runner (runners/base.py: ``Runner.tree_reduce``) decides the blocks (its fan-in); whatever it
picks, the sum is bitwise the same.

    leaf:     task_partial(policy, task, shared) -> PartialSum over [w, w+1)  (on the executor)
    combine:  combine([PartialSum over consecutive aligned ranges]) -> PartialSum over their union
"""

from __future__ import annotations

import numpy as np

from rnn_spark.training.prepare import neutral_result, nonfinite
from rnn_spark.training.protocol import PartialSum, Shared, Task, TaskResult, TaskStats
from rnn_spark.training.reduce import ordered_sum
from rnn_spark.training.worker import train_task


def task_stats(res: TaskResult, what: str = "") -> TaskStats:
    return TaskStats(worker=int(res.worker), n=int(res.n), loss_sum=float(res.loss_sum),
                     updates=int(res.updates), rows=int(res.rows), opt_steps=int(res.opt_steps),
                     seconds=float(res.seconds), read_seconds=float(res.read_seconds),
                     tokens=int(res.tokens), started=float(res.started),
                     finished=float(res.finished), nonfinite=what)


def leaf(res: TaskResult, base: np.ndarray, what: str = "") -> PartialSum:
    """One task's contribution, computed exactly as RoundSums.add does: n (w - base) in float64
    (`base`: the broadcast weights as float64), and n * state for each optimizer state vector."""
    n, w = int(res.n), int(res.worker)
    delta = n * (res.weights.astype(np.float64) - base)
    opt = {k: n * v.astype(np.float64) for k, v in res.opt_state.items()} if res.opt_state else None
    return PartialSum(first=w, stop=w + 1, delta=delta, opt=opt, stats=(task_stats(res, what),))


def task_partial(policy: str, task: Task, shared: Shared) -> PartialSum:
    """Train one task and return its contribution. A result that turned NaN/Inf is named in its
    stats; with train.on_nonfinite = skip_worker it is replaced here by the same neutral stand-in
    the driver's fold uses (prepare.neutral_result), so both reductions add the same zeros."""
    res = train_task(task, shared)
    what = nonfinite(res) or ""
    if what and policy == "skip_worker":
        res = neutral_result(res, shared.weights)
    return leaf(res, shared.weights.astype(np.float64), what)


def combine(parts: list[PartialSum]) -> PartialSum:
    """The sum of consecutive partial sums (in worker order; their ranges must touch), added as a
    pairwise tree. Reuses the parts' buffers: a part is not to be used after it is combined."""
    if not parts:
        raise ValueError("combine: no partial sums")
    for a, b in zip(parts, parts[1:]):
        if a.stop != b.first:
            raise ValueError(f"combine: workers [{a.first}, {a.stop}) and [{b.first}, {b.stop}) "
                             f"are not consecutive")
    if len(parts) == 1:
        return parts[0]
    delta = ordered_sum(enumerate(p.delta for p in parts), overwrite=True)
    opt = None
    if parts[0].opt is not None:
        opt = {k: ordered_sum(enumerate(p.opt[k] for p in parts), overwrite=True)
               for k in parts[0].opt}
    stats = tuple(s for p in parts for s in p.stats)
    return PartialSum(first=parts[0].first, stop=parts[-1].stop, delta=delta, opt=opt, stats=stats)
