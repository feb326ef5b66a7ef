"""The driver's training state between rounds, and how a round's results are folded into it.

Global weights are kept in float64 on the driver (a master copy; workers get the model dtype).
Worker results are folded in as they arrive into a fixed pairwise tree over worker indices, so
the driver holds O(P log W) at most (O(P) when results stream in task order) and the sums are
bitwise reproducible:

    mean_delta = sum_i n_i * (w_i - w_bcast) / sum_i n_i       (float64, fixed tree order)
    new global weights, next broadcast = averager.apply(global, mean_delta)

With W=1 the float64 arithmetic is exact, so W=1, H=1, `average` equals plain single-process
training bit for bit. The local optimizer's state vectors are averaged the same way (weighted by
n_i) when train.average_optimizer_state is on; otherwise every task starts from a fresh optimizer.
"""

from __future__ import annotations

import numpy as np

from rnn_spark.training.protocol import AveragerSpec, PartialSum, TaskResult
from rnn_spark.training.reduce import TreeAccumulator


class RoundSums:
    """Sums over one round's task results: n-weighted deltas and optimizer state, added as a fixed
    pairwise tree over worker indices (training/reduce.py), whatever order results arrive in."""

    def __init__(self, base: np.ndarray, workers: int):
        self.base = base  # the broadcast weights, float64
        self.workers = workers
        self.delta = TreeAccumulator(workers)
        self.opt: dict[str, TreeAccumulator] = {}
        self.opt_steps = 0
        self.n = 0
        self.loss_sum = 0.0
        self.updates = 0
        self.rows = 0
        self.task_seconds: list[float] = []  # each task's own compute time, in arrival order

    def add(self, res: TaskResult) -> None:
        n, w = self._count(res), int(res.worker)
        self.delta.add(w, n * (res.weights.astype(np.float64) - self.base))
        for k, v in (res.opt_state or {}).items():
            acc = self.opt.setdefault(k, TreeAccumulator(self.workers))
            acc.add(w, n * v.astype(np.float64))

    def add_partial(self, part: PartialSum) -> None:
        """The whole round at once, summed on the executors (training/partial.py): the same
        tree, so the same bits as add() of every result."""
        if (part.first, part.stop) != (0, self.workers):
            raise ValueError(f"RoundSums: a partial sum over workers [{part.first}, {part.stop}), "
                             f"expected all {self.workers}")
        for stats in part.stats:
            self._count(stats)
        self.delta = _Done(part.delta)
        self.opt = {k: _Done(v) for k, v in (part.opt or {}).items()}

    def _count(self, res) -> int:
        """Add a task's scalars (a TaskResult or its TaskStats); returns its n."""
        n = int(res.n)
        self.n += n
        self.loss_sum += float(res.loss_sum)
        self.updates += int(res.updates)
        self.rows += int(res.rows)
        self.task_seconds.append(float(res.seconds))
        if n:
            self.opt_steps = max(self.opt_steps, int(res.opt_steps))
        return n


class _Done:
    """A sum made elsewhere, in TreeAccumulator's shape (result())."""

    def __init__(self, value: np.ndarray):
        self.value = value

    def result(self) -> np.ndarray:
        return self.value


class DriverState:
    def __init__(self, init_flat: np.ndarray, dtype, averager: AveragerSpec, workers: int,
                 average_opt: bool):
        self.dtype = np.dtype(dtype)
        self.global_w = init_flat.astype(np.float64)
        self.bcast = init_flat.astype(self.dtype)
        self.opt_state: dict | None = None
        self.opt_steps = 0
        self.averager = averager.build(self.global_w.size, workers)
        self.average_opt = average_opt
        self.update_norm = float("nan")  # |mean delta| of the newest round

    def fold(self, sums: RoundSums) -> None:
        if sums.n == 0:
            return
        mean_delta = sums.delta.result() / sums.n
        self.update_norm = float(np.linalg.norm(mean_delta))  # |G|, for the metrics
        # apply() updates global_w in place; bcast may be the averager's own buffer, so the
        # cast below (a copy) is what keeps it
        self.global_w, bcast = self.averager.apply(self.global_w, mean_delta)
        self.bcast = bcast.astype(self.dtype)
        if self.average_opt and sums.opt:
            self.opt_state = {k: (acc.result() / sums.n).astype(self.dtype)
                              for k, acc in sums.opt.items()}
            self.opt_steps = sums.opt_steps

    # -- checkpoints: flat vectors only ---------------------------------------------------------
    def weights_arrays(self) -> dict[str, np.ndarray]:
        return {"global": self.global_w, "broadcast": self.bcast}

    def state_arrays(self) -> dict[str, np.ndarray]:
        out = {f"averager.{k}": np.asarray(v) for k, v in self.averager.state_vectors().items()}
        for k, v in (self.opt_state or {}).items():
            out[f"optim.{k}"] = v
        return out

    def restore(self, weights: dict, state: dict, opt_steps: int) -> None:
        self.global_w = weights["global"].astype(np.float64)
        self.bcast = weights["broadcast"].astype(self.dtype)
        av = {k[len("averager."):]: v for k, v in state.items() if k.startswith("averager.")}
        if av:
            self.averager.load_state(av)
        opt = {k[len("optim."):]: v for k, v in state.items() if k.startswith("optim.")}
        self.opt_state = opt or None
        self.opt_steps = opt_steps

