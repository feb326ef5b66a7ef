"""Executor side of a round: given start weights and work slices, run local TBPTT steps.

`train_task(task, shared)` is a pure function of its arguments: it builds (or reuses) the model,
loads the broadcast weights and optimizer state, trains on its rows with a generator seeded by
(seed, epoch, round, worker) -- and, with dropout, each minibatch step's masks seeded by
(seed, epoch, round, worker, step) (plan.dropout_seed) -- and returns its end weights, optimizer
state and counts. A retry on
another executor returns bitwise the same result. It knows nothing of Spark or the CLI. Its inputs
and output are the protocol's types (training/protocol.py): Task + Shared -> TaskResult, and
EvalTask + Shared -> EvalResult for `eval_task`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa

from rnn_spark.data import WorkUnit
from rnn_spark.data.batching import Minibatch, table_minibatches
from rnn_spark.data.reader import ShardReader
from rnn_spark.engine import Model
from rnn_spark.engine.clipping import clip_by_global_norm
from rnn_spark.engine.optim import Optimizer
from rnn_spark.engine.tbptt import train_minibatch
from rnn_spark.training import faults
from rnn_spark.training.classmetrics import batch_sums
from rnn_spark.training.plan import Slice, dropout_seed, task_seed
from rnn_spark.training.protocol import EvalResult, EvalTask, RunSpec, Shared, Task, TaskResult

ROW_GROUP_CACHE = 4  # row groups a worker process keeps decoded (a unit spans rounds)


class _Process:
    """What one Python worker process keeps between tasks: one model (rebuilt when the model config
    changes) and one shard reader with its bounded row-group cache."""

    model_cfg = None
    model: Model | None = None
    reader: ShardReader | None = None


def _model(spec: RunSpec) -> Model:
    if _Process.model is None or _Process.model_cfg != spec.model:
        _Process.model_cfg, _Process.model = spec.model, Model(spec.model, seed=0)
    return _Process.model


def shard_reader(spec: RunSpec) -> ShardReader:
    """This process's reader; `spec.verify_data` also checks each shard's sha256 once."""
    reader = _Process.reader
    if reader is None or reader.verify_sha256 != spec.verify_data:
        if reader is not None:
            reader.close()
        reader = _Process.reader = ShardReader(cache_row_groups=ROW_GROUP_CACHE,
                                               verify_sha256=spec.verify_data)
    return reader


def slice_rows(reader: ShardReader, units: tuple[WorkUnit, ...],
               slices: tuple[Slice, ...]) -> pa.Table:
    """The rows the slices name, in slice order, as one table."""
    parts = [reader.read_row_group(units[s.unit]).slice(s.start, s.stop - s.start) for s in slices]
    return pa.concat_tables(parts) if len(parts) > 1 else parts[0]


def read_slices(reader: ShardReader, units: tuple[WorkUnit, ...], slices: tuple[Slice, ...],
                rng: np.random.Generator) -> pa.Table:
    """The task's rows, in a seeded random order."""
    table = slice_rows(reader, units, slices)
    return table.take(pa.array(rng.permutation(table.num_rows)))


def task_rng(spec: RunSpec, task: Task) -> np.random.Generator:
    """The task's one random stream (row order, bucket order): the same on a retry, anywhere."""
    return np.random.default_rng(task_seed(spec.seed, task.epoch, task.round, task.worker))


def task_minibatches(task: Task, spec: RunSpec, dtype, rng: np.random.Generator) -> Iterator[Minibatch]:
    """The task's rows as padded minibatches, in the order the task trains on them."""
    if not task.slices:
        return iter(())
    table = read_slices(shard_reader(spec), task.units, task.slices, rng)
    return table_minibatches(table, spec.manifest(), spec.batch_size, dtype=dtype,
                             bucket=spec.bucket, rng=rng)


@dataclass
class LocalStats:
    n: int = 0          # targets trained on
    loss_sum: float = 0.0
    updates: int = 0    # optimizer updates (TBPTT windows)
    rows: int = 0
    tokens: int = 0     # real (unpadded) input time steps


class TimedIter:
    """Wraps an iterator and adds the time spent inside next() to `seconds`: a task's data read
    (row groups read and decoded, minibatches padded) apart from its training compute."""

    def __init__(self, make: Callable[[], Iterable]):
        self.seconds = 0.0
        t0 = time.perf_counter()
        self._it = iter(make())
        self.seconds += time.perf_counter() - t0

    def __iter__(self):
        return self

    def __next__(self):
        t0 = time.perf_counter()
        try:
            return next(self._it)
        finally:
            self.seconds += time.perf_counter() - t0


def local_steps(model: Model, opt: Optimizer, lr_at: Callable[[int], float], clip_norm: float,
                minibatches: Iterable[Minibatch], step0: int, k1: int, k2: int,
                dropout: Callable[[int], tuple] | None = None) -> LocalStats:
    """Local training: TBPTT(k1, k2) over each minibatch, one schedule step per minibatch (the
    first at `step0`), gradients clipped to `clip_norm` (0 = off) before every update;
    `dropout(step)`: the dropout seed of a step (None = no dropout)."""
    out = LocalStats()
    step = step0
    for mb in minibatches:
        lr = float(lr_at(step))

        def apply(grad, lr=lr):
            if clip_norm:
                clip_by_global_norm(grad, clip_norm)
            opt.step(model.flat, grad, lr)

        stats = train_minibatch(model, mb.inputs, mb.targets, mb.mask, k1, k2, apply,
                                None if dropout is None else dropout(step))
        out.loss_sum += float(stats["loss_sum"])
        out.n += int(stats["count"])
        out.updates += int(stats["updates"])
        out.rows += mb.rows
        out.tokens += int(np.count_nonzero(mb.mask))
        step += 1
    return out


