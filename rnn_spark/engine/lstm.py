"""LSTM cell (PyTorch formulation), forward and backward over a window.

Internal gate order is ``o, i, f, g`` (PyTorch stores ``i, f, g, o``): the three sigmoid gates are
contiguous for the fused ``tanh`` and the three gates whose gradient is ``dc * something``
(i, f, g) are contiguous for one broadcast multiply in the backward step.
"""

from __future__ import annotations

import numpy as np

from .cells import CHUNK_ELEMS, Cell, MaskInfo, aligned_empty


class LSTMCell(Cell):
    gates = 4
    perm_blocks = (3, 0, 1, 2)
    n_sigmoid = 3

    def forward(self, xp, state0, prep, mi: MaskInfo):
        """xp [T,B,4H] (internal order, scaled) is overwritten with the gate activations."""
        T, B, _ = xp.shape
        H = self.hidden_size
        dt = xp.dtype
        h0, c0 = state0
        ws = prep["ws"]
        hb = ws.get("hb", (T + 1, B, H), dt)
        cb = ws.get("cb", (T + 1, B, H), dt)
        tc = ws.get("tc", (T, B, H), dt)
        hb[0] = h0
        cb[0] = c0
        whhT = prep["whhT_s"]
        tmp = np.empty((B, 4 * H), dtype=dt)
        ig = np.empty((B, H), dtype=dt)
        H3 = 3 * H
        for t in range(T):
            a = xp[t]
            np.matmul(hb[t], whhT, out=tmp)
            np.add(a, tmp, out=a)
            np.tanh(a, out=a)
            s = a[:, :H3]
            np.multiply(s, 0.5, out=s)
            np.add(s, 0.5, out=s)
            c = cb[t + 1]
            np.multiply(a[:, 2 * H:H3], cb[t], out=c)
            np.multiply(a[:, H:2 * H], a[:, H3:], out=ig)
            np.add(c, ig, out=c)
            np.tanh(c, out=tc[t])
            np.multiply(a[:, :H], tc[t], out=hb[t + 1])
            if mi.masked(t):
                np.copyto(hb[t + 1], hb[t], where=mi.drop[t])
                np.copyto(cb[t + 1], cb[t], where=mi.drop[t])
        final = (hb[T].copy(), cb[T].copy())
        return hb[1:], final, {"a": xp, "hb": hb, "cb": cb, "tc": tc}

    def backward(self, dy, cache, prep, mi: MaskInfo, t0: int):
        a, hb, cb, tc = cache["a"], cache["hb"], cache["cb"], cache["tc"]
        T, B, H = dy.shape
        dt = dy.dtype
        # Per-step factors, computed in chunks of steps just before the reverse loop needs them
        # (vectorised over the chunk, still cache-hot when used):
        #   slot o: tanh(c) * o(1-o)    slot i: g * i(1-i)
        #   slot f: c_prev * f(1-f)     slot g: i * (1-g^2)
        # d[t] = [dh, dc, dc, dc] * sp[t] then becomes the pre-activation gradient in place.
        a4 = a.reshape(T, B, 4, H)
        ws = prep["ws"]
        sp = ws.get("sp", (T, B, 4, H), dt)
        o2 = ws.get("o2", (T, B, H), dt)  # o * (1 - tanh(c)^2)
        chunk = max(1, CHUNK_ELEMS // (B * 4 * H))

        def factors(lo, hi):
            s, q, tcw = sp[lo:hi], a4[lo:hi], tc[lo:hi]
            sig = q[:, :, :3]
            np.subtract(1, sig, out=s[:, :, :3])
            s[:, :, :3] *= sig
            s[:, :, 0] *= tcw
            s[:, :, 1] *= q[:, :, 3]
            s[:, :, 2] *= cb[lo:hi]
            g = q[:, :, 3]
            np.multiply(g, g, out=s[:, :, 3])
            np.subtract(1, s[:, :, 3], out=s[:, :, 3])
            s[:, :, 3] *= q[:, :, 1]
            ow = o2[lo:hi]
            np.multiply(tcw, tcw, out=ow)
            np.subtract(1, ow, out=ow)
            ow *= q[:, :, 0]

        whh = prep["whh"]
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
            m = mi.masked(t)
            if m:
                carry_h = dh * mi.drop_f[t]
                carry_c = dc_next * mi.drop_f[t]
                dh *= mi.keep_f[t]
                dc_next *= mi.keep_f[t]
            np.multiply(dh, o2[t], out=dc)
            np.add(dc, dc_next, out=dc)
            st = sp[t]
            np.multiply(dh, st[:, 0], out=st[:, 0])
            np.multiply(dc[:, None, :], st[:, 1:], out=st[:, 1:])
            np.multiply(dc, a4[t, :, 2], out=dc_next)
            np.matmul(sp[t].reshape(B, 4 * H), whh, out=dh_next)
            if m:
                dh_next += carry_h
                dc_next += carry_c
        d = sp.reshape(T, B, 4 * H)
        return d, d, hb[:T], (dh_next, dc_next)
