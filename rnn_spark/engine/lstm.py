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

import numpy as np

from . import gemmplan
from .cells import CHUNK_ELEMS, Cell, MaskInfo, Workspace, transpose_into


class LSTMCell(Cell):
    gates = 4
    perm_blocks = (3, 0, 1, 2)
    n_sigmoid = 3
    gate_major = True  # xp arrives, and the pre-activation gradient leaves, as [4, T, B, H]

    def prepare(self, w_hh: np.ndarray, b_hh: np.ndarray, batch: int = 1, ws=None) -> dict:
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
        fwd = ws.get("wfwd", (4, J, H, m), dt)
        bwd = ws.get("wbwd", (4, J, H, m), dt)
        for g, (_, bt, sc) in enumerate(self.blocks):
            wg = w_hh[bt]  # [H out, H in]
            for j in range(J):
                transpose_into(fwd[g, j], wg[j * m:(j + 1) * m], sc)
            np.copyto(bwd[g], wg.reshape(H, J, m).transpose(1, 0, 2))
        return {"fwd": fwd, "bwd": bwd}

    def forward(self, xp, state0, prep, mi: MaskInfo):
        """xp: [4, T, B, H] input pre-activations, gate-major (internal order, scaled); it is
        overwritten with the gate activations (kept for the backward)."""
        _, T, B, H = xp.shape
        dt = xp.dtype
        h0, c0 = state0
        ws = prep["ws"]
        A = xp
        P = ws.get("pg", (4, B, H), dt)  # recurrent part of a step's pre-activations
        hb = ws.get("hb", (T + 1, B, H), dt)
        cb = ws.get("cb", (T + 1, B, H), dt)
        tc = ws.get("tc", (T, B, H), dt)
        hb[0] = h0
        cb[0] = c0
        ig = np.empty((B, H), dtype=dt)
        fwd = prep["fwd"]
        J, m = fwd.shape[1], fwd.shape[3]
        pv = P.reshape(4, B, J, m).transpose(0, 2, 1, 3)  # block view for the matmul
        for t in range(T):
            at = A[:, t]  # [4, B, H], each gate contiguous
            np.matmul(hb[t], fwd, out=pv)
            np.add(at, P, out=at)
            np.tanh(at, out=at)
            s = at[:3]
            np.multiply(s, 0.5, out=s)
            np.add(s, 0.5, out=s)
            c = cb[t + 1]
            np.multiply(at[2], cb[t], out=c)
            np.multiply(at[1], at[3], out=ig)
            np.add(c, ig, out=c)
            np.tanh(c, out=tc[t])
            np.multiply(at[0], tc[t], out=hb[t + 1])
            if mi.masked(t):
                np.copyto(hb[t + 1], hb[t], where=mi.drop[t])
                np.copyto(cb[t + 1], cb[t], where=mi.drop[t])
        final = (hb[T].copy(), cb[T].copy())
        return hb[1:], final, {"a": A, "hb": hb, "cb": cb, "tc": tc}

    def backward(self, dy, cache, prep, mi: MaskInfo, t0: int):
        """Returns the pre-activation gradient gate-major ``[4, T, B, H]`` (valid from t0)."""
        A, hb, cb, tc = cache["a"], cache["hb"], cache["cb"], cache["tc"]
        T, B, H = dy.shape
        dt = dy.dtype
        # Per-step factors, computed in chunks of steps just before the reverse loop needs them
        # (vectorised over the chunk, still cache-hot when used):
        #   slot o: tanh(c) * o(1-o)    slot i: g * i(1-i)
        #   slot f: c_prev * f(1-f)     slot g: i * (1-g^2)
        # The pre-activation gradient of step t is [dh, dc, dc, dc] * sp[:, t], made in place.
        ws = prep["ws"]
        sp = ws.get("sp", (4, T, B, H), dt)
        o2 = ws.get("o2", (T, B, H), dt)  # o * (1 - tanh(c)^2)
        P = ws.get("pg", (4, B, H), dt)  # per-gate parts of dh_prev
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

        bwd = prep["bwd"]
        J, m = bwd.shape[1], bwd.shape[3]
        pv = P.reshape(4, B, J, m).transpose(0, 2, 1, 3)
        dh = np.empty((B, H), dtype=dt)
        dc = np.empty((B, H), dtype=dt)
        dh_next = np.zeros((B, H), dtype=dt)
        dc_next = np.zeros((B, H), dtype=dt)
        lo = T
        for t in range(T - 1, t0 - 1, -1):
            if t < lo:
                lo = max(t0, t + 1 - chunk)
                factors(lo, t + 1)
            np.add(dy[t], dh_next, out=dh)
            msk = mi.masked(t)
            if msk:
                carry_h = dh * mi.drop_f[t]
                carry_c = dc_next * mi.drop_f[t]
                dh *= mi.keep_f[t]
                dc_next *= mi.keep_f[t]
            np.multiply(dh, o2[t], out=dc)
            np.add(dc, dc_next, out=dc)
            st = sp[:, t]
            st[0] *= dh
            st[1:] *= dc
            np.multiply(dc, A[2, t], out=dc_next)
            np.matmul(st[:, None], bwd, out=pv)
            np.sum(P, axis=0, out=dh_next)
            if msk:
                np.add(dh_next, carry_h, out=dh_next)
                dc_next += carry_c
        return sp, sp, hb[:T], (dh_next.copy(), dc_next)
