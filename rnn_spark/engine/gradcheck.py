"""Finite-difference gradient checks (float64), used by the tests.

* :func:`numeric_grad` -- central differences of any scalar function of a flat vector.
* :func:`reference_loss` -- the window loss written plainly from the top-layer outputs, optionally
  with truncated BPTT's constants: with ``k2``, the outputs and the state before the last ``k2``
  steps are computed once at the base weights and held fixed, so the finite-difference gradient of
  this function is exactly what ``loss_and_flat_grad(..., k2=k2)`` must return.
* :func:`check_model` -- analytic vs numeric gradient of a model, max relative error.

Dropout is checked with FIXED masks (``dropout=`` a :class:`~rnn_spark.engine.dropout.Masks`):
the loss is then a smooth function of the weights, and the reference applies the head's mask
itself.
"""

from __future__ import annotations

import numpy as np


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6, indices=None) -> np.ndarray:
    """Central-difference gradient of ``f()`` w.r.t. the vector ``x`` (perturbed in place, restored)."""
    g = np.zeros_like(x, dtype=np.float64)
    idx = range(x.size) if indices is None else indices
    for i in idx:
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        g[i] = (fp - fm) / (2 * eps)
    return g


def rel_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-12) -> float:
    """max |a - b| / max(max |a|, max |b|, floor): error relative to the tensor's scale.

    (Elementwise relative error is dominated by finite-difference noise on near-zero entries.)
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if not a.size:
        return 0.0
    return float(np.abs(a - b).max() / max(np.abs(a).max(), np.abs(b).max(), floor))


def per_tensor_error(model, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """rel_error for each named parameter of the model's flat layout."""
    va, vb = model.grad_views(np.asarray(a)), model.grad_views(np.asarray(b))
    return {n: rel_error(va[n], vb[n]) for n in va}


def _loss_from_outputs(model, y, targets, mask, row_mask, head_mask=None):
    """Mean loss of the head applied to top-layer outputs y [B, T, W] (plain NumPy, float64);
    ``head_mask``: the head's dropout mask (time-major, as Masks.head)."""
    cfg = model.cfg
    B, T, W = y.shape
    m = np.ones((B, T), bool) if mask is None else np.asarray(mask) != 0
    w, b = model.params["head.weight"], model.params["head.bias"]
    if cfg.head_at == "every":
        hin = y if head_mask is None else y * head_mask.transpose(1, 0, 2)
        z = hin @ w.T + b
        sel = m
    else:
        valid = m.any(axis=1)
        if row_mask is not None:
            valid &= np.asarray(row_mask, bool)
        last = T - 1 - np.argmax(m[:, ::-1], axis=1)
        hin = y[np.arange(B), last]
        if cfg.bidirectional:  # forward half at the last valid step, reverse half at step 0
            hin = np.concatenate([hin[:, :W // 2], y[:, 0, W // 2:]], axis=1)
        if head_mask is not None:
            hin = hin * head_mask
        z = hin @ w.T + b
        sel = valid
    t = np.asarray(targets)
    if cfg.task in ("lm", "classify"):
        zs = z[sel].astype(np.float64)
        ts = t[sel]
        lse = np.log(np.exp(zs - zs.max(-1, keepdims=True)).sum(-1)) + zs.max(-1)
        per = lse - np.take_along_axis(zs, ts[:, None], axis=-1)[:, 0]
    else:
        per = ((z[sel].astype(np.float64) - t[sel]) ** 2).mean(-1)
    return float(per.sum() / max(per.size, 1))


def reference_loss(model, inputs, targets, mask=None, initial_state=None, k2=None,
                   row_mask=None, frozen=None, dropout=None):
    """The window loss; with k2, pass ``frozen=freeze(...)`` computed at the base weights;
    ``dropout``: fixed Masks (or None)."""
    head = None if dropout is None else dropout.head
    if k2 is None:
        y, _ = model.hidden(inputs, mask, initial_state, dropout)
        return _loss_from_outputs(model, y, targets, mask, row_mask, head)
    t0, y_pre, state = frozen
    m_post = None if mask is None else np.asarray(mask)[:, t0:]
    T = np.asarray(inputs).shape[1]
    post = None if dropout is None else dropout.steps(t0, T)
    y_post, _ = model.hidden(np.asarray(inputs)[:, t0:], m_post, state, post)
    y = np.concatenate([y_pre, y_post], axis=1)
    return _loss_from_outputs(model, y, targets, mask, row_mask, head)


def freeze(model, inputs, mask, initial_state, k2, dropout=None):
    """Constants of truncated BPTT at the current weights: (t0, outputs before t0, state at t0)."""
    T = np.asarray(inputs).shape[1]
    t0 = max(0, T - int(k2))
    m_pre = None if mask is None else np.asarray(mask)[:, :t0]
    x_pre = np.asarray(inputs)[:, :t0]
    if t0 == 0:
        B = x_pre.shape[0]
        st = initial_state if initial_state is not None else model.zero_state(B)
        width = model.cfg.directions * model.cfg.hidden_sizes[-1]
        return 0, np.zeros((B, 0, width), model.dtype), st
    pre = None if dropout is None else dropout.steps(0, t0)
    y_pre, state = model.hidden(x_pre, m_pre, initial_state, pre)
    return t0, y_pre, state


def check_model(model, inputs, targets, mask=None, initial_state=None, k2=None, row_mask=None,
                eps: float = 1e-5, indices=None, dropout=None):
    """Return (max over parameters of rel_error, analytic grad, numeric grad). Use a float64 model;
    ``dropout``: fixed Masks, the same for the analytic and the numeric gradient."""
    loss, grad, _ = model.loss_and_flat_grad(inputs, targets, mask, initial_state, k2, row_mask,
                                             dropout)
    frozen = freeze(model, inputs, mask, initial_state, k2, dropout) if k2 is not None else None
    ref = reference_loss(model, inputs, targets, mask, initial_state, k2, row_mask, frozen, dropout)
    if abs(ref - loss) > 1e-9 * max(1.0, abs(loss)):
        raise AssertionError(f"loss mismatch: engine {loss!r}, reference {ref!r}")
    num = numeric_grad(lambda: reference_loss(model, inputs, targets, mask, initial_state, k2,
                                              row_mask, frozen, dropout), model.flat, eps, indices)
    if indices is not None:
        sel = np.asarray(list(indices))
        return rel_error(grad[sel], num[sel]), grad, num
    return max(per_tensor_error(model, grad, num).values()), grad, num
