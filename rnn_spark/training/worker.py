"""Executor side of a round: given start weights and work slices, run local TBPTT steps.

`train_task(task, shared)` is a pure function of its arguments: it builds (or reuses) the model,
loads the broadcast weights and optimizer state, trains on its rows with a generator seeded by
(seed, epoch, round, worker), and returns its end weights, optimizer state and counts. A retry on
another executor returns bitwise the same result. It knows nothing of Spark or the CLI.

Task (JSON-like):   {"epoch", "round", "worker", "units": [WorkUnit dicts], "slices":
                     [[unit index, start row, stop row], ...], "step0": first schedule step}
Shared (broadcast): {"ctx": run constants, "weights": flat start weights, "opt_state", "opt_steps"}
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data import Manifest, WorkUnit
from rnn_spark.data.batching import table_minibatches
from rnn_spark.engine import Model, ModelConfig
from rnn_spark.engine.clipping import clip_by_global_norm
from rnn_spark.engine.optim import make_optimizer
from rnn_spark.engine.schedules import make_schedule
from rnn_spark.engine.tbptt import train_minibatch
from rnn_spark.training import faults
from rnn_spark.training.plan import task_seed

_MODELS: dict[str, Model] = {}  # one model per Python worker process, reused across rounds
_ROW_GROUPS: OrderedDict = OrderedDict()  # a few recently read row groups (a unit spans rounds)
_ROW_GROUP_CACHE = 4


def _model(ctx: dict) -> Model:
    key = json.dumps(ctx["model"], sort_keys=True)
    model = _MODELS.get(key)
    if model is None:
        _MODELS.clear()
        model = _MODELS[key] = Model(ModelConfig.from_dict(ctx["model"]), seed=0)
    return model


def _manifest(ctx: dict) -> Manifest:
    data, root = ctx["manifest"]
    return Manifest(data, root)


def make_optimizer_for(ctx: dict, num_params: int, dtype):
    o = ctx["optim"]
    name = o["optimizer"]
    if name == "sgd":
        opts = {"momentum": o["momentum"], "nesterov": o["nesterov"], "weight_decay": o["weight_decay"]}
    elif name in ("adam", "adamw"):
        opts = {"betas": (o["beta1"], o["beta2"]), "eps": o["eps"], "weight_decay": o["weight_decay"]}
    else:
        opts = {"alpha": o["alpha"], "eps": o["eps"], "momentum": o["momentum"],
                "weight_decay": o["weight_decay"]}
    return make_optimizer(name, num_params=num_params, dtype=dtype, **opts)


def make_lr_schedule(ctx: dict):
    o = ctx["optim"]
    opts = {"warmup_steps": o["warmup_steps"]}
    if o["schedule"] == "step":
        opts.update(step_size=o["step_size"], gamma=o["gamma"])
    elif o["schedule"] == "cosine":
        opts.update(total_steps=ctx["total_steps"], min_lr=o["min_lr"])
    return make_schedule(o["schedule"], o["lr"], **opts)


def _row_group(unit: WorkUnit) -> pa.Table:
    key = (unit.shard, unit.row_group, unit.sha256)
    table = _ROW_GROUPS.get(key)
    if table is None:
        with fs.open_read(unit.shard) as f:
            table = pq.ParquetFile(f, pre_buffer=True).read_row_group(unit.row_group)
        _ROW_GROUPS[key] = table
        while len(_ROW_GROUPS) > _ROW_GROUP_CACHE:
            _ROW_GROUPS.popitem(last=False)
    else:
        _ROW_GROUPS.move_to_end(key)
    return table


def read_slices(units: list[WorkUnit], slices: list, rng: np.random.Generator) -> pa.Table:
    """The task's rows, in a seeded random order."""
    parts = [_row_group(units[u]).slice(start, stop - start) for u, start, stop in slices]
    table = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    return table.take(pa.array(rng.permutation(table.num_rows)))


def train_task(task: dict, shared: dict) -> dict:
    t0 = time.perf_counter()
    ctx = shared["ctx"]
    model = _model(ctx)
    model.set_flat(shared["weights"])
    opt = make_optimizer_for(ctx, model.num_params, model.flat.dtype)
    if shared.get("opt_state") is not None and ctx["average_opt"]:
        opt.load_state(shared["opt_state"], int(shared["opt_steps"]))
    lr_at = make_lr_schedule(ctx)
    clip = ctx["optim"]["clip_norm"]
    rng = np.random.default_rng(task_seed(ctx["seed"], task["epoch"], task["round"], task["worker"]))
    out = {"worker": task["worker"], "n": 0, "loss_sum": 0.0, "updates": 0, "rows": 0}
    if task["slices"]:
        units = [WorkUnit.from_dict(d) for d in task["units"]]
        table = read_slices(units, task["slices"], rng)
        step = task["step0"]
        for mb in table_minibatches(table, _manifest(ctx), ctx["batch_size"],
                                    dtype=model.flat.dtype, bucket=ctx["bucket"], rng=rng):
            lr = float(lr_at(step))

            def apply(grad, lr=lr):
                if clip:
                    clip_by_global_norm(grad, clip)
                opt.step(model.flat, grad, lr)

            stats = train_minibatch(model, mb.inputs, mb.targets, mb.mask, ctx["k1"], ctx["k2"], apply)
            out["loss_sum"] += float(stats["loss_sum"])
            out["n"] += int(stats["count"])
            out["updates"] += int(stats["updates"])
            out["rows"] += mb.rows
            step += 1
    out["weights"] = model.flat.copy()
    if ctx["average_opt"]:
        out["opt"] = {k: np.array(v, copy=True) for k, v in opt.state_vectors().items()}
        out["opt_steps"] = opt.step_count
    out["seconds"] = time.perf_counter() - t0
    faults.inject(task, out)  # tests only: RNN_SPARK_INJECT_NAN
    return out


def eval_task(task: dict, shared: dict) -> dict:
    """Loss (and accuracy for lm/classify) of the broadcast weights on some validation units."""
    ctx = shared["ctx"]
    model = _model(ctx)
    model.set_flat(shared["weights"])
    res = {"worker": task["worker"], "loss_sum": 0.0, "count": 0, "correct": 0}
    for d in task["units"]:
        table = _row_group(WorkUnit.from_dict(d))
        for mb in table_minibatches(table, _manifest(ctx), ctx["batch_size"],
                                    dtype=model.flat.dtype, bucket=False):
            loss_sum, count, _, metrics = model.evaluate(mb.inputs, mb.targets, mb.mask,
                                                         return_metrics=True)
            res["loss_sum"] += loss_sum
            res["count"] += count
            res["correct"] += int(metrics.get("correct", 0))
    return res
