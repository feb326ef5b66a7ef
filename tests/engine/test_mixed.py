"""Mixed input (an embedding per categorical field + numeric features -> the first layer):
parity with PyTorch (float64 autograd; nn.Embedding per field + concat + torch's own recurrent
modules), finite-difference gradients with masks, truncation, bidirectional layers and dropout."""

import numpy as np
import pytest

from rnn_spark.engine import MixedInputs, Model, ModelConfig, train_minibatch
from rnn_spark.engine.config import ModelConfigError
from rnn_spark.engine.gradcheck import check_model
from rnn_spark.engine.mixed import embedding_size_rule

from ._cases import CELLS, mask_for

TOL = 1e-6
SIZES, EMB, NUM = [5, 3], [4, 2], 2
TASKS = [("lm", "every"), ("classify", "last"), ("regress", "every"), ("regress", "last")]


def make(cell, task="classify", head_at=None, hidden=(5, 4), seed=1, numeric=NUM, **kw):
    out = {"lm": SIZES[0], "classify": 3, "regress": 2}[task]
    cfg = ModelConfig(cell=cell, hidden_sizes=list(hidden), output_size=out, task=task,
                      head_at=head_at, dtype="float64", field_sizes=SIZES,
                      field_embedding_sizes=EMB, numeric_size=numeric, **kw)
    return Model(cfg, seed=seed)


