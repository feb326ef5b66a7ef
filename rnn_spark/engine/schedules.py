"""Learning-rate schedules: ``make_schedule(name, base_lr, **opts)`` returns a callable ``lr(step)``.

``step`` counts optimizer updates from 0 (the first update uses ``lr(0)``). Schedules are pure
functions of the step, so a run resumed from a checkpoint (which stores the step count) continues
on exactly the same learning rates; nothing else needs saving.

Schedules (closed forms, the same values PyTorch's schedulers produce when stepped once per update):

``constant``
    ``base_lr``.
``step``  (options ``step_size`` (required), ``gamma`` = 0.1)
    ``base_lr * gamma ** (step // step_size)`` -- ``torch.optim.lr_scheduler.StepLR``.
``multistep``  (options ``milestones`` (required, increasing), ``gamma`` = 0.1)
    ``base_lr * gamma ** (number of milestones <= step)`` -- ``MultiStepLR``.
``cosine``  (options ``total_steps`` (required), ``min_lr`` = 0)
    ``min_lr + (base_lr - min_lr) * (1 + cos(pi * step / total_steps)) / 2`` for
    ``step <= total_steps`` -- ``CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)`` -- and
    ``min_lr`` afterwards (torch's would climb back up; a training schedule should not).

Linear warm-up (options ``warmup_steps`` = 0, ``warmup_start_factor`` = 0) composes with all of
them by multiplication, like chaining ``torch.optim.lr_scheduler.LinearLR``::

    lr(step) = schedule(step) * (f + (1 - f) * min(step, warmup_steps) / warmup_steps)

so the rate climbs linearly from ``f * schedule(0)`` (0 by default: the first update is a no-op
for SGD, as in most warm-up recipes) to the schedule's own value, which it follows from
``warmup_steps`` on. The schedule's clock is not shifted by the warm-up: ``total_steps`` of a
cosine counts the warm-up steps too.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

from rnn_spark.engine.options import OptionError, as_float, as_int, require, take_options

__all__ = ["SCHEDULES", "Schedule", "make_schedule"]

_WARMUP = {"warmup_steps": 0, "warmup_start_factor": 0.0}
SCHEDULES: dict[str, dict[str, Any]] = {
    "constant": {},
    "step": {"step_size": None, "gamma": 0.1},
    "multistep": {"milestones": None, "gamma": 0.1},
    "cosine": {"total_steps": None, "min_lr": 0.0},
}


class Schedule:
    """A learning-rate schedule: call it with the update count to get the learning rate."""

    def __init__(self, name: str, base_lr: float, **options: Any) -> None:
        key = str(name).strip().lower()
        if key not in SCHEDULES:
            raise OptionError(f"unknown schedule {name!r}; valid schedules: {', '.join(SCHEDULES)}")
        kind = f"schedule {key}"
        self.name = key
        self.base_lr = as_float(kind, "base_lr", base_lr)
        require(self.base_lr >= 0.0, kind, f"base_lr must be >= 0, got {base_lr!r}")
        o = take_options(kind, options, {**SCHEDULES[key], **_WARMUP})
        missing = [k for k, v in o.items() if v is None]
        require(not missing, kind, f"missing required option(s) {', '.join(missing)}")
        if key in ("step", "multistep"):
            o["gamma"] = as_float(kind, "gamma", o["gamma"])
            require(o["gamma"] > 0.0, kind, f"option gamma must be > 0, got {o['gamma']}")
        if key == "step":
            o["step_size"] = as_int(kind, "step_size", o["step_size"], 1)
        if key == "multistep":
            ms = o["milestones"]
            require(isinstance(ms, (list, tuple)), kind, f"option milestones must be a list, got {ms!r}")
            ms = [as_int(kind, "milestones", m, 0) for m in ms]
            require(ms == sorted(ms), kind, f"option milestones must be increasing, got {ms}")
            o["milestones"] = ms
        if key == "cosine":
            o["total_steps"] = as_int(kind, "total_steps", o["total_steps"], 1)
            o["min_lr"] = as_float(kind, "min_lr", o["min_lr"])
            require(o["min_lr"] >= 0.0, kind, f"option min_lr must be >= 0, got {o['min_lr']}")
        o["warmup_steps"] = as_int(kind, "warmup_steps", o["warmup_steps"], 0)
        o["warmup_start_factor"] = as_float(kind, "warmup_start_factor", o["warmup_start_factor"])
        f = o["warmup_start_factor"]
        require(0.0 <= f <= 1.0, kind, f"option warmup_start_factor must lie in [0, 1], got {f}")
        self.options = o

    def base(self, step: int) -> float:
        """The schedule's value at ``step`` without warm-up."""
        o, lr = self.options, self.base_lr
        if self.name == "step":
            return lr * o["gamma"] ** (step // o["step_size"])
        if self.name == "multistep":
            return lr * o["gamma"] ** bisect.bisect_right(o["milestones"], step)
        if self.name == "cosine":
            total, lo = o["total_steps"], o["min_lr"]
            if step >= total:
                return lo
            return lo + (lr - lo) * (1.0 + math.cos(math.pi * step / total)) / 2.0
        return lr

    def warmup_factor(self, step: int) -> float:
        """Multiplier of the warm-up at ``step``: from ``warmup_start_factor`` up to 1."""
        w, f = self.options["warmup_steps"], self.options["warmup_start_factor"]
        if step >= w:
            return 1.0
        return f + (1.0 - f) * step / w

    def __call__(self, step: int) -> float:
        if isinstance(step, bool) or not isinstance(step, int):
            step = int(step)
        if step < 0:
            raise ValueError(f"schedule {self.name}: step must be >= 0, got {step}")
        return self.base(step) * self.warmup_factor(step)

    def config(self) -> dict[str, Any]:
        """``{"name": ..., "base_lr": ..., **options}``, accepted back by :func:`make_schedule`."""
        return {"name": self.name, "base_lr": self.base_lr, **self.options}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"Schedule({self.name!r}, base_lr={self.base_lr!r}, {opts})"


def make_schedule(name: str, base_lr: float, **options: Any) -> Schedule:
    """Build a schedule by name (``constant``, ``step``, ``multistep``, ``cosine``), see module doc."""
    return Schedule(name, base_lr, **options)
