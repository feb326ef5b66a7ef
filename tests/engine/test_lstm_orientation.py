"""The LSTM's per-step recurrent GEMMs run feature-major from lstm.FM_MIN_HIDDEN on (a speed
choice only): both orientations must give correct, matching and repeatable gradients. The
other engine tests use small hidden sizes, so here the threshold is lowered to reach that path."""

import numpy as np
import pytest

from rnn_spark.engine import lstm
from rnn_spark.engine.gradcheck import check_model

from ._cases import batch, make, mask_for


@pytest.fixture
def feature_major(monkeypatch):
    monkeypatch.setattr(lstm, "FM_MIN_HIDDEN", 1)


@pytest.mark.parametrize("token,task,head_at", [(True, "lm", "every"), (False, "regress", "last")])
@pytest.mark.parametrize("mask_kind", ["none", "holes"])
@pytest.mark.parametrize("k2", [None, 3])
def test_feature_major_gradcheck(feature_major, token, task, head_at, mask_kind, k2):
    m = make("lstm", token, task, hidden=(5, 4), head_at=head_at)
    x, y = batch(m)
    err, g, _ = check_model(m, x, y, mask_for(mask_kind), k2=k2)
    assert np.abs(g).max() > 0
    assert err < 1e-6, err


@pytest.mark.parametrize("mask_kind", ["none", "trailing", "holes"])
def test_orientations_agree_and_repeat(monkeypatch, mask_kind):
    m = make("lstm", True, "lm", hidden=(6, 5))
    x, y = batch(m)
    mask = mask_for(mask_kind)
    ref = m.loss_and_flat_grad(x, y, mask=mask)
    monkeypatch.setattr(lstm, "FM_MIN_HIDDEN", 1)
    got = m.loss_and_flat_grad(x, y, mask=mask)
    again = m.loss_and_flat_grad(x, y, mask=mask)
    assert got[0] == pytest.approx(ref[0], rel=1e-12)
    np.testing.assert_allclose(got[1], ref[1], rtol=1e-10, atol=1e-12)
    for a, b in zip(got[2], ref[2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(again[1], got[1])  # bitwise repeatable
    h_fm, _ = m.hidden(x, mask)
    monkeypatch.setattr(lstm, "FM_MIN_HIDDEN", 10**9)
    h_bm, _ = m.hidden(x, mask)
    np.testing.assert_allclose(h_fm, h_bm, rtol=1e-12, atol=1e-14)
