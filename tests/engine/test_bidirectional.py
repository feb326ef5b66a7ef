"""Bidirectional layers: PyTorch's state-dict names and layouts (nn.RNN/LSTM/GRU(bidirectional=
True)), parity with those modules over packed sequences (rows of different lengths reverse only
their valid steps), the head's reading of the two directions, and what is refused."""

import numpy as np
import pytest

from rnn_spark.engine import Model, ModelConfig, train_minibatch
from rnn_spark.engine.gradcheck import check_model

from ._cases import CELLS, batch, make, mask_for

TOL = 1e-6
COMBOS = [(True, "classify", "last"), (False, "regress", "every"), (False, "regress", "last")]


def bidi(cell, token, task, head_at=None, hidden=(5, 5), seed=2, **kw):
    m = make(cell, token, task, hidden=hidden, head_at=head_at, seed=seed)
    return Model(ModelConfig.from_dict({**m.cfg.to_dict(), "bidirectional": True, **kw}), seed=seed)


def test_names_shapes_order_like_torch():
    m = bidi("lstm", True, "classify", hidden=(6, 3))
    assert m.param_names == [
        "embedding.weight",
        "rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
        "rnn.weight_ih_l0_reverse", "rnn.weight_hh_l0_reverse", "rnn.bias_ih_l0_reverse",
        "rnn.bias_hh_l0_reverse",
        "rnn.weight_ih_l1", "rnn.weight_hh_l1", "rnn.bias_ih_l1", "rnn.bias_hh_l1",
        "rnn.weight_ih_l1_reverse", "rnn.weight_hh_l1_reverse", "rnn.bias_ih_l1_reverse",
        "rnn.bias_hh_l1_reverse", "head.weight", "head.bias"]
    shapes = {n: p.shape for n, p in m.params.items()}
    assert shapes["rnn.weight_ih_l1_reverse"] == (12, 12)  # input: [forward, reverse] of layer 0
    assert shapes["head.weight"] == (3, 6)
    assert len(m.zero_state(2)) == 4  # one state per layer and direction, torch's h_n order
    k = 1 / np.sqrt(6)  # nn.Linear's init: 1/sqrt(in_features)
    assert abs(m.params["head.weight"]).max() <= k


torch = pytest.importorskip("torch")
nn = torch.nn


def torch_modules(m):
    cfg = m.cfg
    kind = {"lstm": nn.LSTM, "gru": nn.GRU}.get(cfg.cell, nn.RNN)
    extra = {"nonlinearity": cfg.cell[4:]} if cfg.cell.startswith("rnn_") else {}
    mods = nn.ModuleDict({"rnn": kind(cfg.in_features, cfg.hidden_sizes[0],
                                      num_layers=len(cfg.hidden_sizes), batch_first=True,
                                      bidirectional=True, **extra),
                          "head": nn.Linear(2 * cfg.hidden_sizes[-1], cfg.output_size)})
    if cfg.token_input:
        mods["embedding"] = nn.Embedding(cfg.vocab_size, cfg.embedding_size)
    mods = mods.double()
    mods.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()},
                         strict=True)
    return mods


def torch_packed(mods, m, x, y, lengths):
    """torch's bidirectional module over a packed batch; a last-step head reads h_n's two final
    states (forward at the last valid step, reverse after step 0)."""
    cfg = m.cfg
    xt = mods["embedding"](torch.from_numpy(x)) if cfg.token_input else torch.from_numpy(x)
    packed = nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths), batch_first=True,
                                               enforce_sorted=False)
    out, hn = mods["rnn"](packed)
    hn = hn[0] if isinstance(hn, tuple) else hn
    if cfg.head_at == "last":
        z = mods["head"](torch.cat([hn[-2], hn[-1]], 1))
        ys = torch.from_numpy(y)
    else:
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        sel = torch.arange(x.shape[1])[None] < torch.from_numpy(lengths)[:, None]
        z, ys = mods["head"](out)[sel], torch.from_numpy(y)[sel]
    loss = nn.functional.mse_loss(z, ys) if cfg.task == "regress" else \
        nn.functional.cross_entropy(z, ys)
    loss.backward()
    return loss.item(), {n: p.grad.numpy() for n, p in mods.named_parameters()}


def rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
@pytest.mark.parametrize("mask_kind", ["none", "trailing"])
def test_equals_torch_bidirectional_over_packed_sequences(cell, token, task, head_at, mask_kind):
    m = bidi(cell, token, task, head_at)
    x, y = batch(m, B=3, T=6, seed=4)
    mask = mask_for(mask_kind)
    lengths = np.full(3, 6) if mask is None else mask.sum(1).astype(np.int64)
    mods = torch_modules(m)
    assert [n for n, _ in mods.named_parameters()] == \
        ["rnn." + n[4:] for n in m.param_names if n.startswith("rnn.")] + \
        ["head.weight", "head.bias"] + (["embedding.weight"] if token else [])
    t_loss, t_grads = torch_packed(mods, m, x, y, lengths)
    loss, grads, _ = m.loss_and_grads(x, y, mask)
    assert abs(loss - t_loss) <= TOL * abs(t_loss)
    for n in m.param_names:
        assert rel(grads[n], t_grads[n]) < TOL, n
    # inference: the same outputs at every valid step / at the last one
    out, _ = m.forward(x, mask)
    with torch.no_grad():
        xt = mods["embedding"](torch.from_numpy(x)) if token else torch.from_numpy(x)
        packed = nn.utils.rnn.pack_padded_sequence(xt, torch.from_numpy(lengths),
                                                   batch_first=True, enforce_sorted=False)
        o, hn = mods["rnn"](packed)
        hn = hn[0] if isinstance(hn, tuple) else hn
        if head_at == "last":
            want = mods["head"](torch.cat([hn[-2], hn[-1]], 1)).numpy()
            np.testing.assert_allclose(out, want, rtol=1e-9, atol=1e-12)
        else:
            o, _ = nn.utils.rnn.pad_packed_sequence(o, batch_first=True, total_length=6)
            want = mods["head"](o).numpy()
            sel = np.arange(6)[None] < lengths[:, None]
            np.testing.assert_allclose(out[sel], want[sel], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
def test_holes_equal_the_reference(cell, token, task, head_at):
    """Masked steps inside a row (no packed-sequence equivalent) carry the state in both
    directions: the reference reverses each row up to its last valid step, as the engine does."""
    from ._torch_ref import torch_loss
    m = bidi(cell, token, task, head_at, hidden=(5, 4))
    x, y = batch(m, B=3, T=6, seed=6)
    mask = mask_for("holes")
    t_loss, t_grads = torch_loss(m, x, y, mask)
    loss, grads, _ = m.loss_and_grads(x, y, mask)
    assert abs(loss - t_loss) <= TOL * abs(t_loss)
    for n in m.param_names:
        assert rel(grads[n], t_grads[n]) < TOL, n


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
@pytest.mark.parametrize("mask_kind", ["none", "trailing", "holes"])
def test_finite_differences(cell, token, task, head_at, mask_kind):
    m = bidi(cell, token, task, head_at, hidden=(4, 3))
    x, y = batch(m)
    err, g, _ = check_model(m, x, y, mask_for(mask_kind))
    assert np.abs(g).max() > 0 and err < TOL, err


def test_three_layers_initial_state():
    m = bidi("lstm", False, "regress", hidden=(3, 4, 2))
    x, y = batch(m, B=2, T=5)
    rng = np.random.default_rng(3)
    st = [tuple(rng.standard_normal(s.shape) for s in e) for e in m.zero_state(2)]
    err, _, _ = check_model(m, x, y, mask_for("trailing", 2, 5), initial_state=st)
    assert err < TOL


def test_refused_for_lm_and_for_cut_sequences():
    with pytest.raises(ValueError, match="bidirectional.*'lm'"):
        ModelConfig(vocab_size=5, embedding_size=3, output_size=5, task="lm", bidirectional=True)
    m = bidi("gru", False, "regress", "every")
    x, y = batch(m, B=2, T=6)
    with pytest.raises(ValueError, match="whole window"):
        m.loss_and_flat_grad(x, y, k2=3)
    with pytest.raises(ValueError, match="whole sequences"):
        train_minibatch(m, x, y, None, 4, 4, lambda g: None)
    with pytest.raises(ValueError, match="whole sequences"):
        train_minibatch(m, x, y, None, 6, 3, lambda g: None)
    assert train_minibatch(m, x, y, None, 6, 6, lambda g: None)["updates"] == 1
