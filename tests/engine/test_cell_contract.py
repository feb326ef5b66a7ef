"""Every registered cell keeps the contract of cellbase.py: prepare gives a Prep in the cell's layout,
forward and backward give Forward / Backward with the shapes their docstrings state, and masked
rows carry the state through MaskInfo.hold / hold_grad."""

import numpy as np
import pytest

from rnn_spark.engine.buffers import Workspace
from rnn_spark.engine.cellbase import Backward, Cell, Forward, MaskInfo, Prep
from rnn_spark.engine.cells import CELL_TYPES, make_cell
from rnn_spark.engine.config import CELLS
from rnn_spark.engine.options import OptionError, as_int


def test_registry_covers_every_config_cell():
    assert set(CELL_TYPES) == set(CELLS)
    for kind in CELLS:
        assert isinstance(make_cell(kind, 3, 4), Cell)
    with pytest.raises(ValueError, match="valid cells"):
        make_cell("transformer", 3, 4)


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("masked", [False, True])
def test_shapes_of_prepare_forward_backward(kind, masked):
    In, H, T, B, t0 = 3, 4, 5, 2, 1
    cell = make_cell(kind, In, H)
    G = cell.gates
    rng = np.random.default_rng(0)
    w_hh, b_hh = rng.standard_normal((G * H, H)), rng.standard_normal(G * H)
    prep = cell.prepare(w_hh, b_hh, B, Workspace())
    assert isinstance(prep, Prep) and prep.gate_major == cell.gate_major
    xp_shape = (G, T, B, H) if prep.gate_major else (T, B, G * H)
    xp = rng.standard_normal(xp_shape)
    state0 = cell.zero_state(B, np.float64)
    mask = None
    if masked:
        mask = np.ones((T, B), bool)
        mask[2, 0] = False
    fw = cell.forward(xp, state0, prep, MaskInfo(mask, np.float64))
    assert isinstance(fw, Forward)
    assert fw.y.shape == (T, B, H)
    states = fw.final if isinstance(fw.final, tuple) else (fw.final,)
    assert len(states) == (2 if kind == "lstm" else 1)
    assert all(s.shape == (B, H) for s in states)
    if masked:  # row 0 keeps h_1 through masked step 2
        np.testing.assert_array_equal(fw.y[2, 0], fw.y[1, 0])
    bw = cell.backward(rng.standard_normal((T, B, H)), fw.cache, prep, MaskInfo(mask, np.float64), t0)
    assert isinstance(bw, Backward)
    assert bw.dxp.shape == bw.dgh.shape == xp_shape
    assert bw.hprev.shape == (T, B, H)
    np.testing.assert_array_equal(bw.hprev[0], state0[0] if kind == "lstm" else state0)
    dstates = bw.dstate if isinstance(bw.dstate, tuple) else (bw.dstate,)
    assert all(d.shape == (B, H) for d in dstates)


def test_hold_and_hold_grad():
    mask = np.array([[True, False, True]])  # one step, row 1 masked
    mi = MaskInfo(mask, np.float64)
    assert mi.masked(0)
    new, old = np.arange(6.0).reshape(3, 2), -np.ones((3, 2))
    mi.hold(0, new, old)
    np.testing.assert_array_equal(new, [[0, 1], [-1, -1], [4, 5]])
    g = np.arange(6.0).reshape(3, 2)
    carry = mi.hold_grad(0, g)
    np.testing.assert_array_equal(carry, [[0, 0], [2, 3], [0, 0]])
    np.testing.assert_array_equal(g, [[0, 1], [0, 0], [4, 5]])
    assert not MaskInfo(None, np.float64).masked(0)
    assert not MaskInfo(np.ones((1, 3), bool), np.float64).masked(0)


@pytest.mark.parametrize("value,want", [(3, 3), (3.0, 3), (0, 0)])
def test_as_int_accepts(value, want):
    assert as_int("thing", "n", value, 0) == want


@pytest.mark.parametrize("value", [True, 2.5, -1, "3", None])
def test_as_int_rejects(value):
    with pytest.raises(OptionError, match="thing: option n must be an integer >= 0"):
        as_int("thing", "n", value, 0)
