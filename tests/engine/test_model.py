import numpy as np
import pytest

from rnn_spark.engine import Model, ModelConfig

from ._cases import CELLS, batch, make, mask_for


def test_names_shapes_and_flat_views():
    cfg = ModelConfig(cell="lstm", vocab_size=96, embedding_size=64, hidden_sizes=[32, 16],
                      output_size=96, task="lm")
    m = Model(cfg, seed=0)
    assert m.param_names == [
        "embedding.weight",
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
        "head.weight", "head.bias"]
    shapes = {n: p.shape for n, p in m.params.items()}
    assert shapes["rnn.weight_ih_l0"] == (128, 64) and shapes["rnn.weight_hh_l1"] == (64, 16)
    assert shapes["head.weight"] == (96, 16)
    assert m.flat.dtype == np.float32 and m.flat.ndim == 1
    assert m.num_params == sum(p.size for p in m.params.values())
    for p in m.params.values():
        assert np.shares_memory(p, m.flat)
    m.flat[:] = 0.5
    assert all((p == 0.5).all() for p in m.params.values())


def test_init_like_pytorch_and_forget_bias():
    cfg = ModelConfig(cell="lstm", vocab_size=50, embedding_size=40, hidden_sizes=[100],
                      output_size=50, task="lm", forget_bias=1.0, dtype="float64")
    m = Model(cfg, seed=3)
    p = m.params
    k = 1 / np.sqrt(100)
    assert abs(p["rnn.weight_hh_l0"]).max() <= k and abs(p["rnn.weight_hh_l0"]).max() > 0.9 * k
    assert abs(p["embedding.weight"].std() - 1) < 0.05
    fb = p["rnn.bias_hh_l0"][100:200]
    assert (fb >= 1 - k).all() and (fb <= 1 + k).all()
    assert abs(p["rnn.bias_hh_l0"][:100]).max() <= k
    assert abs(p["head.weight"]).max() <= k
    # same seed, same weights; float32 model = float64 weights rounded
    assert np.array_equal(Model(cfg, seed=3).flat, m.flat)
    m32 = Model(ModelConfig.from_dict({**cfg.to_dict(), "dtype": "float32"}), seed=3)
    assert np.array_equal(m32.flat, m.flat.astype(np.float32))
    assert not np.array_equal(Model(cfg, seed=4).flat, m.flat)


def test_state_dict_round_trip_and_strict():
    m = make("gru", True, "lm")
    sd = m.state_dict()
    m2 = make("gru", True, "lm", seed=9)
    m2.load_state_dict(sd)
    assert np.array_equal(m.flat, m2.flat)
    sd["rnn.weight_hh_l0"] += 1  # a copy, not a view
    assert not np.array_equal(m.state_dict()["rnn.weight_hh_l0"], sd["rnn.weight_hh_l0"])
    with pytest.raises(ValueError, match="missing"):
        m2.load_state_dict({k: v for k, v in sd.items() if k != "head.bias"})
    bad = dict(sd)
    bad["head.bias"] = np.zeros(3)
    with pytest.raises(ValueError, match="head.bias"):
        m2.load_state_dict(bad)
    with pytest.raises(ValueError):
        m2.set_flat(np.zeros(3))
    m2.set_flat(np.arange(m2.num_params))
    assert m2.params["embedding.weight"].ravel()[5] == 5


@pytest.mark.parametrize("cell", CELLS)
def test_grads_named_like_params(cell):
    m = make(cell, True, "lm")
    x, y = batch(m)
    loss, grads, state = m.loss_and_grads(x, y)
    loss2, flat, _ = m.loss_and_flat_grad(x, y)
    assert loss == loss2 and list(grads) == m.param_names
    assert all(grads[n].shape == m.params[n].shape for n in grads)
    assert np.array_equal(np.concatenate([g.ravel() for g in grads.values()]), flat)
    assert len(state) == 2


@pytest.mark.parametrize("cell", CELLS)
def test_forward_shapes_and_evaluate(cell):
    for task, head, shape in [("lm", None, (3, 6, 7)), ("classify", None, (3, 3)),
                              ("regress", "every", (3, 6, 2)), ("regress", "last", (3, 2))]:
        m = make(cell, True, task, head_at=head)
        x, y = batch(m)
        out, st = m.forward(x)
        assert out.shape == shape
        mask = mask_for("trailing")
        loss_sum, count, _, metrics = m.evaluate(x, y, mask, return_metrics=True)
        loss, _, _ = m.loss_and_flat_grad(x, y, mask)
        assert count == ({"lm": int(mask.sum()), "classify": 3}.get(task, int(mask.sum()) if head == "every" else 3))
        assert np.isclose(loss_sum / count, loss)
        assert set(metrics) == ({"sse"} if task == "regress" else {"correct"})


