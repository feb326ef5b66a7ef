import numpy as np
import pytest

from rnn_spark.engine.tbptt import iter_windows, last_steps, train_minibatch

from ._cases import CELLS, batch, make


def sgd(model, lr=0.1):
    def step(g):
        model.flat -= lr * g
    return step


def test_iter_windows():
    assert list(iter_windows(10, 4)) == [(0, 4), (4, 8), (8, 10)]
    assert list(iter_windows(4, 4)) == [(0, 4)]
    assert list(iter_windows(0, 4)) == []
    with pytest.raises(ValueError):
        list(iter_windows(5, 0))


def test_last_steps():
    m = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    assert last_steps(m, 3, 4).tolist() == [1, 2, -1]
    assert last_steps(None, 2, 5).tolist() == [4, 4]


@pytest.mark.parametrize("cell", CELLS)
def test_one_window_is_one_plain_step(cell):
    a, b = make(cell, True, "lm"), make(cell, True, "lm")
    x, y = batch(a, T=6)
    st = train_minibatch(a, x, y, None, k1=6, k2=None, step_fn=sgd(a))
    loss, g, _ = b.loss_and_flat_grad(x, y)
    b.flat -= 0.1 * g
    assert st["updates"] == 1 and st["count"] == 18
    assert np.isclose(st["loss_sum"] / st["count"], loss)
    assert np.array_equal(a.flat, b.flat)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("k2", [None, 2])
def test_windows_carry_state_and_update_each(cell, k2):
    a, b = make(cell, True, "lm"), make(cell, True, "lm")
    x, y = batch(a, T=7)
    mask = np.ones((3, 7))
    mask[0, 5:] = 0
    st = train_minibatch(a, x, y, mask, k1=3, k2=k2, step_fn=sgd(a))
    state, total, n = None, 0.0, 0
    for s, e in [(0, 3), (3, 6), (6, 7)]:
        kk = None if k2 is None else min(k2, e - s)
        loss, g, state = b.loss_and_flat_grad(x[:, s:e], y[:, s:e], mask[:, s:e], state, k2=kk)
        b.flat -= 0.1 * g
        cnt = int(mask[:, s:e].sum())
        total += loss * cnt
        n += cnt
    assert st["updates"] == 3 and st["count"] == n == int(mask.sum())
    assert np.isclose(st["loss_sum"], total)
    assert np.array_equal(a.flat, b.flat)


def test_window_without_targets_only_advances_state():
    a, b = make("lstm", True, "lm"), make("lstm", True, "lm")
    x, y = batch(a, T=6)
    mask = np.ones((3, 6))
    mask[:, 2:4] = 0  # window 1 (steps 2-3) holds no target
    st = train_minibatch(a, x, y, mask, k1=2, k2=None, step_fn=sgd(a))
    assert st["updates"] == 2
    _, g, s1 = b.loss_and_flat_grad(x[:, :2], y[:, :2], mask[:, :2])
    b.flat -= 0.1 * g
    _, s2 = b.hidden(x[:, 2:4], mask[:, 2:4], s1)
    _, g, _ = b.loss_and_flat_grad(x[:, 4:], y[:, 4:], mask[:, 4:], s2)
    b.flat -= 0.1 * g
    assert np.array_equal(a.flat, b.flat)


@pytest.mark.parametrize("cell", CELLS)
def test_classify_rows_end_in_different_windows(cell):
    a, b = make(cell, True, "classify"), make(cell, True, "classify")
    x, y = batch(a, B=4, T=6)
    mask = np.ones((4, 6))
    mask[0, 2:] = 0   # ends in window 0
    mask[1, 1:] = 0   # ends in window 0
    mask[3] = 0       # no step at all: no target
    st = train_minibatch(a, x, y, mask, k1=3, k2=None, step_fn=sgd(a))
    assert st["updates"] == 2 and st["count"] == 3
    _, g, s = b.loss_and_flat_grad(x[:, :3], y, mask[:, :3], row_mask=np.array([1, 1, 0, 0], bool))
    b.flat -= 0.1 * g
    _, g, _ = b.loss_and_flat_grad(x[:, 3:], y, mask[:, 3:], s, row_mask=np.array([0, 0, 1, 0], bool))
    b.flat -= 0.1 * g
    assert np.array_equal(a.flat, b.flat)


def test_classify_all_rows_end_in_last_window():
    a = make("gru", False, "classify")
    x, y = batch(a, T=8)
    st = train_minibatch(a, x, y, None, k1=3, k2=2, step_fn=sgd(a))
    assert st["updates"] == 1 and st["count"] == 3


def test_bad_k():
    a = make("rnn_tanh", True, "lm")
    x, y = batch(a)
    with pytest.raises(ValueError, match="k2"):
        train_minibatch(a, x, y, None, k1=3, k2=4, step_fn=sgd(a))
    with pytest.raises(ValueError):
        train_minibatch(a, x, y, None, k1=0, k2=None, step_fn=sgd(a))
