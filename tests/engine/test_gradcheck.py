"""Analytic gradients vs central finite differences (float64) for every cell, input, task, mask."""

import numpy as np
import pytest

from rnn_spark.engine.gradcheck import check_model, numeric_grad, rel_error

from ._cases import CELLS, batch, make, mask_for

TOL = 1e-6
COMBOS = [(tok, task, head) for tok in (True, False) for task, head in
          [("lm", "every"), ("classify", "last"), ("regress", "every"), ("regress", "last")]
          if not (task == "lm" and not tok)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
@pytest.mark.parametrize("mask_kind", ["none", "trailing", "holes"])
def test_full_bptt(cell, token, task, head_at, mask_kind):
    m = make(cell, token, task, hidden=(5, 4), head_at=head_at)
    x, y = batch(m)
    err, g, _ = check_model(m, x, y, mask_for(mask_kind))
    assert np.abs(g).max() > 0
    assert err < TOL, err


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
@pytest.mark.parametrize("k2", [1, 3])
def test_truncated_k2(cell, token, task, head_at, k2):
    """TBPTT k2 < k1: reference holds outputs and state before the last k2 steps constant."""
    m = make(cell, token, task, hidden=(4, 5), head_at=head_at)
    x, y = batch(m, T=6)
    err, _, _ = check_model(m, x, y, mask_for("holes"), k2=k2)
    assert err < TOL, err


@pytest.mark.parametrize("cell", CELLS)
def test_truncation_changes_gradient(cell):
    m = make(cell, True, "lm")
    x, y = batch(m)
    _, g_full, _ = m.loss_and_flat_grad(x, y)
    _, g_k2, _ = m.loss_and_flat_grad(x, y, k2=2)
    _, g_k6, _ = m.loss_and_flat_grad(x, y, k2=6)
    assert np.array_equal(g_full, g_k6)
    assert not np.allclose(g_full, g_k2)
    # the head's gradient does not depend on truncation
    gv, gt = m.grad_views(g_full), m.grad_views(g_k2)
    assert np.allclose(gv["head.weight"], gt["head.weight"])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("use_table", [True, False])
def test_token_projection_paths(cell, use_table):
    """Both token paths (table lookup, gather + GEMM) give the same, correct gradient."""
    m = make(cell, True, "lm", hidden=(6,))
    m.use_table = use_table
    x, y = batch(m)
    err, _, _ = check_model(m, x, y, mask_for("trailing"))
    assert err < TOL


@pytest.mark.parametrize("cell", CELLS)
def test_three_layers_initial_state(cell):
    m = make(cell, False, "regress", hidden=(3, 6, 2))
    x, y = batch(m, B=2, T=5)
    rng = np.random.default_rng(3)
    st = [tuple(rng.standard_normal(s.shape) for s in e) if isinstance(e, tuple)
          else rng.standard_normal(e.shape) for e in m.zero_state(2)]
    err, _, _ = check_model(m, x, y, mask_for("holes", 2, 5), initial_state=st)
    assert err < TOL


def test_rows_without_targets_and_row_mask():
    m = make("lstm", True, "classify")
    x, y = batch(m)
    mask = mask_for("trailing")
    mask[2] = 0  # a row with no unmasked step has no target
    err, _, _ = check_model(m, x, y, mask)
    assert err < TOL
    err, _, _ = check_model(m, x, y, None, row_mask=np.array([True, False, True]))
    assert err < TOL
    loss, g, _ = m.loss_and_flat_grad(x, y, None, row_mask=np.zeros(3, bool))
    assert loss == 0.0 and not g.any()


def test_numeric_grad_helper():
    v = np.array([1.0, -2.0, 3.0])
    g = numeric_grad(lambda: float((v ** 3).sum()), v)
    assert rel_error(g, 3 * v ** 2) < 1e-8
