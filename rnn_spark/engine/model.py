"""Model: [embedding | dense input] -> stacked recurrent layers -> linear head, in pure NumPy.

All parameters live in one flat vector ``model.flat``; ``model.params`` maps PyTorch names
(``embedding.weight``, ``rnn.weight_ih_l{k}``, ``rnn.weight_hh_l{k}``, ``rnn.bias_ih_l{k}``,
``rnn.bias_hh_l{k}``, the same with ``_reverse`` for a bidirectional layer's reverse cell,
``head.weight``, ``head.bias``) to views of it with PyTorch shapes and order.
Public arrays are batch-first (``[B, T, ...]``); the engine works time-major inside.
Each cell (cells.py picks it by name; ``self.cells`` is layer-major, forward then reverse) is
driven through the contract in cellbase.py: ``prepare`` -> ``Projection.forward`` -> ``forward``,
and on the way back ``backward`` -> one GEMM per weight gradient over the whole window (GradRows).
A reverse cell reads its layer's input with each row's valid steps reversed (reverse.py); the
layer's output is ``[forward, reverse]``. Training calls may pass ``dropout`` (a seed or given
masks, dropout.py); inference never applies dropout.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from . import dropout as drop
from .buffers import Workspace, aligned_empty, transpose_into
from .cellbase import MaskInfo
from .cells import make_cell
from .config import ModelConfig
from .gradrows import GradRows
from .head import head_input, head_loss, scatter_head_grad
from .losses import LossSpec
from .projection import Projection
from .reverse import Reverser

__all__ = ["Model", "ModelConfig"]


class Model:
    """A recurrent network with its parameters: ``Model(ModelConfig(...), seed=0)``.

    ``flat`` holds every parameter in one vector and ``params`` maps the PyTorch names to views of
    it (``state_dict()`` / ``load_state_dict()`` copy them in and out, strict on names and shapes).
    Initialisation follows PyTorch's defaults and depends only on ``seed``. Inputs are token ids
    ``[B, T]`` or features ``[B, T, D]``, with an optional mask ``[B, T]`` (False = padding: the
    state is carried, no loss); a state is a list with one entry per layer and direction (``h``,
    or ``(h, c)`` for the LSTM). ``loss_and_flat_grad`` is one window of (truncated) BPTT; ``forward`` and
    ``evaluate`` run without gradients."""

    loss_spec = LossSpec()  # the loss head_loss computes (engine/losses.py): plain CE / MSE unless set

    def __init__(self, cfg: ModelConfig | dict, seed: int = 0) -> None:
        if isinstance(cfg, dict):
            cfg = ModelConfig.from_dict(cfg)
        self.cfg = cfg
        self.dtype = np.dtype(cfg.dtype)
        self.use_table: bool | None = None  # token projection path; None = choose by size
        specs: list[tuple[str, tuple[int, ...]]] = []
        if cfg.token_input:
            specs.append(("embedding.weight", (cfg.vocab_size, cfg.embedding_size)))
        self.D = D = cfg.directions
        self.cells = []  # layer-major: cell c = layer c // D, direction c % D (1 = reverse)
        self._names: list[dict[str, str]] = []  # per cell: weight_ih/... -> parameter name
        n_in = cfg.in_features
        for k, h in enumerate(cfg.hidden_sizes):
            for d in range(D):
                cell = make_cell(cfg.cell, n_in, h)
                G = cell.gates
                names = {w: f"rnn.{w}_l{k}{'_reverse' if d else ''}"
                         for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
                specs += [(names["weight_ih"], (G * h, n_in)), (names["weight_hh"], (G * h, h)),
                          (names["bias_ih"], (G * h,)), (names["bias_hh"], (G * h,))]
                self.cells.append(cell)
                self._names.append(names)
            n_in = D * h
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
        width = {n: cell.hidden_size for cell, names in zip(self.cells, self._names)
                 for n in names.values()}
        head_in = params["head.weight"].shape[1]
        for name, p in params.items():
            if name == "embedding.weight":
                p[...] = rng.standard_normal(p.shape)
            else:  # a layer: 1/sqrt(its H); the head: 1/sqrt(its input width)
                k = 1.0 / np.sqrt(width.get(name, head_in))
                p[...] = rng.uniform(-k, k, p.shape)
        if self.cfg.cell == "lstm" and self.cfg.forget_bias:
            for cell, names in zip(self.cells, self._names):
                h = cell.hidden_size
                params[names["bias_hh"]][h:2 * h] += self.cfg.forget_bias
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
    def masks(self, dropout, xt, B: int, T: int) -> drop.Masks:
        """The dropout masks of a call: none (``dropout`` None: inference), drawn from a seed
        (a tuple of ints), or given (a :class:`~rnn_spark.engine.dropout.Masks`)."""
        if dropout is None:
            return drop.NONE
        if isinstance(dropout, drop.Masks):
            return dropout
        return drop.draw(self.cfg, dropout, xt if self.cfg.token_input else None, T, B,
                         [c.hidden_size for c in self.cells], self.dtype, self._ws()[-1])

    def _forward(self, xt, mt, initial_state, B, dm: drop.Masks):
        mi = MaskInfo(mt, self.dtype)
        state = initial_state if initial_state is not None else self.zero_state(B)
        if len(state) != len(self.cells):
            raise ValueError(f"initial_state: expected {len(self.cells)} entries (one per layer "
                             f"and direction), got {len(state)}")
        T, D = xt.shape[0], self.D
        rv = Reverser(mt, T, B, self.dtype) if D == 2 else None
        caches, final, y = [], [], xt
        wss = self._ws()
        for k in range(len(self.cfg.hidden_sizes)):
            outs = []
            for d in range(D):
                c = k * D + d
                cell, names, ws = self.cells[c], self._names[c], wss[c]
                emb = self.params["embedding.weight"] if (k == 0 and self.cfg.token_input) else None
                scale = dm.embedding if k == 0 else None
                x = y
                if d:  # the reverse cell reads each row's valid steps backwards
                    x = rv.flip(y, ws, "x_rev")
                    scale = None if scale is None else rv.flip(scale)
                prep = cell.prepare(self.params[names["weight_hh"]], self.params[names["bias_hh"]],
                                    B, ws)
                proj = Projection(cell, self.params[names["weight_ih"]],
                                  self.params[names["bias_ih"]], self.params[names["bias_hh"]],
                                  prep, emb, self.use_table)
                xp = proj.forward(x, scale)  # [T, B, G*H] or gate-major [G, T, B, H]
                fw = cell.forward(xp, state[c], prep, rv.mi if d else mi, dm.rec(c))
                caches.append((proj, prep, fw.cache))
                final.append(fw.final)
                outs.append(fw.y)  # [T, B, H]
            y = outs[0] if D == 1 else self._join(outs, rv, wss[k * D])
            m = dm.btw(k)
            if m is not None:  # dropout between layers (a copy: y is the cells' cache)
                y = np.multiply(y, m, out=wss[k * D].get("y_drop", y.shape, y.dtype))
        return y, final, caches, mi, rv

    @staticmethod
    def _join(outs, rv: Reverser, ws) -> np.ndarray:
        """A bidirectional layer's output ``[T, B, 2H]``: forward, and reverse in input order."""
        f, r = outs
        H = f.shape[2]
        y = ws.get("y_cat", f.shape[:2] + (2 * H,), f.dtype)
        y[..., :H] = f
        y[..., H:] = rv.flip(r)
        return y

    def _run(self, inputs, targets, mask, initial_state, row_mask, need_grad, k2=None,
             dropout=None):
        xt, mt, B, T = self._prepare(inputs, mask)
        if k2 is not None and int(k2) < 1:
            raise ValueError(f"k2 must be >= 1, got {k2}")
        t0 = 0 if k2 is None else max(0, T - int(k2))
        if t0 and self.D == 2:
            raise ValueError(f"bidirectional layers need the whole window's backward pass: "
                             f"k2={k2} < {T} steps")
        dm = self.masks(dropout, xt, B, T)
        hws = self._ws()[-1]
        y, final, caches, mi, rv = self._forward(xt, mt, initial_state, B, dm)
        hin, idx, valid = head_input(self.cfg, y, mt, row_mask, dm.head, hws)
        wh, bh = self.params["head.weight"], self.params["head.bias"]
        whT = aligned_empty(wh.shape[::-1], wh.dtype)  # aligned copies: faster GEMMs
        transpose_into(whT, wh)
        logits = np.matmul(hin, whT, out=hws.get("logits", (hin.shape[0], whT.shape[1]), self.dtype))
        logits += bh
        loss_sum, count, metric, dlog = head_loss(self.cfg, self.loss_spec, logits, targets, mt,
                                                  valid, B, T, need_grad, self.dtype)
        if not need_grad:
            return loss_sum, count, metric, final
        grad = np.zeros_like(self.flat)
        if count == 0:
            return 0.0, 0, grad, final
        g = self._views(grad)
        dlog *= 1.0 / count
        np.matmul(dlog.T, hin, out=g["head.weight"])
        np.sum(dlog, axis=0, out=g["head.bias"])
        wha = aligned_empty(wh.shape, wh.dtype)
        wha[...] = wh
        dh = np.matmul(dlog, wha, out=hws.get("dh", (dlog.shape[0], wha.shape[1]), self.dtype))
        if dm.head is not None:
            dh *= dm.head.reshape(dh.shape)
        dy = scatter_head_grad(self.cfg, dh, y, idx, valid, hws)
        self._backward(dy, caches, mi, rv, dm, t0, g)
        return loss_sum / count, count, grad, final

    def _backward(self, dy, caches, mi, rv, dm: drop.Masks, t0: int, g) -> None:
        """Every layer's weight gradients into ``g`` (views of the flat gradient), top first;
        ``dy [T, B, D*H]``: the gradient w.r.t. the top layer's output."""
        D, wss = self.D, self._ws()
        T, B = dy.shape[:2]
        for k in range(len(self.cfg.hidden_sizes) - 1, -1, -1):
            m = dm.btw(k)
            if m is not None:
                dy = np.multiply(dy, m, out=wss[k * D].get("dy_drop", dy.shape, dy.dtype))
            dx = None
            for d in range(D):
                c = k * D + d
                cell, names = self.cells[c], self._names[c]
                proj, prep, cache = caches[c]
                H = cell.hidden_size
                dyd = dy if D == 1 else (np.ascontiguousarray(dy[..., :H]) if d == 0 else
                                         rv.flip(dy[..., H:]))
                bw = cell.backward(dyd, cache, prep, rv.mi if d else mi, t0)
                dxp, dgh, hprev = bw.dxp, bw.dgh, bw.hprev
                gr = GradRows(dgh, t0, prep.gate_major)
                dw = gr.t_at(hprev[t0:].reshape(-1, H),
                             out=wss[-1].get(("dwhh", c), (gr.GH * H,), self.dtype))
                cell.to_torch_into(dw, g[names["weight_hh"]])
                dxd = None if k == 0 else wss[-1].get(("dx", c), (T, B, proj.w_int.shape[1]),
                                                      self.dtype)
                xsum = proj.backward(dxp, t0, g[names["weight_ih"]], g[names["bias_ih"]],
                                     g.get("embedding.weight"), dxd)
                # cells whose recurrent and input pre-activations share one gradient (RNN, LSTM)
                # reuse the projection's row sum for b_hh
                cell.to_torch_into(xsum if dgh is dxp else gr.rowsum(), g[names["bias_hh"]])
                if dxd is not None:  # the reverse cell's input gradient, back in input order
                    dx = dxd if d == 0 else dx + rv.flip(dxd)
            dy = dx

    # -- public API -----------------------------------------------------------------------------
    def loss_and_flat_grad(self, inputs, targets, mask=None, initial_state=None, k2=None,
                           row_mask=None, dropout=None):
        """Mean loss over unmasked targets, its gradient as one flat vector, and the final state.

        ``k2``: truncated backward over the last k2 steps of this window (None = full BPTT).
        ``row_mask`` (last-step heads only): bool [B], rows that carry a target in this call
        (default: every row with at least one unmasked step).
        ``dropout``: None (no dropout), a seed (tuple of ints: the window's masks are drawn from
        it, engine/dropout.py) or the masks themselves (:class:`~rnn_spark.engine.dropout.Masks`).
        """
        loss, _, grad, final = self._run(inputs, targets, mask, initial_state, row_mask, True, k2,
                                         dropout)
        return float(loss), grad, final

    def loss_and_grads(self, inputs, targets, mask=None, initial_state=None, k2=None,
                       row_mask=None, dropout=None):
        loss, grad, final = self.loss_and_flat_grad(inputs, targets, mask, initial_state, k2,
                                                    row_mask, dropout)
        return loss, self._views(grad), final

    def loss_and_flat_grad_count(self, inputs, targets, mask=None, initial_state=None, k2=None,
                                 row_mask=None, dropout=None):
        """As loss_and_flat_grad, plus the number of targets the mean was taken over."""
        loss, count, grad, final = self._run(inputs, targets, mask, initial_state, row_mask, True,
                                             k2, dropout)
        return float(loss), int(count), grad, final

    def forward(self, inputs, mask=None, initial_state=None):
        """Head outputs (logits or regression values), batch-first, and the final state (no
        dropout: this is inference)."""
        xt, mt, B, T = self._prepare(inputs, mask)
        y, final, _, _, _ = self._forward(xt, mt, initial_state, B, drop.NONE)
        hin, _, _ = head_input(self.cfg, y, mt, None, None)
        out = hin @ self.params["head.weight"].T + self.params["head.bias"]
        if self.cfg.head_at == "every":
            out = np.ascontiguousarray(out.reshape(T, B, -1).transpose(1, 0, 2))
        return out, final

    def hidden(self, inputs, mask=None, initial_state=None, dropout=None):
        """Top-layer outputs ``[B, T, D*H_top]`` (masked steps hold the carried state; the head's
        dropout is not applied) and the final state; ``dropout`` as in loss_and_flat_grad."""
        xt, mt, B, T = self._prepare(inputs, mask)
        y, final, _, _, _ = self._forward(xt, mt, initial_state, B, self.masks(dropout, xt, B, T))
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
