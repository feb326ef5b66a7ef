"""GRU cell (PyTorch formulation), forward and backward over a window.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

Gate order r, z, n is kept (the two sigmoid gates are already contiguous).
"""

from __future__ import annotations

import numpy as np

from .cells import Cell, MaskInfo, block_out


class GRUCell(Cell):
    gates = 3
    perm_blocks = None
    n_sigmoid = 2

    def input_bias(self, b_ih, b_hh):
        H = self.hidden_size
        b = np.array(b_ih)
        b[: 2 * H] += b_hh[: 2 * H]
        return self.scaled(b)

    def prepare(self, w_hh, b_hh, batch=1, ws=None):
        p = super().prepare(w_hh, b_hh, batch, ws)
        p["bhn"] = np.array(b_hh[2 * self.hidden_size:])
        return p

    def forward(self, xp, h0, prep, mi: MaskInfo):
        T, B, _ = xp.shape
        H = self.hidden_size
        dt = xp.dtype
        ws = prep["ws"]
        hb = ws.get("hb", (T + 1, B, H), dt)
        ghn = ws.get("ghn", (T, B, H), dt)
        hb[0] = h0
        fwd, bhn = prep["fwd"], prep["bhn"]
        gh = np.empty((B, 3 * H), dtype=dt)
        ghv = block_out(gh, fwd)
        tmp = np.empty((B, H), dtype=dt)
        H2 = 2 * H
        for t in range(T):
            a = xp[t]
            np.matmul(hb[t], fwd, out=ghv)
            rz = a[:, :H2]
            np.add(rz, gh[:, :H2], out=rz)
            np.tanh(rz, out=rz)
            np.multiply(rz, 0.5, out=rz)
            np.add(rz, 0.5, out=rz)
            np.add(gh[:, H2:], bhn, out=ghn[t])
            n = a[:, H2:]
            np.multiply(a[:, :H], ghn[t], out=tmp)
            np.add(n, tmp, out=n)
            np.tanh(n, out=n)
            np.subtract(hb[t], n, out=tmp)
            np.multiply(a[:, H:H2], tmp, out=tmp)
            np.add(n, tmp, out=hb[t + 1])
            if mi.masked(t):
                np.copyto(hb[t + 1], hb[t], where=mi.drop[t])
        return hb[1:], hb[T].copy(), {"a": xp, "hb": hb, "ghn": ghn}

    def backward(self, dy, cache, prep, mi: MaskInfo, t0: int):
        a, hb, ghn = cache["a"], cache["hb"], cache["ghn"]
        T, B, H = dy.shape
        dt = dy.dtype
        H2 = 2 * H
        ws = prep["ws"]
        dx = ws.get("dx", (T, B, 3 * H), dt)
        dg = ws.get("dg", (T, B, 3 * H), dt)
        w = slice(t0, T)
        r, z, n = a[w, :, :H], a[w, :, H:H2], a[w, :, H2:]
        # whole-window factors: pn = (1-n^2)(1-z) [dx n-slot], pz = (h_prev-n) z(1-z) [dg z-slot],
        # pr = ghn r(1-r) [dg r-slot]
        pn, pz, pr = dx[w, :, H2:], dg[w, :, H:H2], dg[w, :, :H]
        np.multiply(n, n, out=pn)
        np.subtract(1, pn, out=pn)
        tmpw = np.subtract(1, z, out=ws.get("tmpw", z.shape, dt))
        pn *= tmpw
        tmpw *= z
        np.subtract(hb[w], n, out=pz)
        pz *= tmpw
        np.subtract(1, r, out=pr)
        pr *= r
        pr *= ghn[w]
        bwd = prep["bwd"]
        dh = np.empty((B, H), dtype=dt)
        tmp = np.empty((B, H), dtype=dt)
        dh_next = np.zeros((B, H), dtype=dt)
        dv = block_out(dh_next, bwd)
        for t in range(T - 1, t0 - 1, -1):
            np.add(dy[t], dh_next, out=dh)
            m = mi.masked(t)
            if m:
                carry = dh * mi.drop_f[t]
                dh *= mi.keep_f[t]
            dpn = dx[t, :, H2:]
            g = dg[t]
            np.multiply(dh, dpn, out=dpn)
            np.multiply(dh, g[:, H:H2], out=g[:, H:H2])
            np.multiply(dpn, g[:, :H], out=g[:, :H])
            np.multiply(dpn, a[t, :, :H], out=g[:, H2:])
            np.matmul(g, bwd, out=dv)
            np.multiply(dh, a[t, :, H:H2], out=tmp)
            dh_next += tmp
            if m:
                dh_next += carry
        dx[w, :, :H2] = dg[w, :, :H2]
        return dx, dg, hb[:T], dh_next
