"""GRU cell (PyTorch formulation), forward and backward over a window.

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

Gate order r, z, n is kept (the two sigmoid gates are already contiguous).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .buffers import Workspace
from .cellbase import Backward, Cell, Forward, MaskInfo, Prep, block_out


@dataclass(frozen=True)
class GRUPrep(Prep):
    """:class:`Prep` plus ``b_hn [H]``, the n-gate's recurrent bias (it sits inside ``r * (.)``,
    so it cannot be folded into the input projection's bias)."""

    b_hn: np.ndarray


class GRUCache(NamedTuple):
    a: np.ndarray  # [T, B, 3H] activations r, z, n (the forward's xp, overwritten)
    hb: np.ndarray  # [T+1, B, H] h_0 .. h_T
    ghn: np.ndarray  # [T, B, H] h_{t-1} W_hn^T + b_hn (h_{t-1} * rm with recurrent dropout)
    rm: np.ndarray | None = None  # [B, H] recurrent dropout mask
    hd: np.ndarray | None = None  # [T, B, H] h_{t-1} * rm of every step


class GRUCell(Cell):
    """GRU (module doc). State ``h [B, H]``."""

    gates = 3
    perm_blocks = None
    n_sigmoid = 2

    def input_bias(self, b_ih, b_hh):
        H = self.hidden_size
        b = np.array(b_ih)
        b[: 2 * H] += b_hh[: 2 * H]
        return self.scaled(b)

    def prepare(self, w_hh: np.ndarray, b_hh: np.ndarray, batch: int = 1,
                ws: Workspace | None = None) -> GRUPrep:
        p = super().prepare(w_hh, b_hh, batch, ws)
        return GRUPrep(p.ws, p.fwd, p.bwd, p.gate_major, np.array(b_hh[2 * self.hidden_size:]))

    def forward(self, xp: np.ndarray, h0: np.ndarray, prep: GRUPrep, mi: MaskInfo,
                rm: np.ndarray | None = None) -> Forward:
        """xp: ``[T, B, 3H]`` input pre-activations r, z, n (r, z scaled; overwritten with the
        activations, kept for the backward); h0: ``[B, H]``; rm: recurrent dropout mask ``[B, H]``
        on h_{t-1} in ``h_{t-1} W_hh^T`` (the ``z * h_{t-1}`` term keeps h_{t-1} itself)."""
        T, B, _ = xp.shape
        H = self.hidden_size
        dt = xp.dtype
        ws = prep.ws
        hb = ws.get("hb", (T + 1, B, H), dt)  # [T+1, B, H]
        ghn = ws.get("ghn", (T, B, H), dt)  # [T, B, H]
        hb[0] = h0
        fwd, bhn = prep.fwd, prep.b_hn  # [J, H, m], [H]
        gh = np.empty((B, 3 * H), dtype=dt)  # [B, 3H] h_{t-1} W_hh^T
        ghv = block_out(gh, fwd)  # [J, B, m] view of gh
        tmp = np.empty((B, H), dtype=dt)  # [B, H]
        H2 = 2 * H
        hd = self.dropped(rm, T, prep, dt)  # [T, B, H] h_{t-1} * rm
        for t in range(T):
            a = xp[t]  # [B, 3H]
            hp = hb[t] if rm is None else np.multiply(hb[t], rm, out=hd[t])
            np.matmul(hp, fwd, out=ghv)  # [B, H] @ [J, H, m] -> [J, B, m]: h_{t-1} W_hh^T
            rz = a[:, :H2]  # [B, 2H] r, z
            np.add(rz, gh[:, :H2], out=rz)
            np.tanh(rz, out=rz)
            np.multiply(rz, 0.5, out=rz)
            np.add(rz, 0.5, out=rz)  # sigmoid = 0.5 tanh(z/2) + 0.5
            np.add(gh[:, H2:], bhn, out=ghn[t])  # [B, H] h_{t-1} W_hn^T + b_hn
            n = a[:, H2:]  # [B, H]
            np.multiply(a[:, :H], ghn[t], out=tmp)  # r * ghn
            np.add(n, tmp, out=n)
            np.tanh(n, out=n)
            np.subtract(hb[t], n, out=tmp)  # h_{t-1} - n
            np.multiply(a[:, H:H2], tmp, out=tmp)  # z * (h_{t-1} - n)
            np.add(n, tmp, out=hb[t + 1])  # h_t = (1 - z) n + z h_{t-1}
            if mi.masked(t):
                mi.hold(t, hb[t + 1], hb[t])
        return Forward(hb[1:], hb[T].copy(), GRUCache(xp, hb, ghn, rm, hd))

    def backward(self, dy: np.ndarray, cache: GRUCache, prep: GRUPrep, mi: MaskInfo,
                 t0: int) -> Backward:
        """dy: ``[T, B, H]``. dxp ``[T, B, 3H]`` and dgh ``[T, B, 3H]`` differ in the n slot:
        ``dxp_n = dz_n``, ``dgh_n = dz_n * r``."""
        a, hb, ghn, rm, hd = cache
        T, B, H = dy.shape
        dt = dy.dtype
        H2 = 2 * H
        ws = prep.ws
        dx = ws.get("dx", (T, B, 3 * H), dt)  # [T, B, 3H] dxp
        dg = ws.get("dg", (T, B, 3 * H), dt)  # [T, B, 3H] dgh
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
        bwd = prep.bwd  # [J, 3H, m]: W_hh (r, z, n rows) in J column blocks
        dh = np.empty((B, H), dtype=dt)  # [B, H] dL/dh_t
        tmp = np.empty((B, H), dtype=dt)  # [B, H]
        dh_next = np.zeros((B, H), dtype=dt)  # [B, H] dL/dh_{t-1} from step t
        dv = block_out(dh_next, bwd)  # [J, B, m] view of dh_next
        for t in range(T - 1, t0 - 1, -1):
            np.add(dy[t], dh_next, out=dh)  # [B, H]
            m = mi.masked(t)
            if m:
                carry = mi.hold_grad(t, dh)  # [B, H]
            dpn = dx[t, :, H2:]  # [B, H] pn, then dL/dz_n
            g = dg[t]  # [B, 3H]
            np.multiply(dh, dpn, out=dpn)
            np.multiply(dh, g[:, H:H2], out=g[:, H:H2])  # dz_z
            np.multiply(dpn, g[:, :H], out=g[:, :H])  # dz_r
            np.multiply(dpn, a[t, :, :H], out=g[:, H2:])  # dz_n * r
            np.matmul(g, bwd, out=dv)  # [B, 3H] @ [J, 3H, m] -> [J, B, m]: dgh_t W_hh
            if rm is not None:
                dh_next *= rm
            np.multiply(dh, a[t, :, H:H2], out=tmp)  # dh * z
            dh_next += tmp
            if m:
                dh_next += carry
        dx[w, :, :H2] = dg[w, :, :H2]
        return Backward(dx, dg, hb[:T] if hd is None else hd, dh_next)
