"""Dropout in the engine: masks drawn deterministically from a seed (one generator per part, none
when a rate is 0), what each kind drops, off at inference, and finite-difference gradient checks
with fixed masks (full and truncated backward)."""

import numpy as np
import pytest

from rnn_spark.engine import Model, ModelConfig, train_minibatch
from rnn_spark.engine import dropout as drop
from rnn_spark.engine.gradcheck import check_model

from ._cases import CELLS, batch, make, mask_for

TOL = 1e-6
RATES = dict(dropout=0.3, recurrent_dropout=0.4, embedding_dropout=0.5)


def with_(m, **kw):
    return Model(ModelConfig.from_dict({**m.cfg.to_dict(), **kw}), seed=1)


def masks_of(m, x, seed, mask=None):
    xt, _, B, T = m._prepare(x, mask)
    return m.masks(seed, xt, B, T)


def test_rates_are_checked():
    base = dict(vocab_size=5, embedding_size=3, output_size=5, task="lm")
    for key in RATES:
        for bad in (1.0, -0.1, 1.5, True, "0.2", None):
            with pytest.raises(ValueError, match=f"{key} must be a dropout probability in"):
                ModelConfig(**base, **{key: bad})
        assert getattr(ModelConfig(**base, **{key: 0}), key) == 0.0
    with pytest.raises(ValueError, match="embedding_dropout only applies to token input"):
        ModelConfig(input_size=3, output_size=1, task="regress", embedding_dropout=0.1)


def test_old_configs_load_with_everything_off():
    d = make("lstm", True, "lm").cfg.to_dict()
    for key in ("bidirectional", *RATES):
        d.pop(key)
    cfg = ModelConfig.from_dict(d)
    assert not cfg.bidirectional and not cfg.has_dropout and cfg.directions == 1


@pytest.mark.parametrize("cell", CELLS)
def test_no_dropout_means_no_draws_and_the_same_bits(cell):
    """Rates of 0: a seed changes nothing (no masks are drawn), bit for bit."""
    m = make(cell, True, "lm", dtype="float32")
    x, y = batch(m)
    assert masks_of(m, x, (1, 2, 3)) is drop.NONE
    a = m.loss_and_flat_grad(x, y, mask_for("holes"))
    b = m.loss_and_flat_grad(x, y, mask_for("holes"), dropout=(1, 2, 3))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])


def test_masks_same_seed_same_bits_other_seed_other_masks():
    m = with_(make("gru", True, "lm", dtype="float32"), **RATES)
    x, y = batch(m)
    a = m.loss_and_flat_grad(x, y, dropout=(5, 0, 1, 0, 3, 0))
    b = m.loss_and_flat_grad(x, y, dropout=(5, 0, 1, 0, 3, 0))
    c = m.loss_and_flat_grad(x, y, dropout=(5, 0, 1, 0, 4, 0))
    assert a[0] == b[0] and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_each_part_has_its_own_stream():
    """Turning one dropout on or off leaves the other parts' masks as they were."""
    m = make("lstm", True, "classify")
    x, _ = batch(m)
    full = masks_of(with_(m, **RATES), x, (9, 9))
    rec_only = masks_of(with_(m, recurrent_dropout=0.4), x, (9, 9))
    assert rec_only.embedding is None and rec_only.head is None and rec_only.between == ()
    for a, b in zip(full.recurrent, rec_only.recurrent):
        assert np.array_equal(a, b)


def test_what_the_masks_are():
    m = with_(make("lstm", True, "lm", hidden=(64, 48), dtype="float32"), **RATES)
    rng = np.random.default_rng(0)
    B, T = 32, 40
    x = rng.integers(0, 7, (B, T))
    dm = masks_of(m, x, (1,))
    assert dm.embedding.shape == (T, B) and dm.embedding.dtype == np.float32
    assert [r.shape for r in dm.recurrent] == [(B, 64), (B, 48)]
    assert [b.shape for b in dm.between] == [(T, B, 64)] and dm.head.shape == (T, B, 48)
    for arr, p in ((dm.embedding, 0.5), (dm.recurrent[0], 0.4), (dm.between[0], 0.3),
                   (dm.head, 0.3)):
        kept = np.float32(65536 / (65536 - round(p * 65536)))  # p to 1/65536, mean exactly 1
        assert set(np.unique(arr)) <= {np.float32(0), kept} and abs(kept - 1 / (1 - p)) < 1e-4
    for arr, p in ((dm.recurrent[0], 0.4), (dm.between[0], 0.3), (dm.head, 0.3)):
        assert abs((arr == 0).mean() - p) < 0.05
    # word dropout: one draw per (row, token type) -- every occurrence in a row alike
    words = {}
    for b in range(B):
        for tok in np.unique(x[b]):
            assert len(np.unique(dm.embedding[x[b] == tok, b])) == 1  # masks are time-major
            words[b, tok] = dm.embedding[x[b] == tok, b][0] == 0
    assert abs(np.mean(list(words.values())) - 0.5) < 0.12  # 224 draws
    # a last-step head drops one vector per row
    c = with_(make("gru", True, "classify", hidden=(6,)), dropout=0.5)
    assert masks_of(c, x[:, :5], (1,)).head.shape == (B, 6)