def batch(m, B=3, T=6, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.stack([rng.integers(0, v, (B, T)) for v in SIZES], axis=2).astype(np.int32)
    x = MixedInputs(ids, rng.standard_normal((B, T, m.cfg.numeric_size)))
    cfg = m.cfg
    if cfg.task == "lm":
        y = rng.integers(0, SIZES[0], (B, T))
    elif cfg.task == "classify":
        y = rng.integers(0, 3, (B,))
    elif cfg.head_at == "every":
        y = rng.standard_normal((B, T, 2))
    else:
        y = rng.standard_normal((B, 2))
    return x, y


def test_config_rule_and_keys():
    cfg = ModelConfig(cell="gru", hidden_sizes=[4], output_size=2, task="classify",
                      field_sizes=[3, 1000, 10 ** 6], numeric_size=0)
    assert cfg.field_embedding_sizes == [embedding_size_rule(v) for v in (3, 1000, 10 ** 6)]
    assert cfg.field_embedding_sizes == [3, 50, 50]  # 1.6 * 1000 ** 0.56 = 76.6: capped
    assert cfg.in_features == sum(cfg.field_embedding_sizes)
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    plain = ModelConfig(cell="gru", hidden_sizes=[4], output_size=2, task="classify", input_size=3)
    assert "field_sizes" not in plain.to_dict()  # models without mixed input keep their keys


@pytest.mark.parametrize("kw,msg", [
    (dict(field_sizes=[3], input_size=2), "must not be set together"),
    (dict(field_sizes=[]), "non-empty list"),
    (dict(field_sizes=[3, 0]), "positive integer"),
    (dict(field_sizes=[3, 4], field_embedding_sizes=[2]), "one positive size per"),
    (dict(field_sizes=[3], numeric_size=-1), "numeric_size"),
])
def test_config_refuses(kw, msg):
    with pytest.raises(ModelConfigError, match=msg):
        ModelConfig(cell="gru", hidden_sizes=[4], output_size=2, task="classify", **kw)


def test_bad_inputs_are_named():
    m = make("gru")
    x, y = batch(m)
    with pytest.raises(ValueError, match="reads mixed steps"):
        m.forward(x.nums)
    bad = x.ids.copy()
    bad[0, 0, 1] = 3
    with pytest.raises(ValueError, match="field 1's ids must be in"):
        m.forward(MixedInputs(bad, x.nums))
    with pytest.raises(ValueError, match="inputs.nums"):
        m.forward(MixedInputs(x.ids, x.nums[..., :1]))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task,head_at", TASKS)
@pytest.mark.parametrize("mask_kind", ["none", "holes"])
def test_torch_parity(cell, task, head_at, mask_kind):
    pytest.importorskip("torch")
    from ._torch_ref import rel, torch_loss
    m = make(cell, task, head_at, seed=3)
    x, y = batch(m, seed=4)
    mask = mask_for(mask_kind)
    t_loss, t_grads = torch_loss(m, x, y, mask)
    loss, grads, _ = m.loss_and_grads(x, y, mask)
    assert abs(loss - t_loss) <= TOL * abs(t_loss)
    for n in m.param_names:
        assert rel(grads[n], t_grads[n]) < TOL, n
    assert np.abs(grads["embeddings.1.weight"]).max() > 0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_torch_modules_load_the_state_dict(cell):
    """The engine's names and shapes are an nn.ModuleList of nn.Embedding + torch's own stack."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    m = make(cell, "regress", "every", hidden=(6, 6), seed=5)

    class Net(nn.Module):
        def __init__(self, cfg):
            super().__init__()
            self.embeddings = nn.ModuleList(nn.Embedding(v, e) for v, e in
                                            zip(cfg.field_sizes, cfg.field_embedding_sizes))
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell](cfg.in_features, 6, 2,
                                                                  batch_first=True)
            self.head = nn.Linear(6, cfg.output_size)

        def forward(self, ids, nums):
            parts = [e(ids[..., f]) for f, e in enumerate(self.embeddings)]
            return self.head(self.rnn(torch.cat(parts + [nums], 2))[0])

    net = Net(m.cfg).double()
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in m.state_dict().items()},
                        strict=True)
    assert [n for n, _ in net.named_parameters()] == m.param_names
    x, y = batch(m, seed=2)
    z = net(torch.from_numpy(x.ids.astype(np.int64)), torch.from_numpy(x.nums))
    out, _ = m.forward(x)
    assert np.abs(out - z.detach().numpy()).max() <= TOL * np.abs(out).max()
    loss = nn.functional.mse_loss(z, torch.from_numpy(y))
    loss.backward()
    ours, grads, _ = m.loss_and_grads(x, y)
    assert abs(ours - loss.item()) <= TOL * loss.item()
    for n, p in net.named_parameters():
        assert np.abs(grads[n] - p.grad.numpy()).max() <= TOL * np.abs(p.grad.numpy()).max(), n


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task,head_at", TASKS)
@pytest.mark.parametrize("mask_kind", ["holes"])
def test_gradcheck(cell, task, head_at, mask_kind):
    m = make(cell, task, head_at)
    x, y = batch(m)
    err, g, _ = check_model(m, x, y, mask_for(mask_kind))
    assert np.abs(m.grad_views(g)["embeddings.0.weight"]).max() > 0
    assert err < TOL, err


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("k2", [1, 3])
def test_gradcheck_truncated(cell, k2):
    m = make(cell, "regress", "every", hidden=(4, 5))
    x, y = batch(m)
    err, _, _ = check_model(m, x, y, mask_for("holes"), k2=k2)
    assert err < TOL, err


def test_gradcheck_categorical_only_bidirectional_with_dropout():
    """No numeric feature (several categorical fields only), both directions, every dropout on
    with fixed masks drawn from a seed (the embedding masks per field)."""
    m = make("lstm", "classify", numeric=0, bidirectional=True, dropout=0.3,
             embedding_dropout=0.4, recurrent_dropout=0.2)
    x, y = batch(m, T=5)
    masks = m.masks((7, 1), m._prepare(x, None)[0], 3, 5)
    assert masks.embedding.shape == (5, 3, 2)
    assert masks.embedding.min() == 0 and masks.embedding.max() > 1
    err, _, _ = check_model(m, x, y, mask_for("trailing", T=5), dropout=masks)
    assert err < TOL, err
    pytest.importorskip("torch")
    from ._torch_ref import rel, torch_loss
    t_loss, t_grads = torch_loss(m, x, y, mask_for("trailing", T=5), masks)
    loss, grads, _ = m.loss_and_grads(x, y, mask_for("trailing", T=5), dropout=masks)
    assert abs(loss - t_loss) <= TOL * abs(t_loss)
    for n in m.param_names:
        assert rel(grads[n], t_grads[n]) < TOL, n


def test_word_dropout_drops_ids_per_field():
    """Each row drops each id of a field for the whole window: equal ids, equal scales."""
    m = make("gru", embedding_dropout=0.5)
    ids = np.zeros((2, 8, 2), np.int32)
    ids[:, :, 0] = [0, 1] * 4
    x = MixedInputs(ids, np.zeros((2, 8, NUM)))
    e = m.masks((1,), m._prepare(x, None)[0], 2, 8).embedding
    for b in range(2):
        assert np.unique(e[0::2, b, 0]).size == 1 and np.unique(e[1::2, b, 0]).size == 1
        assert np.unique(e[:, b, 1]).size == 1


def test_tbptt_slices_mixed_windows_and_is_deterministic():
    m1, m2 = make("lstm", "regress", "every", seed=2), make("lstm", "regress", "every", seed=2)
    x, y = batch(m1, T=7)
    mask = np.ones((3, 7))
    mask[1, 5:] = 0
    for m in (m1, m2):
        def step(g, m=m):
            m.flat -= 0.1 * g
        train_minibatch(m, x, y, mask, 3, 2, step)
    assert np.array_equal(m1.flat, m2.flat)
    # the windows are the whole-sequence model's windows: k1 >= T gives one plain step
    m3, m4 = make("gru", seed=3), make("gru", seed=3)
    x, y = batch(m3, T=4)
    _, g, _ = m4.loss_and_flat_grad(x, y)
    train_minibatch(m3, x, y, None, 9, None, lambda g: m3.flat.__isub__(g))
    assert np.array_equal(m3.flat, m4.flat - g)


def test_float32_runs():
    cfg = ModelConfig(cell="lstm", hidden_sizes=[4], output_size=2, task="regress",
                      field_sizes=SIZES, numeric_size=NUM)
    m = Model(cfg, seed=0)
    x, y = batch(make("lstm", "regress"), seed=1)
    loss, g, _ = m.loss_and_flat_grad(MixedInputs(x.ids, x.nums.astype(np.float32)), y)
    assert g.dtype == np.float32 and np.isfinite(loss)
