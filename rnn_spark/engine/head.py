"""The head's side of the model: which top-layer outputs it reads, the gradient back to them, and
the loss over the targets.

A last-step head reads each row's last unmasked step; a bidirectional one reads the forward half
there and the reverse half at step 0 -- each direction's final state (torch's ``h_n`` over packed
sequences). The head's dropout mask (engine/dropout.py) multiplies what it reads. The loss is the
mean over unmasked targets, as the model's ``LossSpec`` defines it (engine/losses.py:
cross-entropy for lm and classify, a regression loss for regress).
"""

from __future__ import annotations

import numpy as np

from .buffers import Workspace
from .losses import LossSpec


def head_input(cfg, y: np.ndarray, mt: np.ndarray | None, row_mask,
               drop_mask: np.ndarray | None, ws: Workspace | None = None):
    """Head input ``[N, W]`` from the top layer's outputs ``y [T, B, W]`` and, for last-step heads,
    the step index and validity per row (None, None for every-step heads); the dropped input goes
    into ``ws`` when given."""
    T, B, W = y.shape
    if cfg.head_at == "every":
        hin, idx, valid = y.reshape(T * B, W), None, None
    else:
        if mt is None:
            idx, valid = np.full(B, T - 1), np.ones(B, bool)
        else:
            valid = mt.any(axis=0)
            idx = T - 1 - np.argmax(mt[::-1], axis=0)
        if row_mask is not None:
            valid = valid & np.asarray(row_mask, dtype=bool)
        hin = y[idx, np.arange(B)]  # a copy
        if cfg.bidirectional:
            hin[:, W // 2:] = y[0, :, W // 2:]
    if drop_mask is not None:
        out = None if ws is None else ws.get("hin_drop", hin.shape, hin.dtype)
        hin = np.multiply(hin, drop_mask.reshape(hin.shape), out=out)
    return hin, idx, valid


def scatter_head_grad(cfg, dh: np.ndarray, y: np.ndarray, idx, valid, ws: Workspace) -> np.ndarray:
    """Backward of :func:`head_input`'s selection: dL/dy ``[T, B, W]`` from dL/dhin ``[N, W]``
    (the dropout mask already applied to ``dh``)."""
    T, B, W = y.shape
    if idx is None:
        return dh.reshape(T, B, -1)
    dy = ws.get("dy", y.shape, y.dtype)
    dy.fill(0)
    rows = np.flatnonzero(valid)
    if not cfg.bidirectional:
        dy[idx[valid], rows] = dh[valid]
    else:
        dy[idx[valid], rows, :W // 2] = dh[valid, :W // 2]
        dy[0, rows, W // 2:] = dh[valid, W // 2:]
    return dy


def head_loss(cfg, loss: LossSpec, logits, targets, mt, valid, B: int, T: int, need_grad: bool,
              dtype):
    """``(loss_sum, count, metric, dlogits)`` over the unmasked targets (losses.py)."""
    tg = np.asarray(targets)
    if cfg.head_at == "every":
        w = None if mt is None else mt.reshape(-1).astype(dtype)
    else:
        w = None if valid.all() else valid.astype(dtype)
    if cfg.task in ("lm", "classify"):
        want = (B, T) if cfg.head_at == "every" else (B,)
        if tg.shape != want or not np.issubdtype(tg.dtype, np.integer):
            raise ValueError(f"targets: expected integer class ids of shape {want}, got {tg.dtype} {tg.shape}")
        t = (tg.T.reshape(-1) if cfg.head_at == "every" else tg).astype(np.intp)
        if w is not None:  # padded targets may hold anything
            t = np.where(w != 0, t, 0)
        if t.size and (t.min() < 0 or t.max() >= cfg.output_size):
            raise ValueError(f"targets: class ids must be in [0, {cfg.output_size}), "
                             f"got min {t.min()} max {t.max()} (unmasked targets)")
        return loss.cross_entropy(logits, t, w, need_grad)
    O = cfg.output_size
    want = (B, T, O) if cfg.head_at == "every" else (B, O)
    if tg.shape != want:
        raise ValueError(f"targets: expected float values of shape {want}, got {tg.shape}")
    t = tg.transpose(1, 0, 2).reshape(-1, O) if cfg.head_at == "every" else tg
    return loss.regress(logits, t.astype(dtype), w, need_grad)
