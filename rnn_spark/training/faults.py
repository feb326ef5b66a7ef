"""Fault injection for tests, switched on by environment variables (never by configuration).

RNN_SPARK_INJECT_NAN="ROUND:WORKER[,ROUND:WORKER...]"
    the task of that worker in that global round returns a NaN loss and NaN weights, as a diverging
    worker would. train.on_nonfinite then decides what happens (tests/training/test_safety_*.py).
    On Spark the variable must reach the Python workers: local[N] workers inherit the driver's
    environment; on YARN pass it with spark.executorEnv.RNN_SPARK_INJECT_NAN.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

INJECT_NAN_ENV = "RNN_SPARK_INJECT_NAN"


def _targets(value: str) -> set[tuple[int, int]]:
    out = set()
    for item in value.split(","):
        rnd, _, worker = item.strip().partition(":")
        if rnd.strip().isdigit() and worker.strip().isdigit():
            out.add((int(rnd), int(worker)))
    return out


def inject(task, result):
    """The task's result, poisoned if RNN_SPARK_INJECT_NAN names its (round, worker)."""
    value = os.environ.get(INJECT_NAN_ENV)
    if not value or (int(task.round), int(task.worker)) not in _targets(value):
        return result
    weights = result.weights.copy()
    if weights.size:
        weights[0] = np.nan
    return dataclasses.replace(result, loss_sum=float("nan"), weights=weights)