@pytest.mark.parametrize("cell", CELLS)
def test_masked_steps_carry_state(cell):
    m = make(cell, True, "lm")
    x, _ = batch(m, B=2, T=6)
    mask = np.ones((2, 6))
    mask[0, 2:4] = 0
    mask[1, 3:] = 0
    y, final = m.hidden(x, mask)
    assert np.array_equal(y[0, 1], y[0, 2]) and np.array_equal(y[0, 1], y[0, 3])
    assert np.array_equal(y[1, 2], y[1, 5])
    # removing the masked steps gives the same outputs
    y0, _ = m.hidden(x[:1, [0, 1, 4, 5]])
    assert np.allclose(y0[0], y[0, [0, 1, 4, 5]])
    y1, f1 = m.hidden(x[1:, :3])
    h_final = final[-1][0] if cell == "lstm" else final[-1]
    h1 = f1[-1][0] if cell == "lstm" else f1[-1]
    assert np.allclose(h_final[1], h1[0])


@pytest.mark.parametrize("cell", CELLS)
def test_state_carry_equals_one_long_window(cell):
    m = make(cell, False, "regress")
    x, y = batch(m, T=8)
    out, fin = m.forward(x)
    o1, s1 = m.forward(x[:, :5])
    o2, s2 = m.forward(x[:, 5:], initial_state=s1)
    assert np.allclose(np.concatenate([o1, o2], 1), out)


def test_float32_is_default_and_float_outputs():
    m = make("lstm", True, "lm", dtype="float32")
    x, y = batch(m)
    loss, g, st = m.loss_and_flat_grad(x, y)
    assert g.dtype == np.float32 and isinstance(loss, float)
    assert st[0][0].dtype == np.float32
    m64 = make("lstm", True, "lm", dtype="float64")
    l64, g64, _ = m64.loss_and_flat_grad(x, y)
    assert abs(l64 - loss) < 1e-5 and np.allclose(g, g64, atol=1e-5)


def test_bad_inputs_clear_errors():
    m = make("lstm", True, "lm")
    x, y = batch(m)
    with pytest.raises(ValueError, match=r"token ids must be in \[0, 7\)"):
        m.loss_and_flat_grad(x + 10, y)
    with pytest.raises(ValueError, match="mask"):
        m.loss_and_flat_grad(x, y, mask=np.ones((2, 2)))
    with pytest.raises(ValueError, match="targets"):
        m.loss_and_flat_grad(x, y[:, :2])
    # padded targets may hold anything
    mask = mask_for("trailing")
    y2 = y.copy()
    y2[mask == 0] = -1
    assert np.isclose(m.loss_and_flat_grad(x, y2, mask)[0], m.loss_and_flat_grad(x, y, mask)[0])
    d = make("gru", False, "regress")
    xd, yd = batch(d)
    with pytest.raises(ValueError, match="features"):
        d.forward(xd[:, :, :2])
    yd[mask == 0] = np.nan
    assert np.isfinite(d.loss_and_flat_grad(xd, yd, mask)[1]).all()


@pytest.mark.parametrize("cell", CELLS)
def test_bitwise_deterministic(cell):
    """Same weights + same batch => bitwise the same loss, gradient and state (fresh buffers each call)."""
    a, b = make(cell, True, "lm", dtype="float32", hidden=(16, 8)), make(cell, True, "lm", dtype="float32", hidden=(16, 8))
    x, y = batch(a, B=4, T=9)
    mask = mask_for("holes", 4, 9)
    r1 = a.loss_and_flat_grad(x, y, mask, k2=5)
    _ = np.ones(12345)  # perturb the allocator between calls
    r2 = b.loss_and_flat_grad(x, y, mask, k2=5)
    assert r1[0] == r2[0] and np.array_equal(r1[1], r2[1])
    s1 = [np.concatenate([np.ravel(v) for v in (e if isinstance(e, tuple) else (e,))]) for e in r1[2]]
    s2 = [np.concatenate([np.ravel(v) for v in (e if isinstance(e, tuple) else (e,))]) for e in r2[2]]
    assert all(np.array_equal(p, q) for p, q in zip(s1, s2))