@pytest.mark.parametrize("cell", CELLS)
def test_inference_never_drops(cell):
    """forward / evaluate / hidden without a seed: the same numbers as the model without dropout."""
    plain = make(cell, True, "lm")
    m = with_(plain, **RATES)
    m.set_flat(plain.flat)
    x, y = batch(m)
    assert np.array_equal(m.forward(x)[0], plain.forward(x)[0])
    assert m.evaluate(x, y)[:2] == plain.evaluate(x, y)[:2]
    assert np.array_equal(m.hidden(x)[0], plain.hidden(x)[0])
    assert not np.array_equal(m.hidden(x, dropout=(1,))[0], plain.hidden(x)[0])


COMBOS = [(True, "lm", "every"), (True, "classify", "last"), (False, "regress", "every"),
          (False, "regress", "last")]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
@pytest.mark.parametrize("mask_kind", ["none", "holes"])
def test_finite_differences_with_fixed_masks(cell, token, task, head_at, mask_kind):
    m = make(cell, token, task, hidden=(5, 4), head_at=head_at)
    m = with_(m, **{**RATES, "embedding_dropout": RATES["embedding_dropout"] if token else 0.0})
    x, y = batch(m)
    mask = mask_for(mask_kind)
    dm = masks_of(m, x, (3, 1), mask)
    err, g, _ = check_model(m, x, y, mask, dropout=dm)
    assert np.abs(g).max() > 0 and err < TOL, err


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("k2", [1, 3])
def test_finite_differences_truncated_with_fixed_masks(cell, k2):
    m = with_(make(cell, True, "lm", hidden=(4, 5)), **RATES)
    x, y = batch(m, T=6)
    dm = masks_of(m, x, (4,))
    err, _, _ = check_model(m, x, y, mask_for("holes"), k2=k2, dropout=dm)
    assert err < TOL, err


def test_tbptt_windows_draw_their_own_masks():
    """Window i uses seed + (i,): a minibatch run as two windows equals two calls made by hand."""
    m = with_(make("lstm", True, "lm", dtype="float64"), **RATES)
    x, y = batch(m, T=8)
    grads = []
    train_minibatch(m, x, y, None, 4, 4, lambda g: grads.append(g.copy()), dropout=(2, 7))
    _, g0, st = m.loss_and_flat_grad(x[:, :4], y[:, :4], dropout=(2, 7, 0))
    _, g1, _ = m.loss_and_flat_grad(x[:, 4:], y[:, 4:], initial_state=st, dropout=(2, 7, 1))
    assert np.array_equal(grads[0], g0) and np.array_equal(grads[1], g1)


@pytest.mark.parametrize("cell", CELLS)
def test_word_dropout_on_both_token_paths(cell):
    """Table lookup + one-hot backward, and gather + GEMM: the same, correct gradient with word
    dropout (the table's extra row for dropped positions, the one-hot's scaled token rows)."""
    m = with_(make(cell, True, "lm", hidden=(6,)), embedding_dropout=0.5, recurrent_dropout=0.2)
    x, y = batch(m)
    dm = masks_of(m, x, (8,))
    assert 0 < (dm.embedding == 0).mean() < 1
    out = {}
    for use_table in (True, False):
        m.use_table = use_table
        err, g, _ = check_model(m, x, y, mask_for("trailing"), dropout=dm)
        assert err < TOL, (use_table, err)
        out[use_table] = g
    np.testing.assert_allclose(out[True], out[False], rtol=1e-10, atol=1e-12)
