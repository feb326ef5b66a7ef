"""Input projections of a recurrent layer: ``XP = x @ W_ih^T + b`` for a whole window at once.

Token input (layer 0) has two paths, chosen by size:

* forward, table (vocabulary <= tokens in the window): ``table = E @ W_ih^T + b`` is ``[V, G*H]``
  and ``XP = table[tokens]`` -- no ``[N, E] x [E, G*H]`` GEMM.
* backward, one-hot (when ``V (N + 2E) < 2 N E``, i.e. roughly V < 2E): ``dtable = onehot^T @ dXP``
  (one GEMM), then ``dW_ih = dtable^T @ E`` and ``dE = dtable @ W_ih`` are small ``[V, ...]`` GEMMs.
* otherwise gather: ``x = E[tokens]`` then the dense path; ``dE`` sums ``dx`` rows per token with
  one stable sort + ``np.add.reduceat`` (no ``np.add.at``).

Embedding (word) dropout gives a scale per input position, ``s [T, B]`` (engine/dropout.py): the
layer reads ``s * E[token]``. Both paths keep working: the table path takes ``s * (E W_ih^T)[token]
+ b``, the one-hot backward puts ``s`` where the one-hot has its ones (the bias gradient is then
the plain row sum).
"""

from __future__ import annotations

import functools

import numpy as np

