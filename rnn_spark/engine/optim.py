"""Optimizers on flat parameter vectors: SGD (momentum, Nesterov), Adam/AdamW, RMSprop.

The model keeps every parameter in one contiguous 1-D vector (``model.flat``) and its gradient in
another; an optimizer updates the parameter vector in place from the gradient vector::

    opt = make_optimizer("adam", num_params=model.flat.size, dtype=np.float32, betas=(0.9, 0.999))
    opt.step(model.flat, grad, lr=schedule(step))

The update rules follow PyTorch's ``torch.optim.SGD``, ``Adam``/``AdamW`` and ``RMSprop`` (default
single-tensor code path) option for option, so a model trained here and one trained with PyTorch on
the same gradients agree to rounding (tests/engine/test_optim.py checks it against torch).

State is a handful of flat vectors, preallocated at construction, plus an integer step count:
``state_vectors()`` / ``step_count`` are what a checkpoint saves (an .npz, no pickles) and what the
trainer may average across workers; ``load_state(vectors, step_count)`` restores them. A step
allocates nothing: all intermediate results go to two preallocated scratch vectors via ``out=``.

Errors in names or options raise :class:`OptionError` (a ``ValueError`` and a
:class:`~rnn_spark.errors.ConfigError`), whose message lists the valid choices.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

# The option kit lives in options.py; OptionError is re-exported here (callers import it from optim).
from rnn_spark.engine.options import OptionError, as_float, check_dtype, require, take_options

__all__ = [
    "OPTIMIZERS",
    "Adam",
    "OptionError",
    "Optimizer",
    "RMSprop",
    "SGD",
    "make_optimizer",
    "make_optimizer_from_config",
]


class Optimizer:
    """Base class: state bookkeeping shared by all optimizers.

    Subclasses set ``name``, ``DEFAULTS`` and ``_state`` (name -> preallocated flat vector) and
    implement ``_update(params, grad, lr)``.
    """

    name = "optimizer"
    DEFAULTS: dict[str, Any] = {}

    def __init__(self, num_params: int, dtype: Any = np.float32, **options: Any) -> None:
        require(
            isinstance(num_params, (int, np.integer)) and num_params >= 0,
            self.name,
            f"num_params must be a non-negative integer, got {num_params!r}",
        )
        self.num_params = int(num_params)
        self.dtype = check_dtype(self.name, dtype)
        self.options = take_options(f"optimizer {self.name}", options, self.DEFAULTS)
        self.step_count = 0
        self._state: dict[str, np.ndarray] = {}
        # Two scratch vectors: every step writes intermediates here instead of allocating.
        self._a = np.zeros(self.num_params, dtype=self.dtype)
        self._b = np.zeros(self.num_params, dtype=self.dtype)

    def _vector(self, key: str) -> np.ndarray:
        vec = np.zeros(self.num_params, dtype=self.dtype)
        self._state[key] = vec
        return vec

    # -- public API ----------------------------------------------------------------------------

    def step(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        """Update ``params`` (1-D, this optimizer's size and dtype) in place; ``grad`` is not modified."""
        if params.shape != (self.num_params,) or grad.shape != (self.num_params,):
            raise ValueError(
                f"optimizer {self.name}: expected params and grad of shape ({self.num_params},), "
                f"got {params.shape} and {grad.shape}"
            )
        if params.dtype != self.dtype:
            raise ValueError(f"optimizer {self.name}: params are {params.dtype}, optimizer is {self.dtype}")
        lr = float(lr)
        if not (lr >= 0.0 and math.isfinite(lr)):
            raise ValueError(f"optimizer {self.name}: learning rate must be finite and >= 0, got {lr}")
        self._update(params, grad, lr)
        self.step_count += 1

    def state_vectors(self) -> dict[str, np.ndarray]:
        """Copies of the flat state vectors, by name (empty for plain SGD)."""
        return {key: vec.copy() for key, vec in self._state.items()}

    def load_state(self, vectors: Mapping[str, np.ndarray], step_count: int) -> None:
        """Restore state saved by :meth:`state_vectors` and ``step_count`` (values are copied)."""
        expected, got = set(self._state), set(vectors)
        if expected != got:
            raise ValueError(
                f"optimizer {self.name}: state has vectors {sorted(got)}, expected {sorted(expected)}"
            )
        for key, vec in vectors.items():
            arr = np.asarray(vec)
            if arr.shape != (self.num_params,):
                raise ValueError(
                    f"optimizer {self.name}: state vector {key} has shape {arr.shape}, "
                    f"expected ({self.num_params},)"
                )
        if not (isinstance(step_count, (int, np.integer)) and step_count >= 0):
            raise ValueError(f"optimizer {self.name}: step_count must be an integer >= 0, got {step_count!r}")
        for key, vec in vectors.items():
            np.copyto(self._state[key], vec, casting="same_kind")
        self.step_count = int(step_count)

    def reset(self) -> None:
        """Forget all state: zero vectors, step count 0."""
        for vec in self._state.values():
            vec.fill(0)
        self.step_count = 0

    def config(self) -> dict[str, Any]:
        """``{"name": ..., **options}``: what :func:`make_optimizer_from_config` takes back."""
        out: dict[str, Any] = {"name": self.name}
        out.update({k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()})
        return out

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({self.num_params}, {self.dtype.name}, {opts})"

    def _update(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        raise NotImplementedError

    def _grad_with_decay(self, params: np.ndarray, grad: np.ndarray, weight_decay: float) -> np.ndarray:
        """``grad + weight_decay * params`` (L2 penalty, torch's coupled weight decay) in scratch ``_a``."""
        if weight_decay == 0.0:
            return grad
        np.multiply(params, weight_decay, out=self._a)
        np.add(grad, self._a, out=self._a)
        return self._a


class SGD(Optimizer):
    """torch.optim.SGD: ``d = g + wd*p``; ``buf = m*buf + (1-dampening)*d`` (``buf = d`` on the
    first step); ``d = d + m*buf`` if nesterov else ``buf``; ``p -= lr*d``."""

    name = "sgd"
    DEFAULTS = {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0}

    def __init__(self, num_params: int, dtype: Any = np.float32, **options: Any) -> None:
        super().__init__(num_params, dtype, **options)
        kind, o = f"optimizer {self.name}", self.options
        for key in ("momentum", "dampening", "weight_decay"):
            o[key] = as_float(kind, key, o[key])
        o["nesterov"] = bool(o["nesterov"])
        require(o["momentum"] >= 0.0, kind, f"momentum must be >= 0, got {o['momentum']}")
        require(o["weight_decay"] >= 0.0, kind, f"weight_decay must be >= 0, got {o['weight_decay']}")
        require(
            not o["nesterov"] or (o["momentum"] > 0.0 and o["dampening"] == 0.0),
            kind,
            "nesterov=true needs momentum > 0 and dampening = 0",
        )
        if o["momentum"] != 0.0:
            self._vector("momentum_buffer")

    def _update(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        o = self.options
        d = self._grad_with_decay(params, grad, o["weight_decay"])
        mom = o["momentum"]
        if mom != 0.0:
            buf = self._state["momentum_buffer"]
            if self.step_count == 0:
                np.copyto(buf, d)
            else:
                buf *= mom
                if o["dampening"] != 0.0:
                    np.multiply(d, 1.0 - o["dampening"], out=self._b)
                    buf += self._b
                else:
                    buf += d
            if o["nesterov"]:
                np.multiply(buf, mom, out=self._b)
                np.add(d, self._b, out=self._b)
                d = self._b
            else:
                d = buf
        np.multiply(d, lr, out=self._b)
        params -= self._b


class Adam(Optimizer):
    """torch.optim.Adam (and AdamW with ``decoupled_weight_decay=True``), with optional amsgrad.

    ``t += 1``; coupled: ``g = g + wd*p``, decoupled: ``p *= 1 - lr*wd``;
    ``m += (1-b1)*(g - m)``; ``v = b2*v + (1-b2)*g*g``; (amsgrad: ``vmax = max(vmax, v)``, used for v);
    ``p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``.
    """

    name = "adam"
    DEFAULTS = {
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
        "decoupled_weight_decay": False,
    }

    def __init__(self, num_params: int, dtype: Any = np.float32, **options: Any) -> None:
        super().__init__(num_params, dtype, **options)
        kind, o = f"optimizer {self.name}", self.options
        betas = o["betas"]
        require(
            isinstance(betas, (tuple, list)) and len(betas) == 2,
            kind,
            f"betas must be a pair [beta1, beta2], got {betas!r}",
        )
        b1, b2 = (as_float(kind, "betas", b) for b in betas)
        require(0.0 <= b1 < 1.0 and 0.0 <= b2 < 1.0, kind, f"betas must lie in [0, 1), got {betas!r}")
        o["betas"] = (b1, b2)
        o["eps"] = as_float(kind, "eps", o["eps"])
        o["weight_decay"] = as_float(kind, "weight_decay", o["weight_decay"])
        require(o["eps"] >= 0.0, kind, f"eps must be >= 0, got {o['eps']}")
        require(o["weight_decay"] >= 0.0, kind, f"weight_decay must be >= 0, got {o['weight_decay']}")
        o["amsgrad"] = bool(o["amsgrad"])
        o["decoupled_weight_decay"] = bool(o["decoupled_weight_decay"])
        self._vector("exp_avg")
        self._vector("exp_avg_sq")
        if o["amsgrad"]:
            self._vector("max_exp_avg_sq")

    def _update(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        o = self.options
        b1, b2 = o["betas"]
        wd = o["weight_decay"]
        m, v = self._state["exp_avg"], self._state["exp_avg_sq"]
        b = self._b  # (_a holds the decayed gradient, see below)
        t = self.step_count + 1
        if o["decoupled_weight_decay"]:
            if wd != 0.0:
                params *= 1.0 - lr * wd
            g = grad
        else:
            g = self._grad_with_decay(params, grad, wd)  # may live in scratch a; b is free
        # m.lerp_(g, 1 - b1), torch's formula for weight < 0.5: m + w*(g - m)
        np.subtract(g, m, out=b)
        if 1.0 - b1 < 0.5:
            b *= 1.0 - b1
            m += b
        else:  # torch: g - (g - m)*(1 - w) = g - (g - m)*b1
            b *= b1
            np.subtract(g, b, out=m)
        # v = b2*v + (1-b2)*g*g
        v *= b2
        np.multiply(g, g, out=b)
        b *= 1.0 - b2
        v += b
        if o["amsgrad"]:
            vmax = self._state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        bias1 = 1.0 - b1**t
        bias2_sqrt = math.sqrt(1.0 - b2**t)
        np.sqrt(v, out=b)
        b /= bias2_sqrt
        b += o["eps"]
        np.divide(m, b, out=b)
        b *= lr / bias1
        params -= b


class RMSprop(Optimizer):
    """torch.optim.RMSprop: ``g = g + wd*p``; ``s = a*s + (1-a)*g*g``; centered: ``ga += (1-a)*(g-ga)``,
    ``avg = sqrt(s - ga*ga) + eps`` else ``sqrt(s) + eps``; momentum: ``buf = m*buf + g/avg``,
    ``p -= lr*buf``; else ``p -= lr*g/avg``."""

    name = "rmsprop"
    DEFAULTS = {"alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0, "momentum": 0.0, "centered": False}

    def __init__(self, num_params: int, dtype: Any = np.float32, **options: Any) -> None:
        super().__init__(num_params, dtype, **options)
        kind, o = f"optimizer {self.name}", self.options
        for key in ("alpha", "eps", "weight_decay", "momentum"):
            o[key] = as_float(kind, key, o[key])
            require(o[key] >= 0.0, kind, f"{key} must be >= 0, got {o[key]}")
        require(o["alpha"] <= 1.0, kind, f"alpha must lie in [0, 1], got {o['alpha']}")
        o["centered"] = bool(o["centered"])
        self._vector("square_avg")
        if o["momentum"] > 0.0:
            self._vector("momentum_buffer")
        if o["centered"]:
            self._vector("grad_avg")

    def _update(self, params: np.ndarray, grad: np.ndarray, lr: float) -> None:
        o = self.options
        alpha = o["alpha"]
        b = self._b  # (_a holds the decayed gradient)
        g = self._grad_with_decay(params, grad, o["weight_decay"])  # may live in a; b is free
        s = self._state["square_avg"]
        s *= alpha
        np.multiply(g, g, out=b)
        b *= 1.0 - alpha
        s += b
        if o["centered"]:
            ga = self._state["grad_avg"]
            w = 1.0 - alpha
            np.subtract(g, ga, out=b)
            if w < 0.5:
                b *= w
                ga += b
            else:
                b *= alpha
                np.subtract(g, b, out=ga)
            np.multiply(ga, ga, out=b)
            np.subtract(s, b, out=b)
            np.sqrt(b, out=b)
        else:
            np.sqrt(s, out=b)
        b += o["eps"]
        np.divide(g, b, out=b)  # g / avg
        if o["momentum"] > 0.0:
            buf = self._state["momentum_buffer"]
            buf *= o["momentum"]
            buf += b
            np.multiply(buf, lr, out=b)
        else:
            b *= lr
        params -= b


def _adamw(num_params: int, dtype: Any = np.float32, **options: Any) -> Adam:
    """torch.optim.AdamW: Adam with decoupled weight decay, default weight_decay 0.01."""
    require(
        "decoupled_weight_decay" not in options,
        "optimizer adamw",
        "decoupled_weight_decay is always true for adamw (use adam to choose)",
    )
    options.setdefault("weight_decay", 0.01)
    opt = Adam(num_params, dtype, decoupled_weight_decay=True, **options)
    opt.name = "adamw"
    return opt


OPTIMIZERS = {"sgd": SGD, "adam": Adam, "adamw": _adamw, "rmsprop": RMSprop}


def make_optimizer(name: str, num_params: int, dtype: Any = np.float32, **options: Any) -> Optimizer:
    """Build an optimizer by name (``sgd``, ``adam``, ``adamw``, ``rmsprop``; case-insensitive)."""
    key = str(name).strip().lower()
    if key not in OPTIMIZERS:
        raise OptionError(f"unknown optimizer {name!r}; valid optimizers: {', '.join(sorted(OPTIMIZERS))}")
    return OPTIMIZERS[key](num_params, dtype, **options)


def make_optimizer_from_config(config: Mapping[str, Any], num_params: int, dtype: Any = np.float32) -> Optimizer:
    """Build from a mapping ``{"name": "adam", "betas": [0.9, 0.98], ...}`` (e.g. a TOML table).

    The learning rate is not an optimizer option here (it is passed to every ``step`` from the
    schedule); keys ``lr`` / ``schedule`` are therefore rejected like any other unknown option.
    """
    if "name" not in config:
        raise OptionError(f"optimizer config needs a 'name'; valid optimizers: {', '.join(sorted(OPTIMIZERS))}")
    options = {k: v for k, v in config.items() if k != "name"}
    return make_optimizer(config["name"], num_params, dtype, **options)
