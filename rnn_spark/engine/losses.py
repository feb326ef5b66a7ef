"""Masked losses. Each returns the SUM over unmasked targets and the gradient of that sum.

The model divides by the number of targets to get the mean (the training loss); ``evaluate``
keeps the sum so callers can aggregate across batches.
"""

from __future__ import annotations

import numpy as np


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


def mean_squared_error(pred: np.ndarray, targets: np.ndarray, weights: np.ndarray | None,
                       need_grad: bool = True):
    """Per target (one row of ``pred [N, O]``) the mean over O of squared errors; summed over rows.

    So ``loss_sum / count`` equals ``torch.nn.MSELoss()`` over the unmasked rows.
    Returns ``(loss_sum, count, sse, dpred)``; ``sse`` is the plain sum of squared errors.
    """
    n, o = pred.shape
    diff = pred - targets
    if weights is not None:  # padded targets may hold anything, NaN included
        diff = np.where(weights[:, None] != 0, diff, 0).astype(pred.dtype, copy=False)
        count = int(np.count_nonzero(weights))
    else:
        count = n
    sse = float(np.dot(diff.ravel().astype(np.float64), diff.ravel().astype(np.float64)))
    loss_sum = sse / o
    if not need_grad:
        return loss_sum, count, sse, None
    diff *= 2.0 / o
    return loss_sum, count, sse, diff
