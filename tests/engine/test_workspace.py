"""The engine reuses scratch buffers between calls (buffers.Workspace): nothing it returns may alias
them, and a model stays picklable and usable from several threads."""

import copy
import pickle
import threading

import numpy as np
import pytest

from rnn_spark.engine import Model, ModelConfig


def _model(cell):
    cfg = ModelConfig(cell=cell, vocab_size=11, embedding_size=5, hidden_sizes=[6, 4], output_size=11,
                      task="lm", dtype="float64")
    return Model(cfg, seed=3)


@pytest.mark.parametrize("cell", ["rnn_tanh", "lstm", "gru"])
@pytest.mark.parametrize("T", [1, 4])
def test_results_do_not_alias_scratch(cell, T):
    m = _model(cell)
    rng = np.random.default_rng(0)
    x1, x2 = rng.integers(0, 11, (3, T)), rng.integers(0, 11, (3, T))
    y1, f1 = m.hidden(x1)
    o1, g1 = m.forward(x1)
    l1, gr1, s1 = m.loss_and_flat_grad(x1, x1)
    keep = [a.copy() for a in (y1, o1, gr1)]
    m.hidden(x2)
    m.forward(x2)
    m.loss_and_flat_grad(x2, x2)
    for a, b in zip((y1, o1, gr1), keep):
        np.testing.assert_array_equal(a, b)


def test_pickle_and_threads_give_the_same_bits():
    m = _model("lstm")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 11, (4, 7))
    ref = m.loss_and_flat_grad(x, x)[1]
    m.loss_and_flat_grad(x, x)
    m2 = pickle.loads(pickle.dumps(m))
    np.testing.assert_array_equal(m2.loss_and_flat_grad(x, x)[1], ref)
    np.testing.assert_array_equal(copy.deepcopy(m).loss_and_flat_grad(x, x)[1], ref)
    out = [None] * 4

    def work(i):
        for _ in range(5):
            out[i] = m.loss_and_flat_grad(x, x)[1]

    ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for o in out:
        np.testing.assert_array_equal(o, ref)
