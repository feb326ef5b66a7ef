"""The training losses (engine/losses.py): class-weighted, label-smoothed cross-entropy, MAE and
Huber -- PyTorch's definitions forward and backward (float64, 1e-6 relative), finite-difference
gradients through the whole model, and the plain losses' bits unchanged."""

import numpy as np
import pytest

from rnn_spark.engine.gradcheck import numeric_grad, rel_error
from rnn_spark.engine.losses import (LossSpec, mean_squared_error, regression_loss,
                                     softmax_cross_entropy, weighted_cross_entropy)

from ._cases import CELLS, batch, make, mask_for

TOL = 1e-6
CE_SPECS = [LossSpec(class_weights=(0.5, 3.0, 1.25)), LossSpec(label_smoothing=0.2),
            LossSpec(class_weights=(2.0, 0.0, 0.7), label_smoothing=0.1)]
REG_SPECS = [LossSpec(regression="mae"), LossSpec(regression="huber", huber_delta=0.3),
             LossSpec(regression="huber", huber_delta=2.5)]


def _rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


# -- the loss functions against torch ------------------------------------------------------------
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("spec", CE_SPECS, ids=["weights", "smoothing", "both"])
def test_cross_entropy_matches_torch(spec, masked):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    N, C = 9, 3
    z = rng.standard_normal((N, C)) * 2
    t = rng.integers(0, C, N)
    keep = np.ones(N, bool)
    if masked:
        keep[[1, 4, 7]] = False
    zt = torch.tensor(z[keep], requires_grad=True)
    w = None if spec.class_weights is None else torch.tensor(spec.class_weights, dtype=torch.float64)
    ref = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=spec.label_smoothing)(
        zt, torch.from_numpy(t[keep]))
    ref.backward()
    loss_sum, count, _, dz = spec.cross_entropy(z.copy(), t, keep.astype(np.float64) if masked
                                                else None)
    assert count == keep.sum()
    assert abs(loss_sum / count - ref.item()) <= TOL * abs(ref.item())
    g = dz / count  # the model's gradient of the mean
    assert _rel(g[keep], zt.grad.numpy()) < TOL
    assert not g[~keep].any()


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("spec", REG_SPECS, ids=["mae", "huber0.3", "huber2.5"])
def test_regression_losses_match_torch(spec, masked):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    N, O = 8, 3
    pred, targ = rng.standard_normal((N, O)), rng.standard_normal((N, O)) * 1.5
    pred[0, 0] = targ[0, 0]  # an error of exactly 0: torch's L1 gradient there is 0
    keep = np.ones(N, bool)
    if masked:
        keep[[2, 5]] = False
        targ[2] = np.nan  # padded targets may hold anything
    pt = torch.tensor(pred[keep], requires_grad=True)
    fn = (torch.nn.L1Loss() if spec.regression == "mae"
          else torch.nn.HuberLoss(delta=spec.huber_delta))
    ref = fn(pt, torch.from_numpy(targ[keep]))
    ref.backward()
    loss_sum, count, sse, d = spec.regress(pred, targ, keep.astype(np.float64) if masked else None)
    assert abs(loss_sum / count - ref.item()) <= TOL * abs(ref.item())
    assert _rel((d / count)[keep], pt.grad.numpy()) < TOL
    assert not d[~keep].any()
    assert sse == pytest.approx(float(((pred - targ)[keep] ** 2).sum()))


def test_plain_losses_keep_their_bits():
    """No weights, no smoothing, mse: the very functions (and bits) of before."""
    rng = np.random.default_rng(2)
    z, t = rng.standard_normal((6, 4)).astype(np.float32), rng.integers(0, 4, 6)
    a = LossSpec().cross_entropy(z.copy(), t, None)
    b = softmax_cross_entropy(z.copy(), t, None)
    assert a[:3] == b[:3] and np.array_equal(a[3], b[3])
    p, y = rng.standard_normal((5, 2)).astype(np.float32), rng.standard_normal((5, 2)).astype(np.float32)
    a, b = LossSpec().regress(p, y, None), mean_squared_error(p, y, None)
    assert a[:3] == b[:3] and np.array_equal(a[3], b[3])
    # all-one class weights and no smoothing: the plain loss, through the weighted code
    c = weighted_cross_entropy(z.copy(), t, None, np.ones(4), 0.0)
    assert c[0] == pytest.approx(b_ce := softmax_cross_entropy(z.copy(), t, None)[0], rel=1e-6)
    assert b_ce > 0


