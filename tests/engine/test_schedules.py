"""Learning-rate schedules: closed forms equal torch's schedulers stepped once per update."""

from __future__ import annotations

import math

import pytest

from rnn_spark.engine.optim import OptionError
from rnn_spark.engine.schedules import make_schedule


def _torch_lrs(factory, n, base_lr=0.1):
    """Learning rates torch uses for updates 0..n-1 (scheduler.step() once after each update)."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=base_lr)
    sched = factory(torch.optim.lr_scheduler, opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def _ours(sched, n):
    return [sched(i) for i in range(n)]


def test_constant():
    s = make_schedule("constant", 0.3)
    assert _ours(s, 5) == [0.3] * 5


def test_step_matches_torch():
    ref = _torch_lrs(lambda L, o: L.StepLR(o, step_size=7, gamma=0.5), 40)
    assert _ours(make_schedule("step", 0.1, step_size=7, gamma=0.5), 40) == pytest.approx(ref, rel=1e-12)


def test_multistep_matches_torch():
    ref = _torch_lrs(lambda L, o: L.MultiStepLR(o, milestones=[3, 10, 11], gamma=0.3), 20)
    ours = _ours(make_schedule("multistep", 0.1, milestones=[3, 10, 11], gamma=0.3), 20)
    assert ours == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("min_lr", [0.0, 0.01])
def test_cosine_matches_torch_then_stays_at_min(min_lr):
    total = 25
    ref = _torch_lrs(lambda L, o: L.CosineAnnealingLR(o, T_max=total, eta_min=min_lr), total + 1)
    s = make_schedule("cosine", 0.1, total_steps=total, min_lr=min_lr)
    assert _ours(s, total + 1) == pytest.approx(ref, rel=1e-9, abs=1e-15)
    assert s(0) == 0.1
    assert s(total) == min_lr
    assert [s(total + k) for k in (1, 10, 1000)] == [min_lr] * 3  # torch would rise again


def test_cosine_closed_form():
    s = make_schedule("cosine", 1.0, total_steps=100, min_lr=0.1)
    assert s(50) == pytest.approx(0.55)
    assert s(25) == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2)


def test_warmup_matches_torch_linear_lr_chained_with_step():
    def factory(L, o):
        return L.ChainedScheduler([L.LinearLR(o, start_factor=0.25, total_iters=5), L.StepLR(o, 4, 0.5)])

    ref = _torch_lrs(factory, 20)
    s = make_schedule("step", 0.1, step_size=4, gamma=0.5, warmup_steps=5, warmup_start_factor=0.25)
    assert _ours(s, 20) == pytest.approx(ref, rel=1e-12)


def test_warmup_from_zero_composes_with_cosine():
    s = make_schedule("cosine", 0.2, total_steps=50, warmup_steps=10)
    plain = make_schedule("cosine", 0.2, total_steps=50)
    assert s(0) == 0.0
    for i in range(1, 10):
        assert s(i) == pytest.approx(plain(i) * i / 10)
        assert s(i) > s(i - 1)
    for i in range(10, 60):
        assert s(i) == plain(i)


def test_warmup_on_constant():
    s = make_schedule("constant", 1.0, warmup_steps=4, warmup_start_factor=0.2)
    assert _ours(s, 6) == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0, 1.0])


def test_config_roundtrip():
    s = make_schedule("Cosine", 0.1, total_steps=10, warmup_steps=2)
    cfg = s.config()
    assert cfg["name"] == "cosine"
    again = make_schedule(**cfg)
    assert _ours(again, 15) == _ours(s, 15)


@pytest.mark.parametrize(
    "name,opts,match",
    [
        ("linear", {}, "unknown schedule 'linear'; valid schedules: constant, step, multistep, cosine"),
        ("step", {}, "missing required option.*step_size"),
        ("step", {"step_size": 0}, "step_size"),
        ("step", {"step_size": 2, "gama": 0.5}, "unknown option.*gama.*valid options:.*gamma"),
        ("cosine", {"total_steps": 2.5}, "total_steps"),
        ("cosine", {"total_steps": 10, "warmup_start_factor": 2}, "warmup_start_factor"),
        ("multistep", {"milestones": [5, 2]}, "increasing"),
        ("constant", {"warmup_steps": -1}, "warmup_steps"),
    ],
)
def test_errors(name, opts, match):
    with pytest.raises(OptionError, match=match):
        make_schedule(name, 0.1, **opts)


def test_negative_step_and_base_lr():
    with pytest.raises(ValueError, match="step"):
        make_schedule("constant", 0.1)(-1)
    with pytest.raises(ValueError, match="base_lr"):
        make_schedule("constant", -0.1)
