"""Optimizers on flat vectors: parity with torch.optim, state round-trips, option errors."""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

from rnn_spark.engine.optim import OptionError, make_optimizer, make_optimizer_from_config

P = 57
STEPS = 20


def _grads(seed: int, n: int = STEPS, p: int = P, dtype=np.float64) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    # varied magnitudes so eps and bias corrections matter
    scale = np.exp(rng.uniform(-6, 2, size=p))
    return [(rng.standard_normal(p) * scale).astype(dtype) for _ in range(n)]


def _lrs(n: int = STEPS) -> list[float]:
    return [0.05 * (0.9**i) + 0.001 for i in range(n)]


def _run_ours(name, options, dtype=np.float64, seed=0):
    rng = np.random.default_rng(100 + seed)
    params = rng.standard_normal(P).astype(dtype)
    opt = make_optimizer(name, P, dtype, **options)
    for g, lr in zip(_grads(seed, dtype=dtype), _lrs()):
        opt.step(params, g, lr)
    return params, opt


def _run_torch(cls, options, dtype=np.float64, seed=0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(100 + seed)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    p = torch.nn.Parameter(torch.tensor(rng.standard_normal(P).astype(dtype), dtype=tdtype))
    opt = getattr(torch.optim, cls)([p], lr=1.0, **options)
    for g, lr in zip(_grads(seed, dtype=dtype), _lrs()):
        for group in opt.param_groups:
            group["lr"] = lr
        p.grad = torch.tensor(g, dtype=tdtype)
        opt.step()
    return p.detach().numpy().copy()


CASES = [
    ("sgd", {}, "SGD", {}),
    ("sgd", {"weight_decay": 0.1}, "SGD", {"weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9}, "SGD", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}, "SGD", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.8, "dampening": 0.3}, "SGD", {"momentum": 0.8, "dampening": 0.3}),
    (
        "sgd",
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
        "SGD",
        {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
    ),
    ("adam", {}, "Adam", {}),
    ("adam", {"betas": (0.8, 0.99), "eps": 1e-6}, "Adam", {"betas": (0.8, 0.99), "eps": 1e-6}),
    ("adam", {"betas": [0.3, 0.9]}, "Adam", {"betas": (0.3, 0.9)}),
    ("adam", {"weight_decay": 0.05}, "Adam", {"weight_decay": 0.05}),
    ("adam", {"amsgrad": True}, "Adam", {"amsgrad": True}),
    ("adam", {"weight_decay": 0.05, "decoupled_weight_decay": True}, "AdamW", {"weight_decay": 0.05}),
    ("adamw", {}, "AdamW", {}),
    ("adamw", {"weight_decay": 0.1, "amsgrad": True}, "AdamW", {"weight_decay": 0.1, "amsgrad": True}),
    ("rmsprop", {}, "RMSprop", {}),
    ("rmsprop", {"alpha": 0.3}, "RMSprop", {"alpha": 0.3}),
    ("rmsprop", {"momentum": 0.9}, "RMSprop", {"momentum": 0.9}),
    ("rmsprop", {"centered": True}, "RMSprop", {"centered": True}),
    ("rmsprop", {"centered": True, "alpha": 0.3}, "RMSprop", {"centered": True, "alpha": 0.3}),
    (
        "rmsprop",
        {"centered": True, "momentum": 0.5, "weight_decay": 0.01, "eps": 1e-4},
        "RMSprop",
        {"centered": True, "momentum": 0.5, "weight_decay": 0.01, "eps": 1e-4},
    ),
]


@pytest.mark.parametrize("name,ours,cls,theirs", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_matches_torch_float64(name, ours, cls, theirs):
    mine, _ = _run_ours(name, ours)
    ref = _run_torch(cls, theirs)
    np.testing.assert_allclose(mine, ref, rtol=1e-6, atol=1e-12)
    # in float64 the agreement is at rounding level, far inside 1e-6
    assert np.max(np.abs(mine - ref) / np.maximum(np.abs(ref), 1e-3)) < 1e-10


@pytest.mark.parametrize("name,ours,cls,theirs", [CASES[3], CASES[6], CASES[18]], ids=["sgd", "adam", "rmsprop"])
def test_matches_torch_float32(name, ours, cls, theirs):
    mine, opt = _run_ours(name, ours, dtype=np.float32)
    ref = _run_torch(cls, theirs, dtype=np.float32)
    assert mine.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state_vectors().values())
    np.testing.assert_allclose(mine, ref, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize(
    "name,options,keys",
    [
        ("sgd", {}, set()),
        ("sgd", {"momentum": 0.9}, {"momentum_buffer"}),
        ("adam", {}, {"exp_avg", "exp_avg_sq"}),
        ("adam", {"amsgrad": True}, {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
        ("rmsprop", {"centered": True, "momentum": 0.5}, {"square_avg", "grad_avg", "momentum_buffer"}),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_roundtrip_through_npz_continues_bitwise(name, options, keys, dtype):
    grads, lrs = _grads(7, n=30, dtype=dtype), _lrs(30)
    params = np.random.default_rng(1).standard_normal(P).astype(dtype)
    opt = make_optimizer(name, P, dtype, **options)
    for g, lr in zip(grads[:12], lrs[:12]):
        opt.step(params, g, lr)
    state = opt.state_vectors()
    assert set(state) == keys
    buf = io.BytesIO()
    np.savez(buf, params=params, **state)
    saved_count = opt.step_count
    assert saved_count == 12
    for g, lr in zip(grads[12:], lrs[12:]):
        opt.step(params, g, lr)

    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        loaded = {k: z[k] for k in z.files}
    restored_params = loaded.pop("params")
    fresh = make_optimizer(name, P, dtype, **options)
    fresh.load_state(loaded, saved_count)
    for g, lr in zip(grads[12:], lrs[12:]):
        fresh.step(restored_params, g, lr)
    assert fresh.step_count == opt.step_count == 30
    assert restored_params.tobytes() == params.tobytes()


def test_state_vectors_are_copies():
    opt = make_optimizer("adam", P, np.float64)
    params = np.zeros(P)
    opt.step(params, np.ones(P), 0.1)
    state = opt.state_vectors()
    state["exp_avg"][:] = 123.0
    assert not np.any(opt.state_vectors()["exp_avg"] == 123.0)


def test_reset_equals_fresh_optimizer():
    grads = _grads(3)
    a = np.ones(P)
    opt = make_optimizer("rmsprop", P, np.float64, momentum=0.9, centered=True)
    for g in grads:
        opt.step(a, g, 0.01)
    opt.reset()
    assert opt.step_count == 0
    a = np.ones(P)
    b = np.ones(P)
    fresh = make_optimizer("rmsprop", P, np.float64, momentum=0.9, centered=True)
    for g in grads:
        opt.step(a, g, 0.01)
        fresh.step(b, g, 0.01)
    assert a.tobytes() == b.tobytes()


def test_grad_is_not_modified():
    for name, options in [("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
                          ("adam", {"weight_decay": 0.1}), ("rmsprop", {"centered": True})]:
        opt = make_optimizer(name, P, np.float64, **options)
        g = _grads(0, n=1)[0]
        before = g.copy()
        opt.step(np.ones(P), g, 0.1)
        assert g.tobytes() == before.tobytes()


@pytest.mark.parametrize(
    "name,options",
    [("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.1}),
     ("adam", {"weight_decay": 0.1, "amsgrad": True}),
     ("adamw", {}),
     ("rmsprop", {"centered": True, "momentum": 0.9, "weight_decay": 0.1})],
)
def test_step_does_not_allocate_vectors(name, options):
    n = 200_000  # one temporary float64 vector would be 1.6 MB
    opt = make_optimizer(name, n, np.float64, **options)
    params = np.ones(n)
    grad = np.full(n, 0.5)
    opt.step(params, grad, 0.01)  # warm up (first-step branches, caches)
    tracemalloc.start()
    try:
        for _ in range(3):
            opt.step(params, grad, 0.01)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64_000, f"a step allocated {peak} bytes"


def test_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown optimizer 'adagrad'.*adam, adamw, rmsprop, sgd"):
        make_optimizer("adagrad", P, np.float32)


def test_unknown_option_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown option.*betaz.*valid options: amsgrad, betas"):
        make_optimizer("adam", P, np.float32, betaz=(0.9, 0.99))
    with pytest.raises(OptionError, match="momentum"):
        make_optimizer("sgd", P, np.float32, mommentum=0.9)


@pytest.mark.parametrize(
    "name,options,match",
    [
        ("sgd", {"nesterov": True}, "nesterov"),
        ("sgd", {"momentum": 0.9, "nesterov": True, "dampening": 0.1}, "nesterov"),
        ("sgd", {"momentum": -0.1}, "momentum"),
        ("adam", {"betas": (0.9, 1.0)}, "betas"),
        ("adam", {"betas": 0.9}, "betas"),
        ("adam", {"eps": "tiny"}, "eps"),
        ("rmsprop", {"alpha": 1.5}, "alpha"),
        ("adamw", {"decoupled_weight_decay": False}, "decoupled"),
    ],
)
def test_bad_option_values(name, options, match):
    with pytest.raises(OptionError, match=match):
        make_optimizer(name, P, np.float32, **options)


def test_bad_dtype_and_shapes():
    with pytest.raises(ValueError, match="float32 or float64"):
        make_optimizer("sgd", P, np.int32)
    opt = make_optimizer("sgd", P, np.float32)
    with pytest.raises(ValueError, match="shape"):
        opt.step(np.zeros(P + 1, np.float32), np.zeros(P + 1, np.float32), 0.1)
    with pytest.raises(ValueError, match="float64"):
        opt.step(np.zeros(P), np.zeros(P), 0.1)
    with pytest.raises(ValueError, match="learning rate"):
        opt.step(np.zeros(P, np.float32), np.zeros(P, np.float32), -1.0)
    adam = make_optimizer("adam", P, np.float32)
    with pytest.raises(ValueError, match="expected"):
        adam.load_state({"exp_avg": np.zeros(P)}, 3)
    with pytest.raises(ValueError, match="shape"):
        adam.load_state({"exp_avg": np.zeros(P), "exp_avg_sq": np.zeros(3)}, 3)


def test_from_config_roundtrip():
    opt = make_optimizer_from_config({"name": "Adam", "betas": [0.9, 0.98], "eps": 1e-9}, P, np.float32)
    cfg = opt.config()
    assert cfg == {"name": "adam", "betas": [0.9, 0.98], "eps": 1e-9, "weight_decay": 0.0,
                   "amsgrad": False, "decoupled_weight_decay": False}
    again = make_optimizer_from_config(cfg, P, np.float32)
    assert again.options == opt.options
    assert make_optimizer("adamw", P).config()["name"] == "adamw"
    with pytest.raises(OptionError, match="needs a 'name'"):
        make_optimizer_from_config({"lr": 0.1}, P)
    with pytest.raises(OptionError, match="unknown option.*lr"):
        make_optimizer_from_config({"name": "sgd", "lr": 0.1}, P)


def test_engine_modules_import_no_spark_or_io():
    code = (
        "import sys, rnn_spark.engine.optim, rnn_spark.engine.clipping, rnn_spark.engine.schedules;"
        "bad = [m for m in ('pyspark', 'pyarrow', 'click', 'hdfs') if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
