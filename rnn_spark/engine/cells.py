"""Recurrent cells: the recurrence of one layer over a window, forward and backward.

Layout inside the engine is time-major: ``[T, B, features]``, so one step is a contiguous
``[B, features]`` slab. A cell never sees the layer input itself: the model precomputes the input
projection ``XP = x @ W_ih^T + b`` for the whole window with one GEMM (or a table lookup for token
input) and the cell adds the recurrent term step by step. Backward returns

* ``dxp``  -- gradient w.r.t. the input pre-activations ``XP`` (drives dW_ih, db_ih, dx),
* ``dgh``  -- gradient w.r.t. the recurrent pre-activations ``h_prev @ W_hh^T + b_hh`` (drives dW_hh, db_hh),

both ``[T, B, G*H]`` in the cell's *internal* gate order, valid on steps ``t0..T-1`` only, so the
weight gradients are each ONE GEMM over all time steps. ``hprev`` (``[T, B, H]``) is returned in the
cache for that GEMM.

Sigmoid gates are evaluated as ``0.5 * tanh(0.5 z) + 0.5``: the 0.5 is folded into the internal copy
of the weights (``scale``), so one ``tanh`` call covers all gates of a step.
"""

from __future__ import annotations

import numpy as np

from . import gemmplan


# Whole-window elementwise work is done in chunks of about this many elements (~1 MB of
# float32), so it stays in cache between being computed and being used by the step loop.
CHUNK_ELEMS = 1 << 18


def aligned_empty(shape, dtype) -> np.ndarray:
    """``np.empty`` on a 64-byte boundary. OpenBLAS's AVX-512 GEMM kernels run up to ~1.6x
    slower when the right operand is not 64-byte aligned (measured: [32,512] x [512,2048])."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape)) * dtype.itemsize
    raw = np.empty(n + 64, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64
    return raw[start:start + n].view(dtype).reshape(shape)


def transpose_into(dst: np.ndarray, src: np.ndarray, scale: float = 1.0, block: int = 32) -> None:
    """``dst[...] = src.T * scale`` for 2-D arrays, one block of ``block`` source rows at a time.

    NumPy copies a transposed matrix element by element down whole columns, which thrashes the
    cache: a [2048, 512] float32 transpose takes 2.7 ms whole and 0.42 ms in row blocks of 32
    ([1024, 256]: 234 -> 89 us).
    """
    for r in range(0, src.shape[0], block):
        d = dst[:, r:r + block]
        if scale == 1.0:
            np.copyto(d, src[r:r + block].T)
        else:
            np.multiply(src[r:r + block].T, scale, out=d)


def blocked(right: np.ndarray, batch: int, ws: "Workspace", key) -> np.ndarray:
    """``right [K, N]`` as contiguous column blocks ``[J, K, m]`` (width from gemmplan)."""
    K, N = right.shape
    m = gemmplan.block_width(N, batch, K)
    out = ws.get(key, (N // m, K, m), right.dtype)
    np.copyto(out, right.reshape(K, N // m, m).transpose(1, 0, 2))
    return out


def block_out(out: np.ndarray, blocks: np.ndarray) -> np.ndarray:
    """View of a ``[B, N]`` product as ``[J, B, m]`` for ``np.matmul(a, blocks, out=...)``."""
    J, _, m = blocks.shape
    return out.reshape(out.shape[0], J, m).transpose(1, 0, 2)


class Workspace:
    """Reusable aligned scratch buffers, one per key, kept between calls.

    Fresh multi-MB arrays come from ``mmap`` and cost a page fault per 4 KB on first touch (measured:
    3-7k faults, 15-35% of an LSTM training step); reusing them avoids that. Buffers handed out
    are uninitialised (as ``np.empty``) and must never escape to callers: copy what is returned.
    One workspace serves one thread (the model keeps one per thread).
    """

    def __init__(self) -> None:
        self.bufs: dict = {}

    def get(self, key, shape, dtype) -> np.ndarray:
        dtype = np.dtype(dtype)
        shape = tuple(int(s) for s in shape)
        b = self.bufs.get(key)
        if b is None or b.shape != shape or b.dtype != dtype:
            b = aligned_empty(shape, dtype)
            self.bufs[key] = b
        return b


class MaskInfo:
    """Per-step masking helpers for a time-major mask ``[T, B]`` (None = nothing masked)."""

    def __init__(self, mask_tb: np.ndarray | None, dtype) -> None:
        if mask_tb is None:
            self.any = False
            self.steps = None
            return
        keep = np.asarray(mask_tb, dtype=bool)
        self.any = not bool(keep.all())
        self.steps = (~keep).any(axis=1)  # step t has at least one masked row
        self.drop = ~keep[:, :, None]  # [T, B, 1] bool, True = masked (state carried)
        self.keep_f = keep[:, :, None].astype(dtype)
        self.drop_f = self.drop.astype(dtype)

    def masked(self, t: int) -> bool:
        return self.any and bool(self.steps[t])


class Cell:
    """Base: gate layout and the internal (permuted, scaled) copies of the weights."""

    gates = 1
    perm_blocks: tuple[int, ...] | None = None  # internal block b holds PyTorch block perm_blocks[b]
    n_sigmoid = 0  # the first n_sigmoid internal blocks are sigmoid gates

    def __init__(self, input_size: int, hidden_size: int) -> None:
        self.input_size = input_size
        self.hidden_size = hidden_size
        H, G = hidden_size, self.gates
        order = self.perm_blocks if self.perm_blocks is not None else tuple(range(G))
        # (internal rows, PyTorch rows, scale) per gate block
        self.blocks = [(slice(b * H, (b + 1) * H), slice(tb * H, (tb + 1) * H),
                        0.5 if b < self.n_sigmoid else 1.0) for b, tb in enumerate(order)]

    # -- weight layout (block slices: memcpy-speed, no fancy indexing) -------------------------
    def to_internal(self, a: np.ndarray) -> np.ndarray:
        """PyTorch gate order -> internal gate order along axis 0 (a copy)."""
        out = aligned_empty(a.shape, a.dtype)
        if self.perm_blocks is None:
            out[...] = a
            return out
        for bi, bt, _ in self.blocks:
            out[bi] = a[bt]
        return out

    def scaled(self, a_int: np.ndarray) -> np.ndarray:
        """Fold the 0.5 of sigmoid-via-tanh into internal rows (in place, returns a)."""
        if self.n_sigmoid:
            a_int[: self.n_sigmoid * self.hidden_size] *= 0.5
        return a_int

    def internal_T_scaled(self, w: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``[In, GH]`` contiguous: PyTorch-order ``w [GH, In]`` permuted, scaled and transposed
        in one pass (a row-major right operand is the fastest GEMM layout here)."""
        if out is None:
            out = aligned_empty((w.shape[1], w.shape[0]), w.dtype)
        for bi, bt, sc in self.blocks:
            transpose_into(out[:, bi], w[bt], sc)
        return out

    def to_torch_into(self, g_int: np.ndarray, out: np.ndarray) -> None:
        """out (PyTorch order) += internal-order gradient g_int."""
        if self.perm_blocks is None:
            out += g_int
            return
        for bi, bt, _ in self.blocks:
            out[bt] += g_int[bi]

    def input_bias(self, b_ih: np.ndarray, b_hh: np.ndarray) -> np.ndarray:
        """Internal, scaled bias added to the input projection."""
        return self.scaled(self.to_internal(b_ih + b_hh))

    def prepare(self, w_hh: np.ndarray, b_hh: np.ndarray, batch: int = 1, ws=None) -> dict:
        """Per-step products ``h [B, H] @ W^T`` (forward, scaled) and ``d [B, GH] @ W`` (backward)
        as batched matmuls over contiguous column blocks (gemmplan): ``{"fwd", "bwd"}``, each
        ``[J, K, m]``; ``block_out`` gives the matching view of a ``[B, N]`` product."""
        ws = ws if ws is not None else Workspace()  # reused buffers: fresh ones page-fault
        wT = self.internal_T_scaled(w_hh, ws.get("wT", w_hh.shape[::-1], w_hh.dtype))
        w_int = w_hh if self.perm_blocks is None else self.to_internal(w_hh)  # blocked() copies
        return {"fwd": blocked(wT, batch, ws, "wfwd"), "bwd": blocked(w_int, batch, ws, "wbwd")}



