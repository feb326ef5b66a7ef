"""LSTM cell (PyTorch formulation), forward and backward over a window.

Internal gate order is ``o, i, f, g`` (PyTorch stores ``i, f, g, o``): the three sigmoid gates are
contiguous for one affine ``0.5 * tanh + 0.5`` and the three gates whose gradient is
``dc * something`` (i, f, g) are contiguous for one broadcast multiply in the backward step.

Gate activations are kept gate-major, ``[T, 4, B, H]``: each gate of a step is one contiguous
``[B, H]`` block, so every elementwise operation runs over long contiguous runs (slices of a
batch-major ``[B, 4H]`` row are ``B`` short runs, which NumPy iterates 2-3x slower per element).
The per-step recurrent product writes its column blocks straight into that layout (see
gemmplan). The gradient w.r.t. the pre-activations is returned batch-major ``[T, B, 4H]`` for
the whole-window weight-gradient GEMMs.
"""

from __future__ import annotations

import numpy as np

from . import gemmplan
from .cells import CHUNK_ELEMS, Cell, MaskInfo, aligned_empty, transpose_into

# Hidden size from which the per-step backward product runs feature-major when it cannot be cut
# into small blocks (see LSTMCell.prepare).
FM_MIN_HIDDEN = 256


class LSTMCell(Cell):
    gates = 4
    perm_blocks = (3, 0, 1, 2)
    n_sigmoid = 3
    gate_major = True  # input pre-activations arrive as [4, T, B, H] (Projection)

    def prepare(self, w_hh: np.ndarray, b_hh: np.ndarray, batch: int = 1) -> dict:
        """Recurrent weights laid out for the per-step products of a batch of ``batch`` rows.

        forward: ``h [B, H] @ W_g^T`` for every gate ``g``, cut into ``J`` column blocks of width
        ``m`` (gemmplan), stored ``[4, J, H, m]`` contiguous and scaled, and run as one batched
        matmul whose output lands in gate-major order.

        backward: ``d [B, 4H] @ W`` (``W`` internal, unscaled ``[4H, H]``) the same way when
        blocks of at least ``gemmplan.ALIGN`` fit the small-matrix kernel; otherwise whole,
        feature-major from ``FM_MIN_HIDDEN`` (``W^T [H, 4H] @ d^T -> [H, B]``, 10-25% faster in
        OpenBLAS's AVX-512 kernel at B=32: 350 vs 439 us at H=512), batch-major below.
        """
        H = self.hidden_size
        dt = w_hh.dtype
        m = gemmplan.block_width(H, batch, H)
        J = H // m
        fwd = aligned_empty((4, J, H, m), dt)
        for g, (_, bt, sc) in enumerate(self.blocks):
            wg = w_hh[bt]
            for j in range(J):
                transpose_into(fwd[g, j], wg[j * m:(j + 1) * m], sc)
        mb = gemmplan.block_width(H, batch, 4 * H)
        if mb < H or H < FM_MIN_HIDDEN:
            w_int = self.to_internal(w_hh)
            Jb = H // mb
            blocks = aligned_empty((Jb, 4 * H, mb), dt)
            np.copyto(blocks, w_int.reshape(4 * H, Jb, mb).transpose(1, 0, 2))
            bwd = ("bm", blocks)
        else:
            wT = aligned_empty((H, 4 * H), dt)  # internal order, unscaled, transposed
            for bi, bt, _ in self.blocks:
                transpose_into(wT[:, bi], w_hh[bt])
            bwd = ("fm", wT)
        return {"fwd": fwd, "bwd": bwd}

    def forward(self, xp, state0, prep, mi: MaskInfo):
        """xp: [4, T, B, H] input pre-activations, gate-major (internal order, scaled)."""
        _, T, B, _ = xp.shape
        H = self.hidden_size
        dt = xp.dtype
        h0, c0 = state0
        ws = prep["ws"]
        A = ws.get("agm", (T, 4, B, H), dt)
        hb = ws.get("hb", (T + 1, B, H), dt)
        cb = ws.get("cb", (T + 1, B, H), dt)
        tc = ws.get("tc", (T, B, H), dt)
        hb[0] = h0
        cb[0] = c0
        xg = xp.transpose(1, 0, 2, 3)  # [T, 4, B, H], each gate of a step contiguous
        ig = np.empty((B, H), dtype=dt)
        fwd = prep["fwd"]
        J, m = fwd.shape[1], fwd.shape[3]
        for t in range(T):
            at = A[t]
            np.matmul(hb[t], fwd, out=at.reshape(4, B, J, m).transpose(0, 2, 1, 3))
            np.add(at, xg[t], out=at)
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
        A, hb, cb, tc = cache["a"], cache["hb"], cache["cb"], cache["tc"]
        T, B, H = dy.shape
        dt = dy.dtype
        # Per-step factors, computed in chunks of steps just before the reverse loop needs them
        # (vectorised over the chunk, still cache-hot when used), gate-major like A:
        #   slot o: tanh(c) * o(1-o)    slot i: g * i(1-i)
        #   slot f: c_prev * f(1-f)     slot g: i * (1-g^2)
        # The pre-activation gradient of step t is [dh, dc, dc, dc] * sp[t].
        ws = prep["ws"]
        sp = ws.get("sp", (T, 4, B, H), dt)
        o2 = ws.get("o2", (T, B, H), dt)  # o * (1 - tanh(c)^2)
        D = ws.get("dbm", (T, B, 4 * H), dt)
        chunk = max(1, CHUNK_ELEMS // (B * 4 * H))

        def factors(lo, hi):
            s, q, tcw = sp[lo:hi], A[lo:hi], tc[lo:hi]
            np.subtract(1, q[:, :3], out=s[:, :3])
            s[:, :3] *= q[:, :3]
            s[:, 0] *= tcw
            s[:, 1] *= q[:, 3]
            s[:, 2] *= cb[lo:hi]
            g = q[:, 3]
            np.multiply(g, g, out=s[:, 3])
            np.subtract(1, s[:, 3], out=s[:, 3])
            s[:, 3] *= q[:, 1]
            ow = o2[lo:hi]
            np.multiply(tcw, tcw, out=ow)
            np.subtract(1, ow, out=ow)
            ow *= q[:, 0]

        kind, w = prep["bwd"]
        dh = np.empty((B, H), dtype=dt)
        dc = np.empty((B, H), dtype=dt)
        # dh_next: recurrent gradient w.r.t. h_{t-1} as a [B, H] array (feature-major: a
        # transposed view of the [H, B] GEMM product)
        if kind == "fm":
            dhT = ws.get("dhT", (H, B), dt)
            dhT.fill(0)
            dh_next = dhT.T
        else:
            dh_next = np.zeros((B, H), dtype=dt)
            Jb, mb = w.shape[0], w.shape[2]
            dhb = dh_next.reshape(B, Jb, mb).transpose(1, 0, 2)  # block view for the matmul
        dc_next = np.zeros((B, H), dtype=dt)
        lo = T
        for t in range(T - 1, t0 - 1, -1):
            if t < lo:
                lo = max(t0, t + 1 - chunk)
                factors(lo, t + 1)
            np.add(dy[t], dh_next, out=dh)
            m = mi.masked(t)
            if m:
                carry_h = dh * mi.drop_f[t]
                carry_c = dc_next * mi.drop_f[t]
                dh *= mi.keep_f[t]
                dc_next *= mi.keep_f[t]
            np.multiply(dh, o2[t], out=dc)
            np.add(dc, dc_next, out=dc)
            st = sp[t]
            dt_ = D[t]
            d4 = dt_.reshape(B, 4, H)
            np.multiply(dh, st[0], out=d4[:, 0])
            np.multiply(dc, st[1:], out=d4[:, 1:].transpose(1, 0, 2))
            np.multiply(dc, A[t, 2], out=dc_next)
            if kind == "fm":
                np.matmul(w, dt_.T, out=dhT)
            else:
                np.matmul(dt_, w, out=dhb)
            if m:
                np.add(dh_next, carry_h, out=dh_next)
                dc_next += carry_c
        return D, D, hb[:T], (dh_next.copy(), dc_next)
