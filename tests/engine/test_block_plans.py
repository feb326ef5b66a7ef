"""Every cell's per-step recurrent products run as batched matmuls over column blocks whose width
gemmplan picks from the shapes (a speed choice only). Every plan must give correct, matching and
bitwise repeatable gradients; the engine tests use small hidden sizes, so here the plan's limits
are changed to reach multi-block and single-block plans."""

import numpy as np
import pytest

from rnn_spark.engine import gemmplan
from rnn_spark.engine.gradcheck import check_model

from ._cases import batch, make, mask_for


@pytest.mark.parametrize("n,b,k,want", [
    (128, 32, 128, 64),     # 32*128*64 fits the small-matrix kernel
    (256, 32, 256, 64),
    (512, 32, 512, 32),     # 64 would not fit
    (256, 32, 1024, 256),   # no block of 32 fits: one block
    (100, 32, 100, 100),    # no multiple of 32 divides 100
    (96, 32, 96, 32),
    (256, 512, 256, 256),   # big batch: one block
])
def test_block_width(n, b, k, want):
    w = gemmplan.block_width(n, b, k)
    assert w == want
    assert n % w == 0


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 1-2 columns for the tiny test sizes."""
    monkeypatch.setattr(gemmplan, "ALIGN", 1)
    monkeypatch.setattr(gemmplan, "MAX_WIDTH", 2)


CELLS = ["rnn_tanh", "lstm", "gru"]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", [(True, "lm", "every"), (False, "regress", "last")])
@pytest.mark.parametrize("mask_kind", ["none", "holes"])
@pytest.mark.parametrize("k2", [None, 3])
def test_blocked_gradcheck(small_blocks, cell, token, task, head_at, mask_kind, k2):
    m = make(cell, token, task, hidden=(5, 4), head_at=head_at)
    x, y = batch(m)
    err, g, _ = check_model(m, x, y, mask_for(mask_kind), k2=k2)
    assert np.abs(g).max() > 0
    assert err < 1e-6, err


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("mask_kind", ["none", "trailing", "holes"])
def test_plans_agree_and_repeat(monkeypatch, cell, mask_kind):
    m = make(cell, True, "lm", hidden=(6, 4))
    x, y = batch(m)
    mask = mask_for(mask_kind)
    monkeypatch.setattr(gemmplan, "SMALL_MNK", 0)  # one block per gate
    ref = m.loss_and_flat_grad(x, y, mask=mask)
    h_ref, _ = m.hidden(x, mask)
    monkeypatch.setattr(gemmplan, "SMALL_MNK", 10**9)
    monkeypatch.setattr(gemmplan, "ALIGN", 1)
    monkeypatch.setattr(gemmplan, "MAX_WIDTH", 2)
    got = m.loss_and_flat_grad(x, y, mask=mask)
    again = m.loss_and_flat_grad(x, y, mask=mask)
    assert got[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-10, atol=1e-12)
    for a, b in zip(got[2], ref[2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(again[1], got[1])  # bitwise repeatable
    h_blk, _ = m.hidden(x, mask)
    np.testing.assert_allclose(h_blk, h_ref, rtol=1e-12, atol=1e-14)