def test_weights_scale_does_not_matter_and_zero_weight_batches_do_nothing():
    rng = np.random.default_rng(3)
    z, t = rng.standard_normal((7, 3)), rng.integers(0, 3, 7)
    a = weighted_cross_entropy(z.copy(), t, None, np.array([1.0, 4.0, 2.0]), 0.1)
    b = weighted_cross_entropy(z.copy(), t, None, np.array([10.0, 40.0, 20.0]), 0.1)
    assert a[0] == pytest.approx(b[0], rel=1e-12) and np.allclose(a[3], b[3], rtol=1e-12)
    t0 = np.zeros(7, np.intp)  # every target is class 0, which weighs 0: torch gives 0/0
    loss, count, _, dz = weighted_cross_entropy(z.copy(), t0, None, np.array([0.0, 1.0, 1.0]), 0.0)
    assert (loss, count) == (0.0, 7) and not dz.any()


@pytest.mark.parametrize("bad", [dict(regression="l2"), dict(huber_delta=0.0),
                                 dict(label_smoothing=1.0), dict(class_weights=(1.0, -1.0)),
                                 dict(class_weights=(0.0, 0.0))])
def test_spec_refuses_bad_values(bad):
    with pytest.raises(ValueError):
        LossSpec(**bad)


def test_validation_drops_weights_and_smoothing_keeps_the_regression_loss():
    spec = LossSpec(regression="huber", huber_delta=0.5, class_weights=(1.0, 2.0),
                    label_smoothing=0.1)
    assert spec.validation() == LossSpec(regression="huber", huber_delta=0.5)


# -- through the model -------------------------------------------------------------------------
def _mean(m, x, y, mask):
    loss_sum, count, _ = m.evaluate(x, y, mask)
    return loss_sum / count


SPEC_CASES = ([("classify", "last", s) for s in CE_SPECS]
              + [("lm", "every", LossSpec(label_smoothing=0.15))]
              + [("regress", h, s) for s in REG_SPECS for h in ("every", "last")])


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task,head_at,spec", SPEC_CASES)
@pytest.mark.parametrize("mask_kind", ["none", "holes"])
def test_model_gradient_is_the_finite_difference_of_its_loss(cell, task, head_at, spec, mask_kind):
    m = make(cell, task != "regress", task, hidden=(4, 3), head_at=head_at)
    m.loss_spec = spec
    x, y = batch(m, seed=5)
    if task == "regress":
        y = y * 2.0  # errors on both sides of the Huber deltas
    mask = mask_for(mask_kind)
    loss, grad, _ = m.loss_and_flat_grad(x, y, mask)
    assert loss == pytest.approx(_mean(m, x, y, mask), rel=1e-12)
    num = numeric_grad(lambda: _mean(m, x, y, mask), m.flat, 1e-6)
    assert np.abs(grad).max() > 0
    assert rel_error(grad, num) < TOL


TORCH_CASES = [("classify", "last", LossSpec(class_weights=(0.5, 3.0, 1.25), label_smoothing=0.1)),
               ("lm", "every", LossSpec(label_smoothing=0.2)),
               ("regress", "every", LossSpec(regression="mae")),
               ("regress", "last", LossSpec(regression="huber", huber_delta=0.4))]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("task,head_at,spec", TORCH_CASES)
def test_model_loss_and_gradients_match_torch(cell, task, head_at, spec):
    torch = pytest.importorskip("torch")
    from .test_torch_parity import Net, to_torch

    m = make(cell, task != "regress", task, hidden=(5, 5), head_at=head_at, seed=3)
    m.loss_spec = spec
    net = Net(m.cfg).double()
    net.load_state_dict(to_torch(m.state_dict()), strict=True)
    x, y = batch(m, B=4, T=6, seed=7)
    y = y * 2.0 if task == "regress" else y
    xt = net.embedding(torch.from_numpy(x)) if m.cfg.token_input else torch.from_numpy(x)
    out, _ = net.rnn(xt)
    z = net.head(out[:, -1] if head_at == "last" else out)
    if task == "regress":
        fn = (torch.nn.L1Loss() if spec.regression == "mae"
              else torch.nn.HuberLoss(delta=spec.huber_delta))
        loss = fn(z, torch.from_numpy(y))
    else:
        w = None if spec.class_weights is None else torch.tensor(spec.class_weights, dtype=torch.float64)
        fn = torch.nn.CrossEntropyLoss(weight=w, label_smoothing=spec.label_smoothing)
        loss = fn(z.reshape(-1, z.shape[-1]), torch.from_numpy(y).reshape(-1))
    loss.backward()
    ours, grads, _ = m.loss_and_grads(x, y)
    assert abs(ours - loss.item()) <= TOL * abs(loss.item())
    for n, p in net.named_parameters():
        assert _rel(grads[n], p.grad.numpy()) < TOL, n


def test_regression_loss_names():
    with pytest.raises(ValueError, match="not one of"):
        regression_loss(np.zeros((1, 1)), np.zeros((1, 1)), None, kind="l2")
