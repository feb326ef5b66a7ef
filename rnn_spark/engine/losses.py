"""Masked losses, and the training loss a model computes (:class:`LossSpec`).

Each loss function returns ``(loss_sum, count, metric, dgrad)``: ``count`` is the number of
unmasked targets, ``loss_sum / count`` is the batch's mean loss and ``dgrad`` the gradient of
``loss_sum`` (the model divides both by ``count``). ``evaluate`` keeps the sum so callers can
aggregate across batches. The definitions are PyTorch's, forward and gradient:

* cross-entropy: ``torch.nn.CrossEntropyLoss(weight=class_weights,
  label_smoothing=eps)``, a WEIGHTED mean as torch takes it: with ``w`` the class weights,
  ``C`` classes and ``p_i = softmax(z_i)``, per target
  ``l_i = (1 - eps) * w[y_i] * -log p_i[y_i] + eps / C * sum_c w[c] * -log p_i[c]`` and the
  batch's loss ``sum_i l_i / sum_i w[y_i]`` (the weights' scale does not matter). So that
  ``loss_sum / count`` is that mean, a weighted loss returns ``loss_sum = mean * count`` and its
  gradient scaled the same way. Without weights and smoothing it is the plain mean.
* regression, per target (one row of ``pred [N, O]``) the mean over its O values, summed over
  rows, so ``loss_sum / count`` is torch's mean over every value: ``mse`` (``MSELoss``), ``mae``
  (``L1Loss``; gradient sign(d), 0 at d = 0) and ``huber`` (``HuberLoss(delta)``: d^2 / 2 where
  |d| <= delta, else delta * (|d| - delta / 2)). ``metric`` is the plain sum of squared errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

REGRESSION = ("mse", "mae", "huber")


def softmax_cross_entropy(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None,
                          need_grad: bool = True):
    """Cross-entropy of ``logits [N, C]`` against int ``targets [N]``.

    ``weights [N]`` is 0/1 (None = all 1). Returns ``(loss_sum, count, correct, dlogits)`` where
    ``dlogits`` is the gradient of ``loss_sum`` (``logits`` is overwritten and reused for it) and
    ``correct`` the number of argmax hits (None when a gradient is asked for).
    """
    n = logits.shape[0]
    rows = np.arange(n)
    correct_mask = None if need_grad else logits.argmax(axis=1) == targets
    z = logits
    z -= z.max(axis=1, keepdims=True)
    zt = z[rows, targets].astype(np.float64)
    np.exp(z, out=z)
    s = z.sum(axis=1)
    per = np.log(s.astype(np.float64)) - zt
    w = None if weights is None else weights.astype(bool)
    loss_sum = float(per.sum() if w is None else per[w].sum())
    count = n if w is None else int(w.sum())
    correct = None  # argmax hits: only counted when evaluating (need_grad=False)
    if correct_mask is not None:
        correct = int(correct_mask.sum() if w is None else correct_mask[w].sum())
    if not need_grad:
        return loss_sum, count, correct, None
    z /= s[:, None]
    z[rows, targets] -= 1
    if weights is not None:
        z *= weights[:, None]
    return loss_sum, count, correct, z


def weighted_cross_entropy(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None,
                           class_weights: np.ndarray | None, smoothing: float,
                           need_grad: bool = True):
    """torch's ``CrossEntropyLoss(weight=class_weights, label_smoothing=smoothing)`` (see the
    module doc), returned as ``softmax_cross_entropy`` returns the plain one: ``loss_sum`` is the
    weighted mean times ``count``. A batch whose targets all weigh 0 has loss 0 and gradient 0
    (torch: 0 / 0)."""
    n, C = logits.shape
    rows = np.arange(n)
    keep = np.ones(n, bool) if weights is None else weights.astype(bool)
    count = int(keep.sum())
    cw = np.ones(C) if class_weights is None else np.asarray(class_weights, np.float64)
    if cw.shape != (C,):
        raise ValueError(f"class_weights: expected {C} weights, got {cw.shape}")
    correct = None if need_grad else int((logits.argmax(axis=1) == targets)[keep].sum())
    z = logits
    z -= z.max(axis=1, keepdims=True)
    zt = z[rows, targets].astype(np.float64)
    zc = (z @ cw.astype(z.dtype)).astype(np.float64) if smoothing else None  # sum_c w_c z_ic
    np.exp(z, out=z)
    s = z.sum(axis=1)
    lse = np.log(s.astype(np.float64))
    wy = np.where(keep, cw[targets], 0.0)
    per = (1.0 - smoothing) * wy * (lse - zt)
    if smoothing:
        per += smoothing / C * (cw.sum() * lse - zc)
    denom = float(wy.sum())
    if denom <= 0:
        return 0.0, count, correct, (np.zeros_like(z) if need_grad else None)
    scale = count / denom
    loss_sum = float(per[keep].sum()) * scale
    if not need_grad:
        return loss_sum, count, correct, None
    # d l_i / d z_ik = p_ik ((1-eps) w_yi + eps W / C) - (1-eps) w_yi [k = y_i] - eps / C w_k
    z /= s[:, None]
    a = (1.0 - smoothing) * wy
    z *= (a + smoothing / C * cw.sum())[:, None].astype(z.dtype)
    z[rows, targets] -= a.astype(z.dtype)
    if smoothing:
        z -= (smoothing / C * cw).astype(z.dtype)[None, :]
    if weights is not None:
        z *= keep[:, None]
    z *= z.dtype.type(scale)
    return loss_sum, count, correct, z


def regression_loss(pred: np.ndarray, targets: np.ndarray, weights: np.ndarray | None,
                    need_grad: bool = True, kind: str = "mse", delta: float = 1.0):
    """``mse``, ``mae`` or ``huber`` of ``pred [N, O]`` (see the module doc); ``weights [N]`` 0/1.

    Returns ``(loss_sum, count, sse, dpred)``; ``sse`` is the plain sum of squared errors."""
    n, o = pred.shape
    diff = pred - targets
    if weights is not None:  # padded targets may hold anything, NaN included
        diff = np.where(weights[:, None] != 0, diff, 0).astype(pred.dtype, copy=False)
        count = int(np.count_nonzero(weights))
    else:
        count = n
    d64 = diff.ravel().astype(np.float64)
    sse = float(np.dot(d64, d64))
    if kind == "mse":
        loss_sum = sse / o
    elif kind == "mae":
        loss_sum = float(np.abs(d64).sum()) / o
    elif kind == "huber":
        a = np.abs(d64)
        loss_sum = float(np.where(a <= delta, 0.5 * d64 * d64, delta * (a - 0.5 * delta)).sum()) / o
    else:
        raise ValueError(f"regression loss: {kind!r} is not one of {', '.join(REGRESSION)}")
    if not need_grad:
        return loss_sum, count, sse, None
    if kind == "mse":
        diff *= 2.0 / o
    elif kind == "mae":
        diff = np.sign(diff, out=diff)
        diff *= 1.0 / o
    else:
        np.clip(diff, -delta, delta, out=diff)
        diff *= 1.0 / o
    return loss_sum, count, sse, diff


def mean_squared_error(pred: np.ndarray, targets: np.ndarray, weights: np.ndarray | None,
                       need_grad: bool = True):
    """Per target (one row of ``pred [N, O]``) the mean over O of squared errors; summed over rows.

    So ``loss_sum / count`` equals ``torch.nn.MSELoss()`` over the unmasked rows.
    Returns ``(loss_sum, count, sse, dpred)``; ``sse`` is the plain sum of squared errors.
    """
    return regression_loss(pred, targets, weights, need_grad, "mse")


@dataclass(frozen=True)
class LossSpec:
    """The loss a :class:`~rnn_spark.engine.model.Model` computes (``model.loss_spec``; the
    default is the plain cross-entropy / MSE). ``regression``: mse | mae | huber (regress);
    ``huber_delta``; ``class_weights``: one weight >= 0 per class or None (lm, classify);
    ``label_smoothing``: eps in [0, 1) (lm, classify)."""

    regression: str = "mse"
    huber_delta: float = 1.0
    class_weights: tuple[float, ...] | None = None
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.regression not in REGRESSION:
            raise ValueError(f"regression loss: {self.regression!r} is not one of "
                             f"{', '.join(REGRESSION)}")
        if not (math.isfinite(self.huber_delta) and self.huber_delta > 0):
            raise ValueError(f"huber_delta must be > 0, got {self.huber_delta}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        if self.class_weights is not None:
            w = self.class_weights
            if not all(math.isfinite(x) and x >= 0 for x in w) or not any(x > 0 for x in w):
                raise ValueError(f"class_weights must be finite, >= 0 and not all 0, got {w}")

    def validation(self) -> "LossSpec":
        """The loss a validation measures: the same regression loss; cross-entropy without class
        weights and label smoothing (training devices, not the criterion)."""
        return replace(self, class_weights=None, label_smoothing=0.0)

    def cross_entropy(self, logits, targets, weights, need_grad: bool = True):
        if self.class_weights is None and not self.label_smoothing:
            return softmax_cross_entropy(logits, targets, weights, need_grad)
        return weighted_cross_entropy(logits, targets, weights, self.class_weights,
                                      self.label_smoothing, need_grad)

    def regress(self, pred, targets, weights, need_grad: bool = True):
        return regression_loss(pred, targets, weights, need_grad, self.regression,
                               self.huber_delta)
