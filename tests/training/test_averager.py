"""Averagers: the three invariants bitwise, BMUF/Nesterov formulas, state round-trips, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest

from rnn_spark.engine.optim import OptionError, make_optimizer
from rnn_spark.training.averager import make_averager

P = 41


def _deltas(n=8, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(P) * np.exp(rng.uniform(-5, 1, P))).astype(dtype) for _ in range(n)]


def _w0(dtype=np.float64):
    return np.random.default_rng(99).standard_normal(P).astype(dtype)


def _run(av, deltas, dtype=np.float64):
    w = _w0(dtype)
    bcasts = []
    for d in deltas:
        w, b = av.apply(w, d)
        bcasts.append(b.copy())
    return w, bcasts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_average_is_w_plus_delta_and_broadcasts_the_same_array(dtype):
    av = make_averager("average", P, dtype, 4)
    w = _w0(dtype)
    expected = w + _deltas(1, dtype=dtype)[0]
    new_w, b = av.apply(w, _deltas(1, dtype=dtype)[0])
    assert new_w is w and b is w
    assert new_w.tobytes() == expected.tobytes()
    assert av.state_vectors() == {}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name,options",
    [
        ("bmuf", {"eta": 0.0, "zeta": 1.0}),
        ("bmuf", {"eta": 0.0}),
        ("bmuf", {"eta": 0.0, "nesterov": False}),
        ("bmuf", {}),  # W=1 -> default eta = 1 - 1/W = 0
        ("bmuf", {"block_momentum": 0.0, "block_lr": 1.0}),
        ("nesterov", {"mu": 0.0, "lr": 1.0}),
        ("nesterov", {"mu": 0.0, "lr": 1.0, "nesterov": False}),
    ],
)
def test_invariants_equal_average_bitwise(name, options, dtype):
    deltas = _deltas(10, dtype=dtype)
    workers = 1 if options == {} else 3
    ref, ref_b = _run(make_averager("average", P, dtype, workers), deltas, dtype)
    got, got_b = _run(make_averager(name, P, dtype, workers, **options), deltas, dtype)
    assert got.tobytes() == ref.tobytes()
    assert all(a.tobytes() == b.tobytes() for a, b in zip(got_b, ref_b))


def test_w1_h1_average_is_plain_training_bitwise():
    """The driver keeps float64 global weights; one float32 worker takes one step per round."""
    dtype = np.float32
    grads = _deltas(12, seed=5, dtype=dtype)
    # plain single-process training
    plain = _w0(dtype)
    opt = make_optimizer("sgd", P, dtype, momentum=0.9, nesterov=True)
    for g in grads:
        opt.step(plain, g, 0.05)
    # the same through rounds: broadcast weights + optimizer state, delta back, average
    av = make_averager("average", P, np.float64, 1)
    global_w = _w0(dtype).astype(np.float64)
    bcast, state, steps = _w0(dtype), None, 0
    for g in grads:
        local = bcast.copy()
        worker_opt = make_optimizer("sgd", P, dtype, momentum=0.9, nesterov=True)
        if state is not None:
            worker_opt.load_state(state, steps)
        worker_opt.step(local, g, 0.05)
        n = 7  # tokens the worker trained on
        mean_delta = n * (local.astype(np.float64) - bcast.astype(np.float64)) / n
        global_w, b = av.apply(global_w, mean_delta)
        bcast = b.astype(dtype)
        state, steps = worker_opt.state_vectors(), worker_opt.step_count
    assert global_w.astype(dtype).tobytes() == plain.tobytes()


def _bmuf_reference(w, deltas, eta, zeta, nesterov):
    """BMUF written out literally from Chen & Huo (2016), float64."""
    W = w.copy()  # W(t): the stored global model
    D = np.zeros_like(w)  # Delta(t)
    Wg = W.copy()  # W_g(t): the model the next block starts from
    for G in deltas:  # G(t) = mean_i W_i(t) - W_g(t-1): the workers' mean delta
        D = eta * D + zeta * G
        W = W + D
        Wg = W + eta * D if nesterov else W.copy()
    return W, Wg


@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("eta,zeta", [(0.75, 1.0), (0.9, 0.5)])
def test_bmuf_follows_the_paper(eta, zeta, nesterov):
    deltas = _deltas(9)
    av = make_averager("bmuf", P, np.float64, 4, eta=eta, zeta=zeta, nesterov=nesterov)
    got, bcasts = _run(av, deltas)
    ref_w, ref_b = _bmuf_reference(_w0(), deltas, eta, zeta, nesterov)
    np.testing.assert_allclose(got, ref_w, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(bcasts[-1], ref_b, rtol=1e-13, atol=1e-13)
    assert av.options["eta"] == eta
    if nesterov:
        assert not np.array_equal(bcasts[-1], got)  # look-ahead broadcast differs from the model


def test_bmuf_defaults():
    assert make_averager("bmuf", P, np.float32, 8).options == {"eta": 0.5, "zeta": 1.0, "nesterov": True}
    assert make_averager("bmuf", P, np.float32, 1).options["eta"] == 0.0


def test_bmuf_recovers_workers_progress_on_a_quadratic():
    """W workers minimising the same quadratic: BMUF's block momentum compensates the 1/W averaging."""
    target = np.linspace(-1, 1, P)
    results = {}
    for name in ("average", "bmuf"):
        av = make_averager(name, P, np.float64, 4)
        w = np.zeros(P)
        b = w
        for _ in range(30):
            local = b.copy()
            local += 0.05 * (target - local)  # each worker's one step, identical data
            w, b = av.apply(w, local - b)
        results[name] = np.linalg.norm(w - target)
    assert results["bmuf"] < results["average"]