class RNNCell(Cell):
    """Elman RNN: h_t = act(x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh") -> None:
        super().__init__(input_size, hidden_size)
        self.relu = nonlinearity == "relu"

    def forward(self, xp, h0, prep, mi: MaskInfo):
        T, B, _ = xp.shape
        ws = prep["ws"]
        hb = ws.get("hb", (T + 1, B, self.hidden_size), xp.dtype)
        hb[0] = h0
        fwd = prep["fwd"]
        tmp = np.empty((B, self.hidden_size), dtype=xp.dtype)
        tv = block_out(tmp, fwd)
        for t in range(T):
            h = hb[t + 1]
            np.matmul(hb[t], fwd, out=tv)
            np.add(xp[t], tmp, out=h)
            if self.relu:
                np.maximum(h, 0, out=h)
            else:
                np.tanh(h, out=h)
            if mi.masked(t):
                np.copyto(h, hb[t], where=mi.drop[t])
        return hb[1:], hb[T].copy(), {"hb": hb}

    def backward(self, dy, cache, prep, mi: MaskInfo, t0: int):
        hb = cache["hb"]
        T, B, H = dy.shape
        y = hb[t0 + 1:]
        d = prep["ws"].get("d", (T, B, H), dy.dtype)
        der = d[t0:]
        if self.relu:
            np.greater(y, 0, out=der)
        else:
            np.multiply(y, y, out=der)
            np.subtract(1, der, out=der)
        bwd = prep["bwd"]
        dh = np.empty((B, H), dtype=dy.dtype)
        dh_next = np.zeros((B, H), dtype=dy.dtype)
        dv = block_out(dh_next, bwd)
        for t in range(T - 1, t0 - 1, -1):
            np.add(dy[t], dh_next, out=dh)
            m = mi.masked(t)
            if m:
                carry = dh * mi.drop_f[t]
                dh *= mi.keep_f[t]
            np.multiply(dh, d[t], out=d[t])
            np.matmul(d[t], bwd, out=dv)
            if m:
                dh_next += carry
        return d, d, hb[:T], dh_next


def make_cell(kind: str, input_size: int, hidden_size: int) -> Cell:
    from .gru import GRUCell
    from .lstm import LSTMCell

    if kind == "rnn_tanh":
        return RNNCell(input_size, hidden_size, "tanh")
    if kind == "rnn_relu":
        return RNNCell(input_size, hidden_size, "relu")
    if kind == "lstm":
        return LSTMCell(input_size, hidden_size)
    if kind == "gru":
        return GRUCell(input_size, hidden_size)
    raise ValueError(f"unknown cell {kind!r}")
