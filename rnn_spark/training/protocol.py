"""The round protocol: the typed messages between the driver and its tasks, and the one place that
translates a Config into engine options.

    RunSpec     the run's constants, built once per run from Config + manifest (RunSpec.build):
                model config, optimizer, schedule, averager, TBPTT, batching, seed, manifest
    Task        one worker's share of one training round: its rows and seeds
    Shared      the round's broadcast: RunSpec + start weights + averaged optimizer state
    TaskResult  what a training task returns: end weights, optimizer state, counts
    TaskStats / PartialSum   with train.reduce = tree: a task's scalars, and the float64 sum of
                the contributions of workers [first, stop) (training/partial.py)
    EvalTask / EvalResult   the same for a validation pass

The driver (training/loop.py) makes Tasks and a Shared for round g, a runner (runners/) calls
``train_task(task, shared)`` (training/worker.py) for every task, and the driver folds the
TaskResults (training/state.py). These objects cross to Spark executors pickled (executors import
rnn_spark, so they are plain dataclasses of numbers, strings and NumPy arrays); nothing here is
ever written to disk (checkpoints are .npz + JSON: training/checkpoint.py).

Config names -> engine names happens here and nowhere else: ``optim.beta1/beta2`` -> Adam's
``betas``, ``train.block_momentum/block_lr`` -> BMUF's ``eta/zeta``, ``train.outer_lr/
outer_momentum`` -> the nesterov averager's ``lr/mu``, ``train.loss/class_weights/
label_smoothing/huber_delta`` -> the engine's ``LossSpec`` (class_weights = auto: from the
manifest's label counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from rnn_spark.config import Config, OptimConfig, TrainConfig, key_name, parse_class_weights
from rnn_spark.data import Manifest, WorkUnit
from rnn_spark.engine import ModelConfig
from rnn_spark.engine.losses import LossSpec
from rnn_spark.engine.optim import Optimizer, make_optimizer_from_config
from rnn_spark.engine.schedules import Schedule, make_schedule
from rnn_spark.errors import ConfigError, UserError
from rnn_spark.training.averager import Averager, make_averager
from rnn_spark.training.plan import Slice, localize, split_rows

Options = tuple[tuple[str, Any], ...]  # engine option name -> value, hashable and ordered


# -- config -> engine ----------------------------------------------------------------------------
def model_config(cfg: Config, manifest: Manifest) -> ModelConfig:
    """The network: the model section of the config plus what the dataset fixes (sizes, task)."""
    fields = manifest.model_fields()
    if manifest.kind == "mixed":
        raise UserError(f"{cfg.data.path}: mixed categorical+numeric inputs: not supported by "
                        "this version's model yet; ingest one --categorical column or --numeric "
                        "columns only")
    m = cfg.model
    kw = dict(cell=m.cell, hidden_sizes=[int(h) for h in m.hidden_sizes], dtype=m.dtype,
              forget_bias=m.forget_bias, bidirectional=m.bidirectional, dropout=m.dropout,
              embedding_dropout=m.embedding_dropout, recurrent_dropout=m.recurrent_dropout,
              **fields)
    if fields.get("vocab_size"):
        kw["embedding_size"] = m.embedding_size
    try:
        return ModelConfig(**kw)
    except ValueError as exc:
        raise ConfigError(f"model: {exc}") from None


def balanced_weights(counts: list[int]) -> tuple[float, ...]:
    """class_weights = auto: n / (C * n_c), inverse frequency (scikit-learn's "balanced"); a
    class absent from the training split weighs 0 (it is never a target there)."""
    n, C = sum(counts), len(counts)
    return tuple(n / (C * c) if c else 0.0 for c in counts)


def loss_spec(cfg: Config, manifest: Manifest, model: ModelConfig) -> LossSpec:
    """The training loss: the train section's loss keys checked against the dataset's task and
    classes (one line each), auto resolved."""
    t, task, path = cfg.train, model.task, cfg.data.path
    loss = t.loss if t.loss != "auto" else ("mse" if task == "regress" else "cross_entropy")
    if (loss == "cross_entropy") != (task != "regress"):
        fits = "cross_entropy" if task != "regress" else "mse, mae or huber"
        raise ConfigError(f"{key_name('train.loss')} {loss} does not fit {path}, a {task} "
                          f"dataset; use {fits} (or auto)")
    if task == "regress" and t.label_smoothing:
        raise ConfigError(f"{key_name('train.label_smoothing')} is for lm and classify; {path} "
                          f"is a regress dataset: drop it")
    weights = parse_class_weights(t.class_weights)
    if weights is not None and task != "classify":
        raise ConfigError(f"{key_name('train.class_weights')} is for classify; {path} is a "
                          f"{task} dataset: drop it")
    C = model.output_size
    if weights == "auto":
        counts = manifest.class_counts(cfg.data.train_split)
        if counts is None:
            raise ConfigError(f"{key_name('train.class_weights')} auto needs the label counts of "
                              f"the training split, which {path} (ingested by an older rnn-spark) "
                              f"lacks; ingest it again, or give one weight per class "
                              f"(--class-weights w0,...,w{C - 1})")
        weights = balanced_weights(counts)
    elif weights is not None and len(weights) != C:
        raise ConfigError(f"{key_name('train.class_weights')} has {len(weights)} weights, {path} "
                          f"has {C} classes; give one per class (0..{C - 1}), or auto")
    return LossSpec(regression=loss if task == "regress" else "mse", huber_delta=t.huber_delta,
                    class_weights=weights, label_smoothing=t.label_smoothing)


@dataclass(frozen=True)
class OptimizerSpec:
    """Each worker's local optimizer (engine/optim.py names) and its gradient clipping."""

    name: str
    options: Options
    clip_norm: float  # 0 = off

    @classmethod
    def from_config(cls, o: OptimConfig) -> "OptimizerSpec":
        if o.optimizer == "sgd":
            opts = {"momentum": o.momentum, "nesterov": o.nesterov, "weight_decay": o.weight_decay}
        elif o.optimizer in ("adam", "adamw"):
            opts = {"betas": (o.beta1, o.beta2), "eps": o.eps, "weight_decay": o.weight_decay}
        else:
            opts = {"alpha": o.alpha, "eps": o.eps, "momentum": o.momentum,
                    "weight_decay": o.weight_decay}
        return cls(o.optimizer, tuple(opts.items()), o.clip_norm)

    def build(self, num_params: int, dtype) -> Optimizer:
        return make_optimizer_from_config({"name": self.name, **dict(self.options)}, num_params, dtype)


def lr_scaling(o: OptimConfig, averager: str) -> str:
    """optim.lr_scaling with auto resolved: sqrt under plain averaging (the mean of W deltas is
    about 1/W as noisy as one, so a longer step pays), none under bmuf and nesterov, whose
    momentum already lengthens the step (bmuf: 1/(1 - eta), twice the mean at the default eta;
    sqrt on top took 33% more rounds to the race's target: docs/benchmarks/defaults.md)."""
    if o.lr_scaling != "auto":
        return o.lr_scaling
    return "sqrt" if averager == "average" else "none"


def scaled_lr(o: OptimConfig, workers: int, averager: str = "bmuf") -> float:
    """The base learning rate every worker uses: optim.lr grown with W per optim.lr_scaling."""
    factor = {"none": 1.0, "sqrt": float(np.sqrt(workers)),
              "linear": float(workers)}[lr_scaling(o, averager)]
    return o.lr * factor


@dataclass(frozen=True)
class ScheduleSpec:
    """The learning rate per local minibatch step (engine/schedules.py names)."""

    name: str
    base_lr: float
    options: Options

    @classmethod
    def from_config(cls, o: OptimConfig, total_steps: int, workers: int = 1,
                    averager: str = "bmuf") -> "ScheduleSpec":
        opts: dict[str, Any] = {"warmup_steps": o.warmup_steps}
        if o.schedule == "step":
            opts.update(step_size=o.step_size, gamma=o.gamma)
        elif o.schedule == "cosine":
            opts.update(total_steps=o.total_steps or total_steps, min_lr=o.min_lr)
        return cls(o.schedule, scaled_lr(o, workers, averager), tuple(opts.items()))

    def build(self) -> Schedule:
        return make_schedule(self.name, self.base_lr, **dict(self.options))


@dataclass(frozen=True)
class AveragerSpec:
    """The driver's averager (training/averager.py names: bmuf eta/zeta, nesterov lr/mu)."""

    name: str
    options: Options

    @classmethod
    def from_config(cls, t: TrainConfig) -> "AveragerSpec":
        opts: dict[str, Any] = {}
        if t.averager == "bmuf":
            opts["zeta"] = t.block_lr
            if t.block_momentum >= 0:  # else the averager's default, min(1 - 1/W, 0.5)
                opts["eta"] = t.block_momentum
        elif t.averager == "nesterov":
            opts.update(lr=t.outer_lr, mu=t.outer_momentum)
        return cls(t.averager, tuple(opts.items()))

    def build(self, num_params: int, workers: int) -> Averager:
        """The averager works on the driver's float64 master weights."""
        return make_averager(self.name, num_params, np.float64, workers, **dict(self.options))


# -- the messages --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """Everything a task needs that stays the same for the whole run."""

    model: ModelConfig
    optimizer: OptimizerSpec
    schedule: ScheduleSpec
    averager: AveragerSpec
    k1: int                        # TBPTT window
    k2: int                        # TBPTT gradient horizon (<= k1; config's 0 already resolved)
    batch_size: int
    bucket: bool
    seed: int
    workers: int                   # W
    steps_per_round: int           # H
    manifest_data: Mapping[str, Any]
    manifest_root: str
    average_optimizer_state: bool  # tasks start from the averaged optimizer state, else fresh
    verify_data: bool = False      # workers check each shard's sha256 against the manifest
    loss: LossSpec = LossSpec()    # the training loss (validation: loss.validation())

    @classmethod
    def build(cls, cfg: Config, manifest: Manifest, model: ModelConfig, total_rounds: int) -> "RunSpec":
        t, o = cfg.train, cfg.optim
        return cls(
            model=model, optimizer=OptimizerSpec.from_config(o),
            schedule=ScheduleSpec.from_config(o, total_rounds * t.steps_per_round, t.workers,
                                              t.averager),
            averager=AveragerSpec.from_config(t), k1=t.k1, k2=t.k2 or t.k1,
            batch_size=t.batch_size, bucket=cfg.data.bucket, seed=t.seed, workers=t.workers,
            steps_per_round=t.steps_per_round, manifest_data=manifest.data,
            manifest_root=manifest.root, average_optimizer_state=t.average_optimizer_state,
            verify_data=t.verify_data, loss=loss_spec(cfg, manifest, model))

    def manifest(self) -> Manifest:
        return Manifest(dict(self.manifest_data), self.manifest_root)


@dataclass(frozen=True)
class Task:
    """Worker `worker`'s share of round `round` (of epoch `epoch`): rows [start, stop) of work units."""

    epoch: int
    round: int                     # the global round g
    worker: int
    units: tuple[WorkUnit, ...]    # only the units this task reads
    slices: tuple[Slice, ...]      # Slice.unit indexes `units`
    step0: int                     # schedule step of the task's first minibatch


@dataclass(frozen=True)
class Shared:
    """One round's broadcast to every task."""

    spec: RunSpec
    weights: np.ndarray                                  # flat start weights, model dtype
    opt_state: Mapping[str, np.ndarray] | None = None    # averaged optimizer state vectors
    opt_steps: int = 0                                   # the optimizer's step count with it


@dataclass(frozen=True)
class TaskResult:
    worker: int
    weights: np.ndarray            # flat end weights, model dtype
    n: int                         # targets trained on (the weight of this delta)
    loss_sum: float
    updates: int                   # optimizer updates (TBPTT windows)
    rows: int
    opt_state: Mapping[str, np.ndarray] | None  # None unless average_optimizer_state
    opt_steps: int
    seconds: float                 # the task's own time, data reads included
    read_seconds: float = 0.0      # of which: reading and decoding its rows (shards -> minibatches)
    tokens: int = 0                # input time steps trained on (padding excluded)
    started: float = 0.0           # wall clock (time.time()) when the task began ...
    finished: float = 0.0          # ... and ended: the driver derives launch and transfer times


@dataclass(frozen=True)
class EvalTask:
    """Validation rows of one task: ``slices`` index into ``units`` (the units they touch)."""

    worker: int
    units: tuple[WorkUnit, ...]
    slices: tuple[Slice, ...] = ()   # () = every row of every unit


def eval_tasks(units: list[WorkUnit], workers: int) -> list[EvalTask]:
    """The validation rows cut into ``workers`` contiguous shares of near-equal length (a split
    with one row group still keeps every worker busy); each task carries only its own units."""
    return [EvalTask(i, *localize(units, piece))
            for i, piece in enumerate(split_rows([u.rows for u in units], workers))]


@dataclass(frozen=True)
class EvalResult:
    worker: int
    loss_sum: float
    count: int
    correct: int                   # lm / classify: correctly predicted targets
    confusion: np.ndarray | None = None   # classify: [C, C] counts (training/classmetrics.py)
    scores: np.ndarray | None = None      # two classes: each row's z1 - z0 ...
    labels: np.ndarray | None = None      # ... and its label (int8)
    chars: float = 0.0             # lm: characters the targets stand for (bits per character)


@dataclass(frozen=True)
class TaskStats:
    """One task's scalars, which reach the driver per task whatever the reduction (the metrics)."""

    worker: int
    n: int
    loss_sum: float
    updates: int
    rows: int
    opt_steps: int
    seconds: float
    read_seconds: float
    tokens: int
    started: float
    finished: float
    nonfinite: str = ""            # what turned NaN/Inf ("" = nothing): the driver applies the policy


@dataclass(frozen=True)
class PartialSum:
    """With train.reduce = tree: the sum over workers [first, stop) of their contributions, added in
    the fixed pairwise tree of training/reduce.py, float64: delta = sum n_i (w_i - w_bcast), and
    opt[k] = sum n_i * state_i[k] when optimizer state is averaged. Plus every task's stats."""

    first: int
    stop: int
    delta: np.ndarray
    opt: Mapping[str, np.ndarray] | None
    stats: tuple[TaskStats, ...]
