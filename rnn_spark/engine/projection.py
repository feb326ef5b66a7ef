"""Input projections of a recurrent layer: ``XP = x @ W_ih^T + b`` for a whole window at once.

Token input (layer 0) has two paths, chosen by size:

* forward, table (vocabulary <= tokens in the window): ``table = E @ W_ih^T + b`` is ``[V, G*H]``
  and ``XP = table[tokens]`` -- no ``[N, E] x [E, G*H]`` GEMM.
* backward, one-hot (when ``V (N + 2E) < 2 N E``, i.e. roughly V < 2E): ``dtable = onehot^T @ dXP``
  (one GEMM), then ``dW_ih = dtable^T @ E`` and ``dE = dtable @ W_ih`` are small ``[V, ...]`` GEMMs.
* otherwise gather: ``x = E[tokens]`` then the dense path; ``dE`` sums ``dx`` rows per token with
  one stable sort + ``np.add.reduceat`` (no ``np.add.at``).

Embedding (word) dropout gives a scale per input position, ``s [T, B]``, each 0 or one constant
``c = 1/(1-p)`` (engine/dropout.py): the layer reads ``s * E[token]``. The table path stays one
lookup: the table's rows are ``c * (E W_ih^T) + b`` plus one more row, ``b``, that dropped
positions read; the one-hot backward sends dropped positions to that row too (its row sum is the
bias gradient as before) and scales the token rows by ``c``.
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

    def _table(self, c: float | None = None) -> np.ndarray:
        """``E @ W_ih^T + b`` per token, internal order, scaled ``[V, GH]``. The product is taken
        in PyTorch order against a transposed view (BLAS reads it as is, no transposed copy)
        and permuted afterwards, which costs a [V, GH] copy instead of a [GH, In] transpose.
        With word dropout (``c``): ``c * E @ W_ih^T + b``, and row V = ``b`` (a dropped token)."""
        t = self.embedding @ self.w_ih.T
        V = t.shape[0]
        table = np.empty((V + (c is not None), t.shape[1]), t.dtype)
        for bi, bt, sc in self.cell.blocks:
            np.multiply(t[:, bt], sc if c is None else sc * c, out=table[:V, bi])
        table[:V] += self.b_s
        if c is not None:
            table[V] = self.b_s
        return table

    def _word_tokens(self, tokens: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Token ids with dropped positions sent to the extra row V (flat)."""
        return np.where(scale.reshape(-1) != 0, tokens.reshape(-1), self.embedding.shape[0])

    def forward(self, x: np.ndarray, scale: np.ndarray | None = None) -> np.ndarray:
        """x: tokens [T, B] (int) or features [T, B, In]; scale: embedding dropout ``[T, B]``
        (token input; None = off). Returns XP (internal order, scaled): ``[T, B, GH]``, or
        gate-major ``[G, T, B, H]`` when ``prep.gate_major`` is set."""
        gm = self.gate_major
        G = self.cell.gates
        self.scale = scale
        self.c = None if scale is None else float(scale.max(initial=0))
        if self.embedding is not None:
            T, B = x.shape
            self.tokens = x
            V = self.embedding.shape[0]
            if self.use_table is None:
                self.use_table = V <= T * B
            if self.use_table:
                table = self._table(self.c)
                tok = x.reshape(-1) if scale is None else self._word_tokens(x, scale)
                # ids are checked; mode="raise" would make take() buffer its output
                if not gm:
                    xp = self.ws.get("xp", (T * B, table.shape[1]), table.dtype)
                    np.take(table, tok, axis=0, out=xp, mode="clip")
                    return xp.reshape(T, B, -1)
                H = table.shape[1] // G
                tg = np.ascontiguousarray(table.reshape(-1, G, H).transpose(1, 0, 2))
                xp = self.ws.get("xpg", (G, T * B, H), table.dtype)
                for g in range(G):
                    np.take(tg[g], tok, axis=0, out=xp[g], mode="clip")
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
                word = self.scale is not None  # dropped positions: one more row, V
                onehot = self.ws.get("onehot", (V + word, N), dxp.dtype)
                onehot.fill(0)
                onehot[tok if not word else self._word_tokens(tok, self.scale[t0:]),
                       np.arange(N)] = 1
                dtab = gr.left(onehot)  # [V (+1), GH]: per token, the sum of its dXP rows
                bsum = dtab.sum(axis=0)
                if word:
                    dtab = dtab[:V] * dtab.dtype.type(self.c)
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
