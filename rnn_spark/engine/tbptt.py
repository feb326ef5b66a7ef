"""Truncated backpropagation through time, TBPTT(k1, k2), DL4J-style.

A minibatch of T steps is cut into windows of k1 steps (the last one may be shorter). Each window
is run forward from the state the previous window ended in (zero for the first), its loss is the
mean over the window's unmasked targets (the head gets gradient from every step), the recurrent
backward pass covers only the window's last k2 steps, and the window's gradient is handed to
``step_fn`` for one optimizer update. The state carried into the next window comes from the forward
pass (pre-update weights) and is a constant there: no gradient crosses a window boundary.

Last-step heads (classification, last-step regression): each row's target belongs to the window
that holds the row's LAST unmasked step of the whole minibatch. A window updates only with the rows
whose last step falls inside it (``row_mask``); the other rows just advance their state. So when
rows end in different windows, each window's update is the mean over the rows that end there.
A window with no targets at all (no unmasked step, or no row ending in it) advances the state and
makes no update. Rows with no unmasked step at all have no target.

Bidirectional models need whole sequences: one window (k1 >= the minibatch's steps) and the full
backward pass (k2 = k1); anything else is refused. Dropout: with a seed, window i draws its masks
from ``seed + (i,)`` (engine/dropout.py) -- including a window that only advances the state.
"""

from __future__ import annotations

from typing import Callable, Iterator

import numpy as np


def iter_windows(T: int, k1: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive windows of k1 steps covering ``range(T)``."""
    if k1 < 1:
        raise ValueError(f"k1 must be >= 1, got {k1}")
    for s in range(0, T, k1):
        yield s, min(s + k1, T)


def last_steps(mask: np.ndarray | None, B: int, T: int) -> np.ndarray:
    """Index of each row's last unmasked step; -1 for rows with none."""
    if mask is None:
        return np.full(B, T - 1)
    m = np.asarray(mask) != 0
    last = T - 1 - np.argmax(m[:, ::-1], axis=1)
    return np.where(m.any(axis=1), last, -1)


def train_minibatch(model, inputs, targets, mask, k1: int, k2: int | None,
                    step_fn: Callable[[np.ndarray], None], dropout: tuple | None = None) -> dict:
    """Train one minibatch with TBPTT(k1, k2); ``step_fn(flat_grad)`` applies one update;
    ``dropout``: the minibatch's dropout seed (a tuple of ints; None = no dropout).

    Returns ``{"loss_sum": sum over windows of mean loss * targets, "count": targets,
    "updates": optimizer updates}``; ``loss_sum / count`` is the minibatch's mean training loss.
    """
    k2 = k1 if k2 is None else int(k2)
    if not 1 <= k2 <= k1:
        raise ValueError(f"TBPTT needs 1 <= k2 <= k1, got k1={k1} k2={k2}")
    x = np.asarray(inputs)
    B, T = x.shape[:2]
    if model.cfg.bidirectional and (T > k1 or k2 < min(k1, T)):
        raise ValueError(f"bidirectional layers need whole sequences: this minibatch has {T} "
                         f"steps, TBPTT k1={k1} k2={k2} would cut them (k1 >= {T}, k2 = k1)")
    m = None if mask is None else np.asarray(mask)
    last_head = model.cfg.head_at == "last"
    last = last_steps(m, B, T) if last_head else None
    state = None
    loss_sum, count, updates = 0.0, 0, 0
    for i, (s, e) in enumerate(iter_windows(T, k1)):
        seed = None if dropout is None else (*dropout, i)
        xw = x[:, s:e]
        mw = None if m is None else m[:, s:e]
        if last_head:
            rows = (last >= s) & (last < e)
            has_target = bool(rows.any())
            tw, kw = targets, {"row_mask": rows}
        else:
            has_target = mw is None or bool(np.any(mw))
            tw, kw = np.asarray(targets)[:, s:e], {}
        if not has_target:
            _, state = model.hidden(xw, mw, state, dropout=seed)
            continue
        loss, n, grad, state = model.loss_and_flat_grad_count(xw, tw, mw, state, k2=min(k2, e - s),
                                                              dropout=seed, **kw)
        step_fn(grad)
        loss_sum += loss * n
        count += n
        updates += 1
    return {"loss_sum": loss_sum, "count": count, "updates": updates}
