"""Mixed input: several categorical fields and numeric features per step (a table dataset of kind
``mixed``, data/steps.py).

Each categorical field f has its own embedding ``embeddings.{f}.weight`` ``[V_f, E_f]`` (torch:
an ``nn.Embedding`` per field in an ``nn.ModuleList``); the first layer reads, per step,
``[E_0[id_0], ..., E_{C-1}[id_{C-1}], numeric]`` (width ``sum E_f + N``) through the dense
projection. Embedding (word) dropout is per field: ``scale [T, B, C]``, one draw per (row, field,
id) for the window, as the token input's (engine/dropout.py), and field f's slice of the layer
input is ``scale[..., f] * E_f[id]``. On the way back the layer input's gradient is cut into the
same slices and summed per id (``scatter_rows``) into each field's embedding gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .projection import scatter_rows


def embedding_size_rule(size: int) -> int:
    """The default embedding width of a categorical field with ``size`` ids:
    ``min(50, ceil(1.6 * size ** 0.56))`` (fast.ai's rule of thumb)."""
    return int(min(50, math.ceil(1.6 * int(size) ** 0.56)))


@dataclass(frozen=True)
class MixedInputs:
    """A minibatch of mixed steps, batch-first: ``ids`` int ``[B, T, C]`` (one id per categorical
    field) and ``nums`` float ``[B, T, N]`` (N may be 0). Slicing cuts both (``x[:, s:e]``)."""

    ids: np.ndarray
    nums: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(np.shape(self.ids)[:2])

    def __getitem__(self, key) -> "MixedInputs":
        return MixedInputs(self.ids[key], self.nums[key])

    def __len__(self) -> int:
        return len(self.ids)


def as_inputs(inputs):
    """``inputs`` as the engine reads them: MixedInputs as they are, anything else an array."""
    return inputs if isinstance(inputs, MixedInputs) else np.asarray(inputs)


def check(cfg, inputs, dtype) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Checked, time-major ``(ids [T, B, C] intp, nums [T, B, N] dtype, B, T)``; ValueError
    naming what is wrong."""
    if not isinstance(inputs, MixedInputs):
        raise ValueError(f"inputs: this model reads mixed steps (rnn_spark.engine.MixedInputs of "
                         f"ids [B, T, {len(cfg.field_sizes)}] and nums [B, T, {cfg.numeric_size}]),"
                         f" got {type(inputs).__name__}")
    ids, nums = np.asarray(inputs.ids), np.asarray(inputs.nums)
    C, N = len(cfg.field_sizes), cfg.numeric_size
    if ids.ndim != 3 or ids.shape[2] != C or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"inputs.ids: expected integer ids [B, T, {C}], got {ids.dtype} {ids.shape}")
    B, T = ids.shape[:2]
    if nums.shape != (B, T, N):
        raise ValueError(f"inputs.nums: expected [{B}, {T}, {N}], got {nums.shape}")
    if ids.size:
        lo, hi = ids.min(axis=(0, 1)), ids.max(axis=(0, 1))
        for f, size in enumerate(cfg.field_sizes):
            if lo[f] < 0 or hi[f] >= size:
                raise ValueError(f"inputs.ids: field {f}'s ids must be in [0, {size}), got min "
                                 f"{lo[f]} max {hi[f]}")
    return (np.ascontiguousarray(ids.transpose(1, 0, 2), dtype=np.intp),
            np.ascontiguousarray(nums.transpose(1, 0, 2), dtype=dtype), B, T)


class MixedLayerInput:
    """The first layer's input of one call and its backward (see the module doc)."""

    def __init__(self, tables: list[np.ndarray], ids: np.ndarray, nums: np.ndarray,
                 scale: np.ndarray | None) -> None:
        self.tables, self.ids, self.nums, self.scale = tables, ids, nums, scale
        self.widths = [t.shape[1] for t in tables]

    def forward(self, ws) -> np.ndarray:
        """``[T, B, sum E_f + N]`` in the workspace ``ws``."""
        T, B, _ = self.ids.shape
        width = sum(self.widths) + self.nums.shape[2]
        x = ws.get("x_mixed", (T, B, width), self.nums.dtype)
        off = 0
        for f, (table, w) in enumerate(zip(self.tables, self.widths)):
            part = x[..., off:off + w]
            np.take(table, self.ids[..., f], axis=0, out=part, mode="clip")  # ids are checked
            if self.scale is not None:
                part *= self.scale[..., f:f + 1]
            off += w
        x[..., off:] = self.nums
        return x

    def backward(self, dx: np.ndarray, t0: int, grads: list[np.ndarray]) -> None:
        """Add the embeddings' gradients (steps ``t0:`` of ``dx [T, B, width]``) into ``grads``."""
        off = 0
        ids = self.ids[t0:]
        for f, (g, w) in enumerate(zip(grads, self.widths)):
            d = dx[t0:, :, off:off + w]
            if self.scale is not None:
                d = d * self.scale[t0:, :, f:f + 1]
            g += scatter_rows(d.reshape(-1, w), ids[..., f].reshape(-1), g.shape[0])
            off += w
