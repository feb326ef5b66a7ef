"""Input projections of a recurrent layer: ``XP = x @ W_ih^T + b`` for a whole window at once.

Token input (layer 0) has two paths, chosen by size:

* table (vocabulary <= tokens in the window): ``table = E @ W_ih^T + b`` is ``[V, G*H]`` and
  ``XP = table[tokens]``; backward sums ``dXP`` rows per token (``dtable``) and gets
  ``dW_ih = dtable^T @ E`` and ``dE = dtable @ W_ih``: the two big ``[N, E] x [E, G*H]`` GEMMs of the
  plain path become ``[V, ...]`` ones.
* gather (large vocabularies): ``x = E[tokens]`` then the dense path; ``dE`` sums ``dx`` rows per token.

Row sums per token use one stable sort + ``np.add.reduceat`` (no ``np.add.at``).
"""

from __future__ import annotations

import numpy as np


def scatter_rows(values: np.ndarray, index: np.ndarray, nrows: int) -> np.ndarray:
    """``out[v] = sum of values[i] where index[i] == v`` for ``v < nrows`` (``values [N, F]``)."""
    out = np.zeros((nrows, values.shape[1]), dtype=values.dtype)
    if index.size == 0:
        return out
    order = np.argsort(index, kind="stable")
    s = index[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    out[s[starts]] = np.add.reduceat(values[order], starts, axis=0)
    return out


class Projection:
    """Forward/backward of one layer's input projection. ``tokens`` is set for token input."""

    def __init__(self, cell, w_ih: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray,
                 embedding: np.ndarray | None = None, use_table: bool | None = None) -> None:
        self.cell = cell
        self.w_int = cell.to_internal(w_ih)  # [GH, In], unscaled, for dx
        self.wT_s = np.ascontiguousarray(cell.scaled(self.w_int.copy()).T)  # [In, GH]
        self.b_s = cell.input_bias(b_ih, b_hh)
        self.embedding = embedding
        self.use_table = use_table

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: tokens [T, B] (int) or features [T, B, In]. Returns XP [T, B, GH] (internal, scaled)."""
        if self.embedding is not None:
            T, B = x.shape
            self.tokens = x
            V = self.embedding.shape[0]
            if self.use_table is None:
                self.use_table = V <= T * B
            if self.use_table:
                table = self.embedding @ self.wT_s
                table += self.b_s
                xp = np.take(table, x.reshape(-1), axis=0)
                return xp.reshape(T, B, -1)
            x = np.take(self.embedding, x, axis=0)
        self.x = x
        T, B, In = x.shape
        xp = np.matmul(x.reshape(T * B, In), self.wT_s)
        xp += self.b_s
        return xp.reshape(T, B, -1)

    def backward(self, dxp: np.ndarray, t0: int, g_w: np.ndarray, g_b: np.ndarray,
                 g_emb: np.ndarray | None, dx_out: np.ndarray | None) -> None:
        """Accumulate dW_ih, db_ih (and dE) into PyTorch-layout gradient views; write dx[t0:]."""
        T, B, GH = dxp.shape
        d2 = dxp[t0:].reshape(-1, GH)
        self.cell.to_torch_into(d2.sum(axis=0), g_b)
        if self.embedding is not None and self.use_table:
            tok = self.tokens[t0:].reshape(-1)
            V = self.embedding.shape[0]
            dtab = scatter_rows(d2, tok, V)
            self.cell.to_torch_into(dtab.T @ self.embedding, g_w)
            if g_emb is not None:
                g_emb += dtab @ self.w_int
            return
        x2 = self.x[t0:].reshape(-1, self.x.shape[2])
        self.cell.to_torch_into(d2.T @ x2, g_w)
        if self.embedding is not None:
            if g_emb is not None:
                dx = d2 @ self.w_int
                g_emb += scatter_rows(dx, self.tokens[t0:].reshape(-1), self.embedding.shape[0])
        elif dx_out is not None:
            np.matmul(d2, self.w_int, out=dx_out[t0:].reshape(-1, self.w_int.shape[1]))
