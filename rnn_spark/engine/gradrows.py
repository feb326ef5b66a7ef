"""Whole-window products of a pre-activation gradient, in either layout a cell produces it:
batch-major ``[T, B, G*H]`` or gate-major ``[G, T, B, H]`` (LSTM). Rows are the
``N = (T - t0) * B`` positions from step ``t0`` on, columns the ``G*H`` pre-activations in
internal gate order; every result comes out in that batch-major ``[.., G*H]`` / ``[G*H, ..]``
form, so callers do not care which layout the cell used.
"""

from __future__ import annotations

import numpy as np


class GradRows:
    """``d`` from step ``t0`` on as the ``[N, G*H]`` matrix above; ``gate_major`` is the layer's
    layout (``Prep.gate_major``): ``d`` is ``[G, T, B, H]`` if set, else ``[T, B, G*H]``."""

    def __init__(self, d: np.ndarray, t0: int, gate_major: bool) -> None:
        self.gate_major = gate_major
        if gate_major:
            G, _, _, H = d.shape
            self.d = d[:, t0:].reshape(G, -1, H)  # per gate [N, H], contiguous
            self.G, self.H = G, H
            self.GH = G * H
        else:
            self.GH = d.shape[2]
            self.d = d[t0:].reshape(-1, self.GH)
        self.n = self.d.shape[-2]  # rows N

    def left(self, m: np.ndarray) -> np.ndarray:
        """``m [K, N] @ D -> [K, GH]``."""
        if not self.gate_major:
            return m @ self.d
        return np.matmul(m, self.d).transpose(1, 0, 2).reshape(m.shape[0], self.GH)

    def rowsum(self) -> np.ndarray:
        """Sum over the rows, ``[GH]``."""
        if not self.gate_major:
            return self.d.sum(axis=0)
        return self.d.sum(axis=1).reshape(self.GH)

    def t_at(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``D^T @ x [N, X] -> [GH, X]`` (a weight gradient); ``out`` a C-contiguous buffer of
        that size."""
        X = x.shape[1]
        if not self.gate_major:
            return np.matmul(self.d.T, x, out=None if out is None else out.reshape(self.GH, X))
        r = np.matmul(self.d.transpose(0, 2, 1), x,
                      out=None if out is None else out.reshape(self.G, self.H, X))
        return r.reshape(self.GH, X)

    def at(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``D @ w [GH, X] -> [N, X]`` (a gradient w.r.t. the layer input)."""
        if not self.gate_major:
            return np.matmul(self.d, w, out=out)
        return np.sum(np.matmul(self.d, w.reshape(self.G, self.H, -1)), axis=0, out=out)