def task_dropout(spec: RunSpec, task: Task) -> Callable[[int], tuple] | None:
    """Step -> the task's dropout seed of that step; None when the model has no dropout."""
    if not spec.model.has_dropout:
        return None
    return lambda step: dropout_seed(spec.seed, task.epoch, task.round, task.worker, step)


def train_task(task: Task, shared: Shared) -> TaskResult:
    started, t0 = time.time(), time.perf_counter()
    spec = shared.spec
    model = _model(spec)
    model.set_flat(shared.weights)
    model.loss_spec = spec.loss
    opt = spec.optimizer.build(model.num_params, model.flat.dtype)
    if shared.opt_state is not None and spec.average_optimizer_state:
        opt.load_state(shared.opt_state, int(shared.opt_steps))
    rng = task_rng(spec, task)
    batches = TimedIter(lambda: task_minibatches(task, spec, model.flat.dtype, rng))
    stats = local_steps(model, opt, spec.schedule.build(), spec.optimizer.clip_norm,
                        batches, task.step0, spec.k1, spec.k2, task_dropout(spec, task))
    opt_state = None
    if spec.average_optimizer_state:
        opt_state = {k: np.array(v, copy=True) for k, v in opt.state_vectors().items()}
    result = TaskResult(worker=task.worker, weights=model.flat.copy(), n=stats.n,
                        loss_sum=stats.loss_sum, updates=stats.updates, rows=stats.rows,
                        opt_state=opt_state, opt_steps=opt.step_count if opt_state is not None else 0,
                        seconds=time.perf_counter() - t0, read_seconds=batches.seconds,
                        tokens=stats.tokens, started=started, finished=time.time())
    return faults.inject(task, result)  # tests only: RNN_SPARK_INJECT_NAN


EVAL_BATCH_BYTES = 64 << 20   # activations one validation minibatch may hold (forward only)
EVAL_BATCH_ROWS = 256         # ... and at most this many rows: larger products run faster


def eval_batch_rows(spec: RunSpec, units: tuple[WorkUnit, ...]) -> int:
    """Rows per validation minibatch: the training batch grown to the activation budget (per row:
    about 8 floats per hidden unit and 2 per output per time step), never below the batch size."""
    mc = spec.model
    steps = max((-(-u.tokens // u.rows) for u in units if u.rows), default=1)
    per_row = 4 * steps * (8 * mc.directions * sum(mc.hidden_sizes) + 2 * max(1, mc.output_size))
    return max(spec.batch_size, min(EVAL_BATCH_ROWS, EVAL_BATCH_BYTES // per_row))


def eval_task(task: EvalTask, shared: Shared) -> EvalResult:
    """Loss (and accuracy for lm/classify) of the broadcast weights on the task's validation rows:
    the training loss without class weights and label smoothing (LossSpec.validation); classify
    adds its confusion matrix and, with two classes, each row's score (training/classmetrics.py)."""
    spec = shared.spec
    model = _model(spec)
    model.set_flat(shared.weights)
    model.loss_spec = spec.loss.validation()
    manifest, reader = spec.manifest(), shard_reader(spec)
    slices = task.slices or tuple(Slice(i, 0, u.rows) for i, u in enumerate(task.units))
    rows = eval_batch_rows(spec, task.units)
    loss_sum, count, correct, chars = 0.0, 0, 0, 0.0
    confusion, scores, labels = None, [], []
    lengths = char_lengths(manifest)
    table = slice_rows(reader, task.units, slices)
    for mb in table_minibatches(table, manifest, rows, dtype=model.flat.dtype, bucket=False):
        if spec.model.task == "classify":
            b = batch_sums(model.forward(mb.inputs, mb.mask)[0], mb.targets)
            loss_sum += b.loss_sum
            count += len(mb.targets)
            correct += b.correct
            confusion = b.confusion if confusion is None else confusion + b.confusion
            if b.scores is not None:
                scores.append(b.scores)
                labels.append(np.asarray(mb.targets, np.int8))
            continue
        mb_loss, mb_count, _, metrics = model.evaluate(mb.inputs, mb.targets, mb.mask,
                                                       return_metrics=True)
        loss_sum += mb_loss
        count += mb_count
        correct += int(metrics.get("correct", 0))
        if lengths is not None:
            chars += float(lengths[mb.targets[mb.mask.astype(bool)]].sum())
    return EvalResult(worker=task.worker, loss_sum=loss_sum, count=count, correct=correct,
                      confusion=confusion,
                      scores=np.concatenate(scores) if scores else None,
                      labels=np.concatenate(labels) if labels else None, chars=chars)


def char_lengths(manifest):
    """A language model dataset's characters per token id (None for other tasks)."""
    if manifest.task != "lm" or not manifest.vocab_info:
        return None
    from rnn_spark.data.vocab import Vocab
    return Vocab.from_dict(manifest.vocab_info).char_lengths()
