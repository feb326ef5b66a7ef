"""Model: [embedding | dense input] -> stacked recurrent layers -> linear head, in pure NumPy.

All parameters live in one flat vector ``model.flat``; ``model.params`` maps PyTorch names
(``embedding.weight``, ``rnn.weight_ih_l{k}``, ``rnn.weight_hh_l{k}``, ``rnn.bias_ih_l{k}``,
``rnn.bias_hh_l{k}``, ``head.weight``, ``head.bias``) to views of it with PyTorch shapes.
Public arrays are batch-first (``[B, T, ...]``); the engine works time-major inside.
Each layer is a cell (cells.py picks it by name) driven through the contract in cellbase.py:
``prepare`` -> ``Projection.forward`` -> ``forward``, and on the way back ``backward`` -> one GEMM
per weight gradient over the whole window (GradRows).
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .buffers import Workspace, aligned_empty, transpose_into
from .cellbase import MaskInfo
from .cells import make_cell
from .config import ModelConfig
from .gradrows import GradRows
from .losses import LossSpec
from .projection import Projection

__all__ = ["Model", "ModelConfig"]


class Model:
    """A recurrent network with its parameters: ``Model(ModelConfig(...), seed=0)``.

    ``flat`` holds every parameter in one vector and ``params`` maps the PyTorch names to views of
    it (``state_dict()`` / ``load_state_dict()`` copy them in and out, strict on names and shapes).
    Initialisation follows PyTorch's defaults and depends only on ``seed``. Inputs are token ids
    ``[B, T]`` or features ``[B, T, D]``, with an optional mask ``[B, T]`` (False = padding: the
    state is carried, no loss); a state is a list with one entry per layer (``h``, or ``(h, c)``
    for the LSTM). ``loss_and_flat_grad`` is one window of (truncated) BPTT; ``forward`` and
    ``evaluate`` run without gradients."""

    loss_spec = LossSpec()  # the loss _loss computes (engine/losses.py): plain CE / MSE unless set

    def __init__(self, cfg: ModelConfig | dict, seed: int = 0) -> None:
        if isinstance(cfg, dict):
            cfg = ModelConfig.from_dict(cfg)
        self.cfg = cfg
        self.dtype = np.dtype(cfg.dtype)
        self.use_table: bool | None = None  # token projection path; None = choose by size
        specs: list[tuple[str, tuple[int, ...]]] = []
        if cfg.token_input:
            specs.append(("embedding.weight", (cfg.vocab_size, cfg.embedding_size)))
        self.cells = []
        n_in = cfg.in_features
        for k, h in enumerate(cfg.hidden_sizes):
            cell = make_cell(cfg.cell, n_in, h)
            G = cell.gates
            specs += [(f"rnn.weight_ih_l{k}", (G * h, n_in)), (f"rnn.weight_hh_l{k}", (G * h, h)),
                      (f"rnn.bias_ih_l{k}", (G * h,)), (f"rnn.bias_hh_l{k}", (G * h,))]
            self.cells.append(cell)
            n_in = h
        specs += [("head.weight", (cfg.output_size, n_in)), ("head.bias", (cfg.output_size,))]
        self._specs = specs
        total = sum(int(np.prod(s)) for _, s in specs)
        self.flat = aligned_empty((total,), self.dtype)
        self.flat[...] = 0
        self.params = self._views(self.flat)
        self._init(seed)

    # -- parameters -----------------------------------------------------------------------------
    def _views(self, vec: np.ndarray) -> "OrderedDict[str, np.ndarray]":
        out, off = OrderedDict(), 0
        for name, shape in self._specs:
            n = int(np.prod(shape))
            out[name] = vec[off:off + n].reshape(shape)
            off += n
        return out

    def _init(self, seed: int) -> None:
        """PyTorch defaults: N(0,1) embedding; U(+-1/sqrt(H)) recurrent; nn.Linear head."""
        rng = np.random.default_rng(seed)
        work = np.zeros(self.flat.size, np.float64)  # float64 then one rounding: f32 == f64 rounded
        params = self._views(work)
        for name, p in params.items():
            if name == "embedding.weight":
                p[...] = rng.standard_normal(p.shape)
            elif name.startswith("rnn."):
                k = 1.0 / np.sqrt(self.cfg.hidden_sizes[int(name.rsplit("_l", 1)[1])])
                p[...] = rng.uniform(-k, k, p.shape)
            else:
                k = 1.0 / np.sqrt(self.cfg.hidden_sizes[-1])
                p[...] = rng.uniform(-k, k, p.shape)
        if self.cfg.cell == "lstm" and self.cfg.forget_bias:
            for k, h in enumerate(self.cfg.hidden_sizes):
                params[f"rnn.bias_hh_l{k}"][h:2 * h] += self.cfg.forget_bias
        self.flat[...] = work

    @property
    def param_names(self) -> list[str]:
        return [n for n, _ in self._specs]

    @property
    def num_params(self) -> int:
        return int(self.flat.size)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {n: p.copy() for n, p in self.params.items()}

    def load_state_dict(self, d: dict) -> None:
        missing = [n for n in self.params if n not in d]
        extra = [n for n in d if n not in self.params]
        if missing or extra:
            raise ValueError(f"state dict does not match the model: missing {missing}, unexpected {extra}")
        for n, p in self.params.items():
            v = np.asarray(d[n])
            if v.shape != p.shape:
                raise ValueError(f"state dict entry {n}: shape {v.shape}, the model needs {p.shape}")
        for n, p in self.params.items():
            p[...] = np.asarray(d[n], dtype=self.dtype)

    def set_flat(self, vec: np.ndarray) -> None:
        vec = np.asarray(vec)
        if vec.shape != self.flat.shape:
            raise ValueError(f"flat vector has shape {vec.shape}, the model needs {self.flat.shape}")
        self.flat[...] = vec

    def grad_views(self, flat_grad: np.ndarray) -> "OrderedDict[str, np.ndarray]":
        return self._views(flat_grad)

    def zero_state(self, batch: int) -> list:
        return [cell.zero_state(batch, self.dtype) for cell in self.cells]

    # -- scratch buffers ---------------------------------------------------------------------------
    def _ws(self) -> list:
        """This thread's workspaces: one per layer, then one for the head (see ``Workspace``)."""
        tls = self.__dict__.get("_tls")
        if tls is None:
            tls = self.__dict__.setdefault("_tls", threading.local())
        ws = getattr(tls, "ws", None)
        if ws is None:
            ws = tls.ws = [Workspace() for _ in range(len(self.cells) + 1)]
        return ws

    def __getstate__(self):
        d = dict(self.__dict__)
        d.pop("_tls", None)
        return d

    # -- input checks ---------------------------------------------------------------------------
    def _prepare(self, inputs, mask):
        cfg = self.cfg
        x = np.asarray(inputs)
        if cfg.token_input:
            if x.ndim != 2 or not np.issubdtype(x.dtype, np.integer):
                raise ValueError(f"inputs: expected integer token ids [B, T], got {x.dtype} {x.shape}")
            if x.size and (x.min() < 0 or x.max() >= cfg.vocab_size):
                raise ValueError(f"inputs: token ids must be in [0, {cfg.vocab_size}), "
                                 f"got min {x.min()} max {x.max()}")
            xt = np.ascontiguousarray(x.T, dtype=np.intp)
        else:
            if x.ndim != 3 or x.shape[2] != cfg.input_size:
                raise ValueError(f"inputs: expected float features [B, T, {cfg.input_size}], got {x.shape}")
            xt = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=self.dtype)
        B, T = x.shape[:2]
        mt = None
        if mask is not None:
            m = np.asarray(mask)
            if m.shape != (B, T):
                raise ValueError(f"mask: expected shape {(B, T)}, got {m.shape}")
            mt = np.ascontiguousarray(m.T != 0)
        return xt, mt, B, T

    # -- forward / backward ----------------------------------------------------------------------
    def _forward(self, xt, mt, initial_state, B):
        mi = MaskInfo(mt, self.dtype)
        state = initial_state if initial_state is not None else self.zero_state(B)
        if len(state) != len(self.cells):
            raise ValueError(f"initial_state: expected {len(self.cells)} layer entries, got {len(state)}")
        caches, final, y = [], [], xt
        wss = self._ws()
        for k, cell in enumerate(self.cells):
            emb = self.params["embedding.weight"] if (k == 0 and self.cfg.token_input) else None
            prep = cell.prepare(self.params[f"rnn.weight_hh_l{k}"], self.params[f"rnn.bias_hh_l{k}"], B,
                                wss[k])
            proj = Projection(cell, self.params[f"rnn.weight_ih_l{k}"], self.params[f"rnn.bias_ih_l{k}"],
                              self.params[f"rnn.bias_hh_l{k}"], prep, emb, self.use_table)
            xp = proj.forward(y)  # [T, B, G*H] or gate-major [G, T, B, H]
            fw = cell.forward(xp, state[k], prep, mi)
            y = fw.y  # [T, B, H]
            caches.append((proj, prep, fw.cache))
            final.append(fw.final)
        return y, final, caches, mi

    def _head(self, y, mt, row_mask):
        """Head input [N, H] and (for last-step heads) the step index and validity per row."""
        T, B, H = y.shape
        if self.cfg.head_at == "every":
            return y.reshape(T * B, H), None, None
        if mt is None:
            idx, valid = np.full(B, T - 1), np.ones(B, bool)
        else:
            valid = mt.any(axis=0)
            idx = T - 1 - np.argmax(mt[::-1], axis=0)
        if row_mask is not None:
            valid = valid & np.asarray(row_mask, dtype=bool)
        return y[idx, np.arange(B)], idx, valid

    def _loss(self, logits, targets, mt, valid, B, T, need_grad):
        cfg = self.cfg
        tg = np.asarray(targets)
        if cfg.head_at == "every":
            w = None if mt is None else mt.reshape(-1).astype(self.dtype)
        else:
            w = None if valid.all() else valid.astype(self.dtype)
        if cfg.task in ("lm", "classify"):
            want = (B, T) if cfg.head_at == "every" else (B,)
            if tg.shape != want or not np.issubdtype(tg.dtype, np.integer):
                raise ValueError(f"targets: expected integer class ids of shape {want}, got {tg.dtype} {tg.shape}")
            t = (tg.T.reshape(-1) if cfg.head_at == "every" else tg).astype(np.intp)
            if w is not None:  # padded targets may hold anything
                t = np.where(w != 0, t, 0)
            if t.size and (t.min() < 0 or t.max() >= cfg.output_size):
                raise ValueError(f"targets: class ids must be in [0, {cfg.output_size}), "
                                 f"got min {t.min()} max {t.max()} (unmasked targets)")
            return self.loss_spec.cross_entropy(logits, t, w, need_grad)
        O = cfg.output_size
        want = (B, T, O) if cfg.head_at == "every" else (B, O)
        if tg.shape != want:
            raise ValueError(f"targets: expected float values of shape {want}, got {tg.shape}")
        t = tg.transpose(1, 0, 2).reshape(-1, O) if cfg.head_at == "every" else tg
        return self.loss_spec.regress(logits, t.astype(self.dtype), w, need_grad)

    def _run(self, inputs, targets, mask, initial_state, row_mask, need_grad, k2=None):
        xt, mt, B, T = self._prepare(inputs, mask)
        y, final, caches, mi = self._forward(xt, mt, initial_state, B)
        hin, idx, valid = self._head(y, mt, row_mask)
        wh, bh = self.params["head.weight"], self.params["head.bias"]
        whT = aligned_empty(wh.shape[::-1], wh.dtype)  # aligned copies: faster GEMMs
        transpose_into(whT, wh)
        hws = self._ws()[-1]
        logits = np.matmul(hin, whT, out=hws.get("logits", (hin.shape[0], whT.shape[1]), self.dtype))
        logits += bh
        loss_sum, count, metric, dlog = self._loss(logits, targets, mt, valid, B, T, need_grad)
        if not need_grad:
            return loss_sum, count, metric, final
        grad = np.zeros_like(self.flat)
        if count == 0:
            return 0.0, 0, grad, final
        t0 = 0 if k2 is None else max(0, T - int(k2))
        if k2 is not None and int(k2) < 1:
            raise ValueError(f"k2 must be >= 1, got {k2}")
        g = self._views(grad)
        dlog *= 1.0 / count
        np.matmul(dlog.T, hin, out=g["head.weight"])
        np.sum(dlog, axis=0, out=g["head.bias"])
        wha = aligned_empty(wh.shape, wh.dtype)
        wha[...] = wh
        dh = np.matmul(dlog, wha, out=hws.get("dh", (dlog.shape[0], wha.shape[1]), self.dtype))
        if idx is None:
            dy = dh.reshape(T, B, -1)
        else:
            dy = hws.get("dy", y.shape, self.dtype)
            dy.fill(0)
            dy[idx[valid], np.flatnonzero(valid)] = dh[valid]
        for k in range(len(self.cells) - 1, -1, -1):
            cell = self.cells[k]
            proj, prep, cache = caches[k]
            bw = cell.backward(dy, cache, prep, mi, t0)
            dxp, dgh, hprev = bw.dxp, bw.dgh, bw.hprev
            H = hprev.shape[2]
            gr = GradRows(dgh, t0, prep.gate_major)
            dw = gr.t_at(hprev[t0:].reshape(-1, H), out=hws.get(("dwhh", k), (gr.GH * H,), self.dtype))
            cell.to_torch_into(dw, g[f"rnn.weight_hh_l{k}"])
            dx = None if k == 0 else hws.get(("dx", k), (T, B, proj.w_int.shape[1]), self.dtype)
            xsum = proj.backward(dxp, t0, g[f"rnn.weight_ih_l{k}"], g[f"rnn.bias_ih_l{k}"],
                                 g.get("embedding.weight"), dx)
            # cells whose recurrent and input pre-activations share one gradient (RNN, LSTM)
            # reuse the projection's row sum for b_hh
            cell.to_torch_into(xsum if dgh is dxp else gr.rowsum(), g[f"rnn.bias_hh_l{k}"])
            dy = dx
        return loss_sum / count, count, grad, final

    # -- public API -----------------------------------------------------------------------------
    def loss_and_flat_grad(self, inputs, targets, mask=None, initial_state=None, k2=None, row_mask=None):
        """Mean loss over unmasked targets, its gradient as one flat vector, and the final state.

        ``k2``: truncated backward over the last k2 steps of this window (None = full BPTT).
        ``row_mask`` (last-step heads only): bool [B], rows that carry a target in this call
        (default: every row with at least one unmasked step).
        """
        loss, _, grad, final = self._run(inputs, targets, mask, initial_state, row_mask, True, k2)
        return float(loss), grad, final

    def loss_and_grads(self, inputs, targets, mask=None, initial_state=None, k2=None, row_mask=None):
        loss, grad, final = self.loss_and_flat_grad(inputs, targets, mask, initial_state, k2, row_mask)
        return loss, self._views(grad), final

    def loss_and_flat_grad_count(self, inputs, targets, mask=None, initial_state=None, k2=None,
                                 row_mask=None):
        """As loss_and_flat_grad, plus the number of targets the mean was taken over."""
        loss, count, grad, final = self._run(inputs, targets, mask, initial_state, row_mask, True, k2)
        return float(loss), int(count), grad, final

    def forward(self, inputs, mask=None, initial_state=None):
        """Head outputs (logits or regression values), batch-first, and the final state."""
        xt, mt, B, T = self._prepare(inputs, mask)
        y, final, _, _ = self._forward(xt, mt, initial_state, B)
        hin, _, _ = self._head(y, mt, None)
        out = hin @ self.params["head.weight"].T + self.params["head.bias"]
        if self.cfg.head_at == "every":
            out = np.ascontiguousarray(out.reshape(T, B, -1).transpose(1, 0, 2))
        return out, final

    def hidden(self, inputs, mask=None, initial_state=None):
        """Top-layer outputs ``[B, T, H_top]`` (masked steps hold the carried state) and the final state."""
        xt, mt, B, T = self._prepare(inputs, mask)
        y, final, _, _ = self._forward(xt, mt, initial_state, B)
        return y.transpose(1, 0, 2).copy(), final  # y lives in a reused workspace: always copy

    def evaluate(self, inputs, targets, mask=None, initial_state=None, row_mask=None,
                 return_metrics=False):
        """``(loss_sum, count, final_state)``: summed loss over unmasked targets, number of targets.

        With ``return_metrics=True`` a fourth item, a dict: ``{"correct": int}`` (argmax hits) for
        lm/classify, ``{"sse": float}`` (sum of squared errors over all outputs) for regress.
        """
        loss_sum, count, metric, final = self._run(inputs, targets, mask, initial_state, row_mask, False)
        if not return_metrics:
            return float(loss_sum), int(count), final
        key = "sse" if self.cfg.task == "regress" else "correct"
        return float(loss_sum), int(count), final, {key: metric}
