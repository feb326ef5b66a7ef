"""Gradient clipping by global L2 norm on the flat gradient vector.

Same rule as ``torch.nn.utils.clip_grad_norm_``: with ``norm = ||grad||_2`` (over every parameter,
i.e. the whole flat vector), scale ``grad`` in place by ``min(1, max_norm / (norm + 1e-6))``.
The norm is returned *before* clipping (log it: a sudden jump is the first sign of an exploding
RNN). ``max_norm`` of ``None`` or ``0`` turns clipping off (the norm is still computed and returned).

A non-finite norm (a NaN or inf in the gradient) leaves the gradient untouched and is returned as
is, so the caller can skip the update; ``error_if_nonfinite=True`` raises ``FloatingPointError``
instead. (torch would multiply the gradient by ``max_norm / inf = 0`` or NaN.)
"""

from __future__ import annotations

import math

import numpy as np

from rnn_spark.engine.options import OptionError

__all__ = ["clip_by_global_norm", "global_norm"]

_EPS = 1e-6  # torch's clip_grad_norm_ adds this to the norm before dividing


def global_norm(grad: np.ndarray) -> float:
    """L2 norm of a flat vector as a Python float, without allocating and without overflow.

    The sum of squares is a BLAS dot in the vector's dtype; only if it overflows (float32 with
    entries above ~1e19) while every entry is finite is it recomputed rescaled by the largest entry.
    """
    if grad.ndim != 1:
        raise ValueError(f"global_norm: expected a flat 1-D vector, got shape {grad.shape}")
    if grad.size == 0:
        return 0.0
    with np.errstate(over="ignore"):
        norm = math.sqrt(float(np.dot(grad, grad)))
    if math.isinf(norm) and bool(np.isfinite(grad).all()):
        scale = float(np.max(np.abs(grad)))
        scaled = grad.astype(np.float64) / scale
        norm = scale * math.sqrt(float(np.dot(scaled, scaled)))
    return norm


def clip_by_global_norm(
    grad: np.ndarray, max_norm: float | None, error_if_nonfinite: bool = False
) -> float:
    """Scale ``grad`` in place so its L2 norm is at most ``max_norm``; return the norm before clipping."""
    if max_norm is not None:
        try:
            max_norm = float(max_norm)
        except (TypeError, ValueError):
            raise OptionError(f"clipping: max_norm must be a number or null, got {max_norm!r}") from None
        if not (max_norm >= 0.0) or math.isinf(max_norm):
            raise OptionError(f"clipping: max_norm must be finite and >= 0 (0 = off), got {max_norm!r}")
    norm = global_norm(grad)
    if not math.isfinite(norm):
        if error_if_nonfinite:
            raise FloatingPointError(
                f"gradient norm is {norm}: the gradient has NaN or inf entries "
                "(lower the learning rate, clip harder, or check the input data)"
            )
        return norm
    if max_norm:
        coef = max_norm / (norm + _EPS)
        if coef < 1.0:
            grad *= coef
    return norm
