"""The option-checking kit shared by optimizers, schedules, clipping and the averager.

Every component built from a user's options (a TOML table, CLI flags) checks them the same way and
fails the same way: an :class:`OptionError` (a ``ValueError`` and a
:class:`~rnn_spark.errors.ConfigError`, so the CLI prints it as one line and exits 2) whose message
starts with the component (``"optimizer adam: ..."``) and says what is valid::

    o = take_options("schedule step", given, {"step_size": None, "gamma": 0.1})
    o["gamma"] = as_float("schedule step", "gamma", o["gamma"])
    require(o["gamma"] > 0.0, "schedule step", f"option gamma must be > 0, got {o['gamma']}")
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from rnn_spark.errors import ConfigError

__all__ = ["OptionError", "as_float", "as_int", "check_dtype", "require", "take_options"]


class OptionError(ConfigError, ValueError):
    """An unknown name, an unknown option or an out-of-range option value."""


def take_options(kind: str, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict:
    """Merge ``given`` over ``defaults``; unknown keys raise :class:`OptionError` naming the valid ones."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        valid = ", ".join(sorted(defaults)) or "(none)"
        raise OptionError(f"{kind}: unknown option(s) {', '.join(unknown)}; valid options: {valid}")
    merged = dict(defaults)
    merged.update(given)
    return merged


def require(ok: bool, kind: str, message: str) -> None:
    """Raise :class:`OptionError` with ``"<kind>: <message>"`` unless ``ok``."""
    if not ok:
        raise OptionError(f"{kind}: {message}")


def as_float(kind: str, key: str, value: Any) -> float:
    """``value`` as a finite float, or :class:`OptionError` naming ``key``."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise OptionError(f"{kind}: option {key} must be a number, got {value!r}") from None
    require(math.isfinite(out), kind, f"option {key} must be finite, got {value!r}")
    return out


def as_int(kind: str, key: str, value: Any, minimum: int) -> int:
    """``value`` as an int >= ``minimum`` (a whole float such as ``3.0`` is accepted, a bool is
    not), or :class:`OptionError` naming ``key``."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= minimum
    if not ok and isinstance(value, float) and value.is_integer() and value >= minimum:
        value, ok = int(value), True
    require(ok, kind, f"option {key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_dtype(kind: str, dtype: Any) -> np.dtype:
    """``dtype`` as float32 or float64, or :class:`OptionError`."""
    dt = np.dtype(dtype)
    require(dt in (np.float32, np.float64), kind, f"dtype must be float32 or float64, got {dt}")
    return dt
