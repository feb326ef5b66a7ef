"""A PyTorch reference written from PyTorch's own cells (autograd gradients, float64), with
dropout masks fed in from outside and bidirectional layers reversing each row's valid steps:
what the engine must equal (tests/engine/test_dropout_parity.py, test_bidirectional.py)."""

import numpy as np
import torch
from torch import nn

F = nn.functional


def params_of(sd):
    return {k: torch.from_numpy(np.array(v)).requires_grad_(True) for k, v in sd.items()}


def torch_cell(kind, n_in, h):
    if kind == "lstm":
        return nn.LSTMCell(n_in, h).double()
    return nn.RNNCell(n_in, h, nonlinearity=kind[4:]).double()


def cell_step(kind, p, x, state, rm, mod=None):
    """One step of one cell; ``rm`` [B, H] (or None) multiplies h_{t-1} in the recurrent product
    only (Keras / Gal & Ghahramani): LSTM and RNN through torch's own cells (h_{t-1} enters
    nothing else), GRU written out from torch's formula (its z * h_{t-1} keeps h_{t-1})."""
    w_ih, w_hh, b_ih, b_hh = p
    if kind != "gru":
        names = dict(zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), p))
        mod = mod or torch_cell(kind, w_ih.shape[1], w_hh.shape[1])
        if kind == "lstm":
            h, c = state
            return torch.func.functional_call(mod, names, (x, (h if rm is None else h * rm, c)))
        return torch.func.functional_call(mod, names, (x, state if rm is None else state * rm))
    hd = state if rm is None else state * rm
    ir, iz, i_n = (x @ w_ih.T + b_ih).chunk(3, 1)
    hr, hz, hn = (hd @ w_hh.T + b_hh).chunk(3, 1)
    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
    n = torch.tanh(i_n + r * hn)
    return (1 - z) * n + z * state


def reverse_index(mk):
    """[B, T] long: each row's valid steps (up to its last unmasked one) reversed, the rest kept."""
    B, T = mk.shape
    t = torch.arange(T)[None]
    length = torch.where(mk.bool().any(1), T - torch.argmax(torch.flip(mk, [1]), 1), 0)[:, None]
    return torch.where(t < length, length - 1 - t, t)


def run_direction(kind, p, x, mk, rm, H):
    """x [B, T, In], mk [B, T] (1 = step computed, 0 = state carried) -> outputs [B, T, H]."""
    B, T = mk.shape
    zeros = torch.zeros(B, H, dtype=torch.float64)
    st = (zeros, zeros) if kind == "lstm" else zeros
    mod = None if kind == "gru" else torch_cell(kind, x.shape[2], H)
    outs = []
    for t in range(T):
        new = cell_step(kind, p, x[:, t], st, rm, mod)
        keep = mk[:, t:t + 1]
        if kind == "lstm":
            st = tuple(keep * a + (1 - keep) * b for a, b in zip(new, st))
            outs.append(st[0])
        else:
            st = keep * new + (1 - keep) * st
            outs.append(st)
    return torch.stack(outs, 1)


def torch_loss(m, x, y, mask, masks=None):
    """Loss and gradients of the engine model ``m`` (its config and weights) computed by torch;
    ``masks``: the engine's dropout Masks to apply (time-major arrays), or None."""
    cfg = m.cfg
    params = params_of(m.state_dict())
    B, T = x.shape[:2]
    D = cfg.directions
    mk = torch.ones(B, T, dtype=torch.float64) if mask is None else torch.from_numpy(mask).double()
    tm = (lambda a: None if a is None else torch.from_numpy(np.ascontiguousarray(
        np.moveaxis(np.asarray(a), 0, 1))))  # time-major mask -> batch-major
    if cfg.token_input:
        inp = F.embedding(torch.from_numpy(x), params["embedding.weight"])
        if masks is not None and masks.embedding is not None:
            inp = inp * tm(masks.embedding)[:, :, None]
    else:
        inp = torch.from_numpy(x)
    rev = reverse_index(mk)
    flip = (lambda a: torch.gather(a, 1, rev[:, :, None].expand(-1, -1, a.shape[2])))
    mk_rev = torch.gather(mk, 1, rev)
    for k, h in enumerate(cfg.hidden_sizes):
        outs = []
        for d in range(D):
            sfx = "_reverse" if d else ""
            p = [params[f"rnn.{w}_l{k}{sfx}"] for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            rm = None
            if masks is not None and masks.recurrent:
                rm = torch.from_numpy(masks.recurrent[k * D + d])
            if d == 0:
                outs.append(run_direction(cfg.cell, p, inp, mk, rm, h))
            else:
                outs.append(flip(run_direction(cfg.cell, p, flip(inp), mk_rev, rm, h)))
        inp = torch.cat(outs, 2)
        if masks is not None and k < len(masks.between) and masks.between[k] is not None:
            inp = inp * tm(masks.between[k])
    w, b = params["head.weight"], params["head.bias"]
    head = None if masks is None else masks.head
    if cfg.head_at == "every":
        hin = inp if head is None else inp * tm(head)
        sel = mk.bool()
        zs, ys = (hin @ w.T + b)[sel], torch.from_numpy(y)[sel]
    else:
        valid = mk.bool().any(1)
        last = T - 1 - torch.argmax(torch.flip(mk, [1]), 1)
        hin = inp[torch.arange(B), last]
        if D == 2:
            H = cfg.hidden_sizes[-1]
            hin = torch.cat([hin[:, :H], inp[:, 0, H:]], 1)
        if head is not None:
            hin = hin * torch.from_numpy(head)
        zs, ys = (hin @ w.T + b)[valid], torch.from_numpy(y)[valid]
    loss = F.mse_loss(zs, ys) if cfg.task == "regress" else F.cross_entropy(zs, ys)
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in params.items()}


def rel(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-12))
