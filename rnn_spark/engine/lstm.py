"""LSTM cell (PyTorch formulation), forward and backward over a window.

Internal gate order is ``o, i, f, g`` (PyTorch stores ``i, f, g, o``): the three sigmoid gates are
contiguous for one affine ``0.5 * tanh + 0.5``, and the three gates whose gradient is
``dc * something`` (i, f, g) are contiguous for one broadcast multiply in the backward step.

Everything per gate is kept gate-major, ``[4, T, B, H]`` (input pre-activations, activations,
pre-activation gradients): each gate of a step is one contiguous ``[B, H]`` block, so every
elementwise operation runs over long contiguous runs (slices of a batch-major ``[B, 4H]`` row are
``B`` short runs, which NumPy iterates 2-3x slower per element), and each gate's whole window is
one ``[T*B, H]`` matrix for the weight-gradient GEMMs. The per-step recurrent products are batched
matmuls over small column blocks (see gemmplan) whose outputs land in that layout directly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import gemmplan
from .buffers import Workspace, transpose_into
from .cellbase import Backward, Cell, Forward, MaskInfo, Prep

# The backward's per-step factors are computed in chunks of about this many elements (~1 MB of
# float32), so they stay in cache between being computed and being used by the step loop.
CHUNK_ELEMS = 1 << 18


class LSTMCache(NamedTuple):
    a: np.ndarray  # [4, T, B, H] gate activations o, i, f, g (the forward's xp, overwritten)
    hb: np.ndarray  # [T+1, B, H] h_0 .. h_T
    cb: np.ndarray  # [T+1, B, H] c_0 .. c_T
    tc: np.ndarray  # [T, B, H] tanh(c_t)
    rm: np.ndarray | None = None  # [B, H] recurrent dropout mask
    hd: np.ndarray | None = None  # [T, B, H] h_{t-1} * rm of every step


class LSTMCell(Cell):
    """LSTM: i, f, o = sigmoid(.), g = tanh(.), c' = f c + i g, h' = o tanh(c'). State ``(h, c)``."""

    gates = 4
    perm_blocks = (3, 0, 1, 2)
    n_sigmoid = 3
    gate_major = True  # xp arrives, and the pre-activation gradient leaves, as [4, T, B, H]

    def zero_state(self, batch: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((batch, self.hidden_size), dtype), np.zeros((batch, self.hidden_size), dtype)

    def prepare(self, w_hh: np.ndarray, b_hh: np.ndarray, batch: int = 1,
                ws: Workspace | None = None) -> Prep:
        """Recurrent weights laid out for the per-step products of a batch of ``batch`` rows,
        both cut into ``J`` column blocks of width ``m`` (gemmplan) and run as one batched matmul:

        forward: ``h [B, H] @ W_g^T`` per gate ``g``: blocks ``[4, J, H, m]`` of ``W_g^T``, scaled;
        the product lands gate-major.

        backward: ``sum_g d_g [B, H] @ W_g`` (``W_g``: gate g's ``[H, H]`` rows of ``W_hh``,
        unscaled): blocks ``[4, J, H, m]`` of ``W_g``, per-gate products summed afterwards.
        """
        H = self.hidden_size
        dt = w_hh.dtype
        ws = ws if ws is not None else Workspace()  # reused buffers: fresh ones page-fault
        m = gemmplan.block_width(H, batch, H)
        J = H // m
        fwd = ws.get("wfwd", (4, J, H, m), dt)  # [4, J, H, m]: W_g^T blocks, scaled
        bwd = ws.get("wbwd", (4, J, H, m), dt)  # [4, J, H, m]: W_g blocks
        for g, (_, bt, sc) in enumerate(self.blocks):
            wg = w_hh[bt]  # [H out, H in]
            for j in range(J):
                transpose_into(fwd[g, j], wg[j * m:(j + 1) * m], sc)
            np.copyto(bwd[g], wg.reshape(H, J, m).transpose(1, 0, 2))
        return Prep(ws, fwd, bwd, self.gate_major)

    def forward(self, xp: np.ndarray, state0: tuple, prep: Prep, mi: MaskInfo,
                rm: np.ndarray | None = None) -> Forward:
        """xp: [4, T, B, H] input pre-activations, gate-major (internal order, scaled); it is
        overwritten with the gate activations (kept for the backward). state0: (h0, c0) [B, H].
        rm: recurrent dropout mask [B, H] on h_{t-1} in the recurrent product (None = off)."""
        _, T, B, H = xp.shape
        dt = xp.dtype
        h0, c0 = state0
        ws = prep.ws
        A = xp  # [4, T, B, H]
        P = ws.get("pg", (4, B, H), dt)  # [4, B, H] recurrent part of a step's pre-activations
        hb = ws.get("hb", (T + 1, B, H), dt)  # [T+1, B, H]
        cb = ws.get("cb", (T + 1, B, H), dt)  # [T+1, B, H]
        tc = ws.get("tc", (T, B, H), dt)  # [T, B, H]
        hb[0] = h0
        cb[0] = c0
        ig = np.empty((B, H), dtype=dt)  # [B, H] i * g
        fwd = prep.fwd  # [4, J, H, m]
        J, m = fwd.shape[1], fwd.shape[3]
        pv = P.reshape(4, B, J, m).transpose(0, 2, 1, 3)  # [4, J, B, m] block view of P
        hd = self.dropped(rm, T, prep, dt)  # [T, B, H] h_{t-1} * rm
        for t in range(T):
            at = A[:, t]  # [4, B, H], each gate contiguous
            hp = hb[t] if rm is None else np.multiply(hb[t], rm, out=hd[t])
            np.matmul(hp, fwd, out=pv)  # [B, H] @ [4, J, H, m] -> [4, J, B, m]: h_{t-1} W_g^T
            np.add(at, P, out=at)  # [4, B, H] pre-activations (sigmoid gates halved)
            np.tanh(at, out=at)
            s = at[:3]  # [3, B, H] o, i, f
            np.multiply(s, 0.5, out=s)
            np.add(s, 0.5, out=s)  # sigmoid = 0.5 tanh(z/2) + 0.5
            c = cb[t + 1]  # [B, H]
            np.multiply(at[2], cb[t], out=c)  # f * c_{t-1}
            np.multiply(at[1], at[3], out=ig)  # i * g
            np.add(c, ig, out=c)
            np.tanh(c, out=tc[t])  # [B, H]
            np.multiply(at[0], tc[t], out=hb[t + 1])  # h_t = o * tanh(c_t)
            if mi.masked(t):
                mi.hold(t, hb[t + 1], hb[t])
                mi.hold(t, cb[t + 1], cb[t])
        final = (hb[T].copy(), cb[T].copy())
        return Forward(hb[1:], final, LSTMCache(A, hb, cb, tc, rm, hd))

    def backward(self, dy: np.ndarray, cache: LSTMCache, prep: Prep, mi: MaskInfo,
                 t0: int) -> Backward:
        """dy: [T, B, H]. dxp = dgh = the pre-activation gradient, gate-major ``[4, T, B, H]``."""
        A, hb, cb, tc, rm, hd = cache
        T, B, H = dy.shape
        dt = dy.dtype
        # Per-step factors, computed in chunks of steps just before the reverse loop needs them
        # (vectorised over the chunk, still cache-hot when used):
        #   slot o: tanh(c) * o(1-o)    slot i: g * i(1-i)
        #   slot f: c_prev * f(1-f)     slot g: i * (1-g^2)
        # The pre-activation gradient of step t is [dh, dc, dc, dc] * sp[:, t], made in place.
        ws = prep.ws
        sp = ws.get("sp", (4, T, B, H), dt)  # [4, T, B, H]
        o2 = ws.get("o2", (T, B, H), dt)  # [T, B, H] o * (1 - tanh(c)^2)
        P = ws.get("pg", (4, B, H), dt)  # [4, B, H] per-gate parts of dh_prev
        chunk = max(1, CHUNK_ELEMS // (B * 4 * H))

        def factors(lo, hi):
            s, q, tcw = sp[:, lo:hi], A[:, lo:hi], tc[lo:hi]
            np.subtract(1, q[:3], out=s[:3])
            s[:3] *= q[:3]
            s[0] *= tcw
            s[1] *= q[3]
            s[2] *= cb[lo:hi]
            g = q[3]
            np.multiply(g, g, out=s[3])
            np.subtract(1, s[3], out=s[3])
            s[3] *= q[1]
            ow = o2[lo:hi]
            np.multiply(tcw, tcw, out=ow)
            np.subtract(1, ow, out=ow)
            ow *= q[0]

        bwd = prep.bwd  # [4, J, H, m]
        J, m = bwd.shape[1], bwd.shape[3]
        pv = P.reshape(4, B, J, m).transpose(0, 2, 1, 3)  # [4, J, B, m] block view of P
        dh = np.empty((B, H), dtype=dt)  # [B, H] dL/dh_t
        dc = np.empty((B, H), dtype=dt)  # [B, H] dL/dc_t
        dh_next = np.zeros((B, H), dtype=dt)  # [B, H] dL/dh_{t-1} from step t
        dc_next = np.zeros((B, H), dtype=dt)  # [B, H] dL/dc_{t-1} from step t
        lo = T
        for t in range(T - 1, t0 - 1, -1):
            if t < lo:
                lo = max(t0, t + 1 - chunk)
                factors(lo, t + 1)
            np.add(dy[t], dh_next, out=dh)  # [B, H]
            msk = mi.masked(t)
            if msk:
                carry_h = mi.hold_grad(t, dh)  # [B, H]
                carry_c = mi.hold_grad(t, dc_next)  # [B, H]
            np.multiply(dh, o2[t], out=dc)
            np.add(dc, dc_next, out=dc)  # [B, H]
            st = sp[:, t]  # [4, B, H] -> dL/dz_t in place
            st[0] *= dh
            st[1:] *= dc
            np.multiply(dc, A[2, t], out=dc_next)  # dc * f
            np.matmul(st[:, None], bwd, out=pv)  # [4, 1, B, H] @ [4, J, H, m] -> [4, J, B, m]: dz_g W_g
            np.sum(P, axis=0, out=dh_next)  # [B, H] sum over gates
            if rm is not None:
                dh_next *= rm
            if msk:
                np.add(dh_next, carry_h, out=dh_next)
                dc_next += carry_c
        return Backward(sp, sp, hb[:T] if hd is None else hd, (dh_next.copy(), dc_next))
