"""Elman RNN cell (PyTorch formulation), forward and backward over a window.

    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   act = tanh or relu

One gate, no permutation, no sigmoid; the input projection already holds both biases.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .cellbase import Backward, Cell, Forward, MaskInfo, Prep, block_out


class RNNCache(NamedTuple):
    hb: np.ndarray  # [T+1, B, H]: h_0 (the initial state) .. h_T
    rm: np.ndarray | None = None  # [B, H] recurrent dropout mask
    hd: np.ndarray | None = None  # [T, B, H] h_{t-1} * rm of every step


class RNNCell(Cell):
    """Elman RNN: h_t = act(x W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act = tanh or relu."""

    gates = 1

    def __init__(self, input_size: int, hidden_size: int, nonlinearity: str = "tanh") -> None:
        super().__init__(input_size, hidden_size)
        self.relu = nonlinearity == "relu"

    def forward(self, xp: np.ndarray, h0: np.ndarray, prep: Prep, mi: MaskInfo,
                rm: np.ndarray | None = None) -> Forward:
        """xp: ``[T, B, H]`` input pre-activations; h0: ``[B, H]``; rm: recurrent dropout mask."""
        T, B, _ = xp.shape
        hb = prep.ws.get("hb", (T + 1, B, self.hidden_size), xp.dtype)  # [T+1, B, H]
        hb[0] = h0
        fwd = prep.fwd  # [J, H, m]: W_hh^T in J column blocks
        tmp = np.empty((B, self.hidden_size), dtype=xp.dtype)  # [B, H]
        tv = block_out(tmp, fwd)  # [J, B, m] view of tmp
        hd = self.dropped(rm, T, prep, xp.dtype)  # [T, B, H] h_{t-1} * rm
        for t in range(T):
            h = hb[t + 1]  # [B, H]
            hp = hb[t] if rm is None else np.multiply(hb[t], rm, out=hd[t])
            np.matmul(hp, fwd, out=tv)  # [B, H] @ [J, H, m] -> [J, B, m]: h_{t-1} W_hh^T
            np.add(xp[t], tmp, out=h)  # [B, H] pre-activation
            if self.relu:
                np.maximum(h, 0, out=h)
            else:
                np.tanh(h, out=h)
            if mi.masked(t):
                mi.hold(t, h, hb[t])
        return Forward(hb[1:], hb[T].copy(), RNNCache(hb, rm, hd))

    def backward(self, dy: np.ndarray, cache: RNNCache, prep: Prep, mi: MaskInfo, t0: int) -> Backward:
        """dy: ``[T, B, H]``. dxp = dgh = the pre-activation gradient ``[T, B, H]``."""
        hb, rm, hd = cache
        T, B, H = dy.shape
        y = hb[t0 + 1:]  # [T-t0, B, H]
        d = prep.ws.get("d", (T, B, H), dy.dtype)  # [T, B, H]: act'(z), then dL/dz in place
        der = d[t0:]
        if self.relu:
            np.greater(y, 0, out=der)
        else:
            np.multiply(y, y, out=der)
            np.subtract(1, der, out=der)
        bwd = prep.bwd  # [J, H, m]: W_hh in J column blocks
        dh = np.empty((B, H), dtype=dy.dtype)  # [B, H] dL/dh_t
        dh_next = np.zeros((B, H), dtype=dy.dtype)  # [B, H] dL/dh_{t-1} from step t
        dv = block_out(dh_next, bwd)  # [J, B, m] view of dh_next
        for t in range(T - 1, t0 - 1, -1):
            np.add(dy[t], dh_next, out=dh)  # [B, H]
            m = mi.masked(t)
            if m:
                carry = mi.hold_grad(t, dh)  # [B, H]
            np.multiply(dh, d[t], out=d[t])  # [B, H] dL/dz_t
            np.matmul(d[t], bwd, out=dv)  # [B, H] @ [J, H, m] -> [J, B, m]: dz_t W_hh
            if rm is not None:
                dh_next *= rm
            if m:
                dh_next += carry
        return Backward(d, d, hb[:T] if hd is None else hd, dh_next)
