"""The reverse direction of a bidirectional layer: each row's valid steps in reverse order.

As torch's packed sequences: a row whose last unmasked step is ``L - 1`` is read ``L-1, ..., 0``;
its steps from ``L`` on (right padding) stay where they are, masked, so they only carry the state.
Inside the valid part a masked step (a hole) stays masked in the reversed row. Step ``t`` of row
``b`` and step ``L_b - 1 - t`` swap places, so the same permutation maps there and back.
"""

from __future__ import annotations

import numpy as np

from .buffers import Workspace
from .cellbase import MaskInfo


class Reverser:
    """The per-row reversal of a time-major window ``[T, B, ...]`` with mask ``mt [T, B]``
    (None = every step valid), and the reversed rows' :class:`MaskInfo`."""

    def __init__(self, mt: np.ndarray | None, T: int, B: int, dtype) -> None:
        t = np.arange(T)[:, None]
        if mt is None:
            rev = np.broadcast_to(T - 1 - t, (T, B))
        else:
            length = np.where(mt.any(axis=0), T - np.argmax(mt[::-1], axis=0), 0)  # [B]
            rev = np.where(t < length, length - 1 - t, t)
        self.T, self.B = T, B
        self.index = (rev * B + np.arange(B)).reshape(-1)  # [T*B] flat gather index
        self.mi = MaskInfo(None if mt is None else self.flip(mt), dtype)

    def flip(self, a: np.ndarray, ws: Workspace | None = None, key=None) -> np.ndarray:
        """``a [T, B, ...]`` with each row's valid steps reversed (a new array, or ``ws[key]``)."""
        rows = a.reshape(self.T * self.B, -1) if a.ndim > 2 else a.reshape(-1)
        out = None if ws is None else ws.get(key, rows.shape, a.dtype)
        return np.take(rows, self.index, axis=0, out=out).reshape(a.shape)
