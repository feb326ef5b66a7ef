"""Parity with PyTorch autograd (float64): same weights via state_dict, same loss and gradients."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from ._cases import CELLS, batch, make, mask_for  # noqa: E402

TOL = 1e-6


def torch_rnn(cell, n_in, h, layers=1):
    if cell.startswith("rnn_"):
        return nn.RNN(n_in, h, num_layers=layers, nonlinearity=cell[4:], batch_first=True)
    return {"lstm": nn.LSTM, "gru": nn.GRU}[cell](n_in, h, num_layers=layers, batch_first=True)


class Net(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        if cfg.token_input:
            self.embedding = nn.Embedding(cfg.vocab_size, cfg.embedding_size)
        hs = cfg.hidden_sizes
        assert len(set(hs)) == 1
        self.rnn = torch_rnn(cfg.cell, cfg.in_features, hs[0], len(hs))
        self.head = nn.Linear(hs[-1], cfg.output_size)


def to_torch(sd):
    return {k: torch.from_numpy(np.array(v)) for k, v in sd.items()}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token", [True, False])
def test_state_dict_loads_strict_into_torch_modules(cell, token):
    m = make(cell, token, "lm" if token else "regress", hidden=(6, 6), seed=5)
    net = Net(m.cfg).double()
    net.load_state_dict(to_torch(m.state_dict()), strict=True)
    assert [n for n, _ in net.named_parameters()] == m.param_names
    # unmasked, all steps, with PyTorch's own multi-layer module
    x, y = batch(m, B=3, T=7)
    xt = net.embedding(torch.from_numpy(x)) if token else torch.from_numpy(x)
    out, _ = net.rnn(xt)
    z = net.head(out)
    if token:
        loss = nn.functional.cross_entropy(z.reshape(-1, z.shape[-1]), torch.from_numpy(y).reshape(-1))
    else:
        loss = nn.functional.mse_loss(z, torch.from_numpy(y))
    loss.backward()
    ours, grads, _ = m.loss_and_grads(x, y)
    assert abs(ours - loss.item()) <= TOL * abs(loss.item())
    for n, p in net.named_parameters():
        assert rel(grads[n], p.grad.numpy()) < TOL, n
    # and back: torch weights into our model
    m2 = make(cell, token, m.cfg.task, hidden=(6, 6), seed=6)
    m2.load_state_dict({k: v.detach().numpy() for k, v in net.state_dict().items()})
    assert np.array_equal(m2.flat, m.flat)


def torch_loss_masked(m, sd, x, y, mask):
    """Per-layer torch modules (layers differ in size), a manual time loop reproducing masks."""
    cfg = m.cfg
    params = {k: torch.from_numpy(np.array(v)).requires_grad_(True) for k, v in sd.items()}
    B, T = x.shape[:2]
    mk = torch.ones(B, T, dtype=torch.float64) if mask is None else torch.from_numpy(mask).double()
    if cfg.token_input:
        inp = nn.functional.embedding(torch.from_numpy(x), params["embedding.weight"])
    else:
        inp = torch.from_numpy(x)
    n_in = cfg.in_features
    for k, h in enumerate(cfg.hidden_sizes):
        mod = torch_rnn(cfg.cell, n_in, h).double()
        zeros = torch.zeros(1, B, h, dtype=torch.float64)
        st = (zeros, zeros) if cfg.cell == "lstm" else zeros
        outs = []
        for t in range(T):
            o, new = torch.func.functional_call(
                mod, {f"{s}_l0": params[f"rnn.{s}_l{k}"] for s in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
                (inp[:, t:t + 1], st))
            keep = mk[:, t].reshape(1, B, 1)
            if cfg.cell == "lstm":
                st = tuple(keep * nw + (1 - keep) * old for nw, old in zip(new, st))
                outs.append(st[0][0])
            else:
                st = keep * new + (1 - keep) * st
                outs.append(st[0])
        inp = torch.stack(outs, 1)
        n_in = h
    w, b = params["head.weight"], params["head.bias"]
    if cfg.head_at == "every":
        z = inp @ w.T + b
        sel = mk.bool()
        zs, ys = z[sel], torch.from_numpy(y)[sel]
    else:
        valid = mk.bool().any(1)
        last = T - 1 - torch.argmax(torch.flip(mk, [1]), 1)
        z = inp[torch.arange(B), last] @ w.T + b
        zs, ys = z[valid], torch.from_numpy(y)[valid]
    if cfg.task == "regress":
        loss = nn.functional.mse_loss(zs, ys)
    else:
        loss = nn.functional.cross_entropy(zs, ys)
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in params.items()}


COMBOS = [(tok, task, head) for tok in (True, False) for task, head in
          [("lm", "every"), ("classify", "last"), ("regress", "every"), ("regress", "last")]
          if not (task == "lm" and not tok)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("token,task,head_at", COMBOS)
@pytest.mark.parametrize("mask_kind", ["none", "trailing", "holes"])
def test_loss_and_grads_match_torch(cell, token, task, head_at, mask_kind):
    m = make(cell, token, task, hidden=(5, 4), head_at=head_at, seed=2)
    x, y = batch(m, B=3, T=6, seed=4)
    mask = mask_for(mask_kind)
    t_loss, t_grads = torch_loss_masked(m, m.state_dict(), x, y, mask)
    loss, grads, _ = m.loss_and_grads(x, y, mask)
    assert abs(loss - t_loss) <= TOL * abs(t_loss)
    for n in m.param_names:
        assert rel(grads[n], t_grads[n]) < TOL, n