@pytest.mark.parametrize("nesterov", [True, False])
def test_nesterov_outer_matches_torch_sgd(nesterov):
    torch = pytest.importorskip("torch")
    deltas = _deltas(10)
    av = make_averager("nesterov", P, np.float64, 4, nesterov=nesterov)
    assert (av.options["lr"], av.options["mu"]) == (0.7, 0.9)  # DiLoCo's values
    got, _ = _run(av, deltas)
    p = torch.nn.Parameter(torch.tensor(_w0()))
    outer = torch.optim.SGD([p], lr=0.7, momentum=0.9, nesterov=nesterov)
    for d in deltas:
        p.grad = torch.tensor(-d)  # outer gradient = -mean delta
        outer.step()
    np.testing.assert_allclose(got, p.detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "name,options,keys",
    [("bmuf", {}, {"block_delta"}), ("bmuf", {"nesterov": False}, {"block_delta"}),
     ("nesterov", {}, {"momentum_buffer"}), ("average", {}, set())],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_roundtrip_continues_bitwise(name, options, keys, dtype):
    deltas = _deltas(10, seed=3, dtype=dtype)
    av = make_averager(name, P, dtype, 4, **options)
    w = _w0(dtype)
    for d in deltas[:5]:
        w, b = av.apply(w, d)
    state = av.state_vectors()
    assert set(state) == keys
    buf = io.BytesIO()
    np.savez(buf, weights=w, **state)
    saved_b = b.copy()
    for d in deltas[5:]:
        w, b = av.apply(w, d)

    buf.seek(0)
    with np.load(buf, allow_pickle=False) as z:
        loaded = {k: z[k] for k in z.files}
    w2 = loaded.pop("weights")
    av2 = make_averager(name, P, dtype, 4, **options)
    av2.load_state(loaded)
    assert av2.broadcast_weights(w2).tobytes() == saved_b.tobytes()
    for d in deltas[5:]:
        w2, b2 = av2.apply(w2, d)
    assert w2.tobytes() == w.tobytes() and b2.tobytes() == b.tobytes()


def test_apply_leaves_delta_alone_and_reset():
    av = make_averager("nesterov", P, np.float64, 2)
    d = _deltas(1)[0]
    before = d.copy()
    av.apply(_w0(), d)
    assert d.tobytes() == before.tobytes()
    assert np.any(av.state_vectors()["momentum_buffer"] != 0)
    av.reset()
    assert not np.any(av.state_vectors()["momentum_buffer"])


def test_errors():
    with pytest.raises(ValueError, match="unknown averager 'mean'; valid averagers: average, bmuf, nesterov"):
        make_averager("mean", P, np.float32, 2)
    with pytest.raises(OptionError, match="unknown option.*etta.*valid options:.*eta"):
        make_averager("bmuf", P, np.float32, 2, etta=0.5)
    with pytest.raises(OptionError, match="eta"):
        make_averager("bmuf", P, np.float32, 2, eta=1.0)
    with pytest.raises(OptionError, match="not both"):
        make_averager("bmuf", P, np.float32, 2, eta=0.5, block_momentum=0.5)
    with pytest.raises(OptionError, match="mu"):
        make_averager("nesterov", P, np.float32, 2, mu=-0.1)
    with pytest.raises(OptionError, match="unknown option"):
        make_averager("average", P, np.float32, 2, lr=1.0)
    with pytest.raises(OptionError, match="num_workers"):
        make_averager("average", P, np.float32, 0)
    av = make_averager("bmuf", P, np.float32, 2)
    with pytest.raises(ValueError, match="shape"):
        av.apply(np.zeros(P + 1, np.float32), np.zeros(P + 1, np.float32))
    with pytest.raises(ValueError, match="expected"):
        av.load_state({})
    with pytest.raises(ValueError, match="shape"):
        av.load_state({"block_delta": np.zeros(3)})


@pytest.mark.parametrize("workers,eta", [(1, 0.0), (2, 0.5), (3, 0.5), (8, 0.5), (32, 0.5)])
def test_bmuf_default_block_momentum_is_the_papers_capped_at_half(workers, eta):
    assert make_averager("bmuf", 4, np.float64, workers).options["eta"] == eta