from .cellbase import Cell, Prep
from .gradrows import GradRows


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
    """Forward/backward of one layer's input projection. ``tokens`` is set for token input.

    ``prep`` is the layer's :class:`~rnn_spark.engine.cellbase.Prep` of this call: its workspace
    holds the projection's buffers too, and its ``gate_major`` says which layout ``XP`` (and the
    cell's ``dxp``) has.
    """

    def __init__(self, cell: Cell, w_ih: np.ndarray, b_ih: np.ndarray, b_hh: np.ndarray, prep: Prep,
                 embedding: np.ndarray | None = None, use_table: bool | None = None) -> None:
        self.cell = cell
        self.w_ih = w_ih  # [GH, In], PyTorch order
        self.b_s = cell.input_bias(b_ih, b_hh)
        self.embedding = embedding
        self.use_table = use_table
        self.forced = use_table  # True: table + one-hot, False: gather both ways, None: by cost
        self.ws = prep.ws
        self.gate_major = prep.gate_major

    @functools.cached_property
    def w_int(self) -> np.ndarray:
        """``W_ih`` in internal order, unscaled ``[GH, In]`` (for dx, dE)."""
        return self.cell.to_internal(self.w_ih)

    @functools.cached_property
    def wT_s(self) -> np.ndarray:
        """``W_ih^T`` in internal order, scaled ``[In, GH]`` (dense-input forward)."""
        return self.cell.internal_T_scaled(self.w_ih)

    def _table(self, bias: bool = True) -> np.ndarray:
        """``E @ W_ih^T + b`` per token, internal order, scaled ``[V, GH]``. The product is taken
        in PyTorch order against a transposed view (BLAS reads it as is, no transposed copy)
        and permuted afterwards, which costs a [V, GH] copy instead of a [GH, In] transpose."""
        t = self.embedding @ self.w_ih.T
        table = np.empty_like(t)
        for bi, bt, sc in self.cell.blocks:
            np.multiply(t[:, bt], sc, out=table[:, bi])
        if bias:
            table += self.b_s
        return table

    def forward(self, x: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
        """x: tokens [T, B] (int) or features [T, B, In]; scale: embedding dropout ``[T, B]``
        (token input; None = off). Returns XP (internal order, scaled): ``[T, B, GH]``, or
        gate-major ``[G, T, B, H]`` when ``prep.gate_major`` is set."""
        gm = self.gate_major
        G = self.cell.gates
        self.scale = scale
        if self.embedding is not None:
            T, B = x.shape
            self.tokens = x
            V = self.embedding.shape[0]
            if self.use_table is None:
                self.use_table = V <= T * B
            if self.use_table:
                table = self._table(bias=scale is None)
                tok = x.reshape(-1)
                # ids are checked; mode="raise" would make take() buffer its output
                if not gm:
                    xp = self.ws.get("xp", (T * B, table.shape[1]), table.dtype)
                    np.take(table, tok, axis=0, out=xp, mode="clip")
                    if scale is not None:
                        xp *= scale.reshape(-1, 1)
                        xp += self.b_s
                    return xp.reshape(T, B, -1)
                H = table.shape[1] // G
                tg = np.ascontiguousarray(table.reshape(V, G, H).transpose(1, 0, 2))
                xp = self.ws.get("xpg", (G, T * B, H), table.dtype)
                for g in range(G):
                    np.take(tg[g], tok, axis=0, out=xp[g], mode="clip")
                    if scale is not None:
                        xp[g] *= scale.reshape(-1, 1)
                        xp[g] += self.b_s[g * H:(g + 1) * H]
                return xp.reshape(G, T, B, H)
            x = np.take(self.embedding, x, axis=0)
            if scale is not None:
                x *= scale[:, :, None]
        self.x = x
        T, B, In = x.shape
        x2 = x.reshape(T * B, In)
        GH = self.wT_s.shape[1]
        if not gm:
            xp = self.ws.get("xp", (T * B, GH), self.wT_s.dtype)
            np.matmul(x2, self.wT_s, out=xp)
            xp += self.b_s
            return xp.reshape(T, B, -1)
        H = GH // G
        xp = self.ws.get("xpg", (G, T * B, H), self.wT_s.dtype)
        for g in range(G):
            np.matmul(x2, self.wT_s[:, g * H:(g + 1) * H], out=xp[g])
            xp[g] += self.b_s[g * H:(g + 1) * H]
        return xp.reshape(G, T, B, H)

    def backward(self, dxp: np.ndarray, t0: int, g_w: np.ndarray, g_b: np.ndarray,
                 g_emb: np.ndarray | None, dx_out: np.ndarray | None) -> np.ndarray:
        """Accumulate dW_ih, db_ih (and dE) into PyTorch-layout gradient views; write dx[t0:].
        Returns the sum of the ``dxp`` rows (internal order), i.e. db_ih before reordering."""
        gr = GradRows(dxp, t0, self.gate_major)
        N = gr.n
        if self.embedding is not None:
            V, E = self.embedding.shape
            tok = self.tokens[t0:].reshape(-1)
            onehot = self.forced if self.forced is not None else V * (N + 2 * E) < 2 * N * E
            if onehot:  # per-token sums by a one-hot GEMM beat two [N, E] x [E, GH] GEMMs
                onehot = self.ws.get("onehot", (V, N), dxp.dtype)
                onehot.fill(0)
                s = self.scale
                onehot[tok, np.arange(N)] = 1 if s is None else s[t0:].reshape(-1)
                dtab = gr.left(onehot)  # [V, GH]: per token, sum of (s *) dXP rows
                bsum = dtab.sum(axis=0) if s is None else gr.rowsum()
                self.cell.to_torch_into(bsum, g_b)
                self.cell.to_torch_into(dtab.T @ self.embedding, g_w)
                if g_emb is not None:
                    g_emb += dtab @ self.w_int
                return bsum
            if not hasattr(self, "x"):
                self.x = np.take(self.embedding, self.tokens, axis=0)
                if self.scale is not None:
                    self.x *= self.scale[:, :, None]
        bsum = gr.rowsum()
        self.cell.to_torch_into(bsum, g_b)
        x2 = self.x[t0:].reshape(-1, self.x.shape[2])
        self.cell.to_torch_into(gr.t_at(x2), g_w)
        if self.embedding is not None:
            if g_emb is not None:
                dx = gr.at(self.w_int)
                if self.scale is not None:
                    dx *= self.scale[t0:].reshape(-1, 1)
                g_emb += scatter_rows(dx, self.tokens[t0:].reshape(-1), self.embedding.shape[0])
        elif dx_out is not None:
            gr.at(self.w_int, out=dx_out[t0:].reshape(-1, self.w_int.shape[1]))
        return bsum
