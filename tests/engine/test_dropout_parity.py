"""Dropout parity with PyTorch (float64): with the same masks fed to both, the engine's loss and
gradients equal a PyTorch reference built from torch's own cells to 1e-6 relative -- every cell,
input kind, head and mask kind, all three dropouts, also with bidirectional layers."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ._cases import CELLS, batch, make, mask_for  # noqa: E402
from ._torch_ref import cell_step, rel, torch_loss  # noqa: E402

TOL = 1e-6
COMBOS = [(True, "lm", "every"), (True, "classify", "last"), (False, "regress", "every"),
          (False, "regress", "last")]


def drop_model(cell, token, task, head_at, bidirectional=False, seed=2):
    m = make(cell, token, task, hidden=(5, 4), head_at=head_at, seed=seed)
    kw = dict(dropout=0.3, recurrent_dropout=0.4, embedding_dropout=0.5 if token else 0.0,
              bidirectional=bidirectional)
    m2 = type(m)(type(m.cfg).from_dict({**m.cfg.to_dict(), **kw}), seed=seed)
    return m2


def drawn(m, x, mask, seed=(7, 0, 3, 1, 5, 0)):
    xt, _, B, T = m._prepare(x, mask)
    dm = m.masks(seed, xt, B, T)
    assert dm.head is not None and dm.recurrent  # every kind drawn
    return dm


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
@pytest.mark.parametrize("mask_kind", ["none", "trailing", "holes"])
def test_same_masks_same_loss_and_gradients_as_torch(cell, token, task, head_at, mask_kind):
    m = drop_model(cell, token, task, head_at)
    x, y = batch(m, B=3, T=6, seed=4)
    mask = mask_for(mask_kind)
    dm = drawn(m, x, mask)
    t_loss, t_grads = torch_loss(m, x, y, mask, dm)
    loss, grads, _ = m.loss_and_grads(x, y, mask, dropout=dm)
    assert abs(loss - t_loss) <= TOL * abs(t_loss)
    for n in m.param_names:
        assert rel(grads[n], t_grads[n]) < TOL, n
    # and the masks matter: without them the gradients differ
    plain = m.loss_and_grads(x, y, mask)[1]
    assert all(rel(grads[n], plain[n]) > 1e-3 for n in m.param_names if n != "head.bias")


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", [c for c in COMBOS if c[1] != "lm"])
@pytest.mark.parametrize("mask_kind", ["none", "trailing"])
def test_bidirectional_with_dropout_equals_torch(cell, token, task, head_at, mask_kind):
    m = drop_model(cell, token, task, head_at, bidirectional=True)
    x, y = batch(m, B=3, T=6, seed=5)
    mask = mask_for(mask_kind)
    dm = drawn(m, x, mask)
    assert len(dm.recurrent) == 4  # two layers x two directions
    t_loss, t_grads = torch_loss(m, x, y, mask, dm)
    loss, grads, _ = m.loss_and_grads(x, y, mask, dropout=dm)
    assert abs(loss - t_loss) <= TOL * abs(t_loss)
    for n in m.param_names:
        assert rel(grads[n], t_grads[n]) < TOL, n


def test_reference_gru_step_is_torchs_gru_cell():
    """The reference writes the GRU out (recurrent dropout must not reach its z * h term): with no
    mask it is torch's nn.GRUCell."""
    rng = np.random.default_rng(0)
    cell = torch.nn.GRUCell(3, 4).double()
    x = torch.from_numpy(rng.standard_normal((2, 3)))
    h = torch.from_numpy(rng.standard_normal((2, 4)))
    p = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    np.testing.assert_allclose(cell_step("gru", p, x, h, None).detach().numpy(),
                               cell(x, h).detach().numpy(), rtol=1e-12, atol=1e-12)
