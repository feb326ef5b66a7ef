"""Clipping by global norm: same result as torch.nn.utils.clip_grad_norm_."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rnn_spark.engine.clipping import clip_by_global_norm, global_norm
from rnn_spark.engine.optim import OptionError


def _torch_clip(pieces, max_norm, dtype):
    torch = pytest.importorskip("torch")
    params = []
    for piece in pieces:
        p = torch.nn.Parameter(torch.zeros(piece.shape, dtype=dtype))
        p.grad = torch.tensor(piece.copy(), dtype=dtype)
        params.append(p)
    norm = torch.nn.utils.clip_grad_norm_(params, max_norm)
    return float(norm), np.concatenate([p.grad.numpy().ravel() for p in params])


@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e6])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matches_torch(max_norm, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    grad = (rng.standard_normal(1000) * 0.2).astype(dtype)
    # torch sees the flat vector as several parameters (matrix, bias, ...): same global norm
    cuts = [0, 300, 340, 900, 1000]
    pieces = [grad[a:b] for a, b in zip(cuts, cuts[1:])]
    ref_norm, ref_grad = _torch_clip(pieces, max_norm, getattr(torch, dtype))
    norm = clip_by_global_norm(grad, max_norm)
    rtol = 1e-12 if dtype == "float64" else 2e-6
    assert norm == pytest.approx(ref_norm, rel=rtol)
    np.testing.assert_allclose(grad, ref_grad, rtol=rtol, atol=0)
    assert grad.dtype == np.dtype(dtype)
    if max_norm < ref_norm:
        assert global_norm(grad) == pytest.approx(max_norm, rel=1e-5)


def test_single_tensor_bitwise_float64():
    torch = pytest.importorskip("torch")
    grad = np.random.default_rng(1).standard_normal(513)
    ref_norm, ref_grad = _torch_clip([grad], 1.0, torch.float64)
    norm = clip_by_global_norm(grad, 1.0)
    assert norm == pytest.approx(ref_norm, rel=1e-14)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-14)


@pytest.mark.parametrize("off", [None, 0, 0.0])
def test_off_returns_norm_and_leaves_grad(off):
    grad = np.arange(10, dtype=np.float32)
    before = grad.copy()
    assert clip_by_global_norm(grad, off) == pytest.approx(math.sqrt(285.0))
    assert grad.tobytes() == before.tobytes()


def test_below_threshold_untouched_bitwise():
    grad = np.random.default_rng(2).standard_normal(100).astype(np.float32)
    before = grad.copy()
    norm = clip_by_global_norm(grad, 100.0)
    assert norm < 100.0
    assert grad.tobytes() == before.tobytes()


def test_float32_large_values_do_not_overflow():
    grad = np.full(4, 1e20, dtype=np.float32)
    norm = clip_by_global_norm(grad, 1.0)
    assert norm == pytest.approx(2e20, rel=1e-6)
    assert np.all(np.isfinite(grad))
    assert global_norm(grad) == pytest.approx(1.0, rel=1e-5)


def test_non_finite_leaves_grad_or_raises():
    grad = np.array([1.0, np.nan, 2.0])
    before = grad.copy()
    assert math.isnan(clip_by_global_norm(grad, 1.0))
    np.testing.assert_array_equal(grad, before)  # (this assert treats NaN as equal to NaN)
    grad = np.array([1.0, np.inf])
    assert clip_by_global_norm(grad, 1.0) == math.inf
    assert grad[0] == 1.0
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        clip_by_global_norm(grad, 1.0, error_if_nonfinite=True)


def test_empty_and_bad_arguments():
    assert clip_by_global_norm(np.zeros(0, np.float32), 1.0) == 0.0
    with pytest.raises(OptionError, match="max_norm"):
        clip_by_global_norm(np.ones(3), -1.0)
    with pytest.raises(ValueError, match="max_norm"):
        clip_by_global_norm(np.ones(3), "big")
    with pytest.raises(ValueError, match="flat"):
        clip_by_global_norm(np.ones((3, 3)), 1.0)
