"""The parameter averager: turns a round's mean worker delta into the next global weights.

Each round the workers start from the *broadcast* weights ``b`` and return their deltas
``w_end - b``; the driver reduces them to the (token-weighted) mean delta ``G``. An averager then
updates the stored global weights ``w`` (the model that is validated, checkpointed and exported) and
says which weights the next round starts from::

    w, b = averager.apply(w, G)        # w is updated in place; b is what to broadcast next

Notation: ``w`` stored global weights, ``b`` broadcast weights, ``G`` mean delta of the round
(always measured from ``b``), ``W`` number of workers.

``average``
    ``w = w + G``; ``b = w`` (the same array). With W=1 and one minibatch per round this is plain
    single-process training. (Here ``b == w``, so ``G`` is measured from ``w``.)

``bmuf`` -- blockwise model-update filtering (Chen & Huo, ICASSP 2016), options ``eta`` (block
momentum, default ``min(1 - 1/W, 0.5)``: the paper's ``1 - 1/W`` up to W=2, capped at 0.5 because
with Adam workers and a few local steps per round 0.875 at W=8 trained far slower than 0..0.5
(docs/benchmarks/defaults.md)), ``zeta`` (block learning rate, default 1), ``nesterov`` (default
true)::

    Delta = eta * Delta + zeta * G        # filtered block update; Delta starts at 0
    w     = w + Delta                     # the paper's W(t) = W(t-1) + Delta(t)
    b     = w + eta * Delta  if nesterov  # the paper's W_g(t) (Nesterov-like look-ahead)
            w                otherwise    # classical block momentum

    In the paper ``G(t) = mean_i W_i(t) - W_g(t-1)``: the block's update is measured from the
    weights the block started from, i.e. from the broadcast ``b``, not from the stored ``w`` --
    exactly the delta the workers return. The look-ahead ``b`` never becomes the stored model;
    evaluate and export ``w``. With ``eta = 0`` (e.g. W=1) and ``zeta = 1`` this is bitwise
    ``average``.

``nesterov`` -- outer SGD with Nesterov momentum (DiLoCo, Douillard et al. 2023), options ``lr``
(default 0.7) and ``mu`` (default 0.9, DiLoCo's values), ``nesterov`` (default true)::

    g = -G                                # the "outer gradient"
    m = mu * m + g                        # m starts at 0
    w = w - lr * (g + mu * m)             # nesterov; w - lr * m without
    b = w

    This is ``torch.optim.SGD(lr, momentum=mu, nesterov=True)`` stepped with gradient ``-G``.
    With ``mu = 0`` and ``lr = 1`` it is bitwise ``average``.

Options also have config-style aliases: bmuf ``block_momentum`` = ``eta``, ``block_lr`` = ``zeta``;
nesterov ``outer_lr`` = ``lr``, ``momentum`` / ``outer_momentum`` = ``mu``.

State (``state_vectors()`` / ``load_state()``) is flat vectors only -- ``{"block_delta": Delta}``
for bmuf, ``{"momentum_buffer": m}`` for nesterov, nothing for average -- so a checkpoint holds
``w`` plus these, and after a restore :meth:`Averager.broadcast_weights` recomputes ``b``.
``apply`` allocates nothing; a returned ``b`` that is not ``w`` is the averager's own buffer,
valid until the next ``apply`` (copy it to keep it).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from rnn_spark.engine.options import OptionError, as_float, check_dtype, require, take_options

__all__ = ["AVERAGERS", "Averager", "make_averager"]

MAX_AUTO_ETA = 0.5  # the default block momentum's cap (see the module doc)


class Averager:
    """Base: plain averaging, ``w += G``. Subclasses override :meth:`_apply` and the state."""

    name = "average"
    DEFAULTS: dict[str, Any] = {}
    ALIASES: dict[str, str] = {}  # config-style spelling -> option name

    def __init__(self, num_params: int, dtype: Any, num_workers: int, **options: Any) -> None:
        kind = f"averager {self.name}"
        require(
            isinstance(num_params, (int, np.integer)) and num_params >= 0,
            kind,
            f"num_params must be a non-negative integer, got {num_params!r}",
        )
        require(
            isinstance(num_workers, (int, np.integer)) and num_workers >= 1,
            kind,
            f"num_workers must be an integer >= 1, got {num_workers!r}",
        )
        self.num_params = int(num_params)
        self.num_workers = int(num_workers)
        self.dtype = check_dtype(kind, dtype)
        for alias, canonical in self.ALIASES.items():
            if alias in options:
                require(canonical not in options, kind, f"give {canonical} or {alias}, not both")
                options[canonical] = options.pop(alias)
        valid = {**self.DEFAULTS, **{alias: None for alias in self.ALIASES}}
        self.options = take_options(kind, options, valid)
        for alias in self.ALIASES:
            del self.options[alias]
        self._state: dict[str, np.ndarray] = {}

    def apply(self, global_w: np.ndarray, mean_delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Update ``global_w`` in place from the round's mean delta; return ``(global_w, broadcast_w)``."""
        shape = (self.num_params,)
        if global_w.shape != shape or mean_delta.shape != shape:
            raise ValueError(
                f"averager {self.name}: expected weights and delta of shape {shape}, "
                f"got {global_w.shape} and {mean_delta.shape}"
            )
        if global_w.dtype != self.dtype:
            raise ValueError(f"averager {self.name}: weights are {global_w.dtype}, averager is {self.dtype}")
        self._apply(global_w, mean_delta)
        return global_w, self.broadcast_weights(global_w)

    def broadcast_weights(self, global_w: np.ndarray) -> np.ndarray:
        """The weights the next round starts from, given the stored global weights and the state."""
        return global_w

    def state_vectors(self) -> dict[str, np.ndarray]:
        """Copies of the flat state vectors, by name."""
        return {key: vec.copy() for key, vec in self._state.items()}

    def load_state(self, vectors: Mapping[str, np.ndarray]) -> None:
        """Restore state saved by :meth:`state_vectors` (values are copied)."""
        if set(vectors) != set(self._state):
            raise ValueError(
                f"averager {self.name}: state has vectors {sorted(vectors)}, expected {sorted(self._state)}"
            )
        for key, vec in vectors.items():
            if np.shape(vec) != (self.num_params,):
                raise ValueError(
                    f"averager {self.name}: state vector {key} has shape {np.shape(vec)}, "
                    f"expected ({self.num_params},)"
                )
        for key, vec in vectors.items():
            np.copyto(self._state[key], vec, casting="same_kind")

    def reset(self) -> None:
        for vec in self._state.values():
            vec.fill(0)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{type(self).__name__}({self.num_params}, {self.dtype.name}, W={self.num_workers}, {opts})"

    def _apply(self, w: np.ndarray, delta: np.ndarray) -> None:
        w += delta


class BMUF(Averager):
    """Blockwise model-update filtering with (by default) Nesterov-like look-ahead; see module doc."""

    name = "bmuf"
    DEFAULTS = {"eta": None, "zeta": 1.0, "nesterov": True}
    ALIASES = {"block_momentum": "eta", "block_lr": "zeta"}

    def __init__(self, num_params: int, dtype: Any, num_workers: int, **options: Any) -> None:
        super().__init__(num_params, dtype, num_workers, **options)
        kind, o = f"averager {self.name}", self.options
        if o["eta"] is None:
            o["eta"] = min(1.0 - 1.0 / self.num_workers, MAX_AUTO_ETA)
        o["eta"] = as_float(kind, "eta", o["eta"])
        o["zeta"] = as_float(kind, "zeta", o["zeta"])
        o["nesterov"] = bool(o["nesterov"])
        require(0.0 <= o["eta"] < 1.0, kind, f"eta (block momentum) must lie in [0, 1), got {o['eta']}")
        require(o["zeta"] > 0.0, kind, f"zeta (block learning rate) must be > 0, got {o['zeta']}")
        self._delta = np.zeros(self.num_params, dtype=self.dtype)
        self._state["block_delta"] = self._delta
        self._scratch = np.zeros(self.num_params, dtype=self.dtype)
        self._broadcast = np.zeros(self.num_params, dtype=self.dtype)

    def _apply(self, w: np.ndarray, delta: np.ndarray) -> None:
        eta, zeta = self.options["eta"], self.options["zeta"]
        d = self._delta
        d *= eta
        if zeta == 1.0:
            d += delta
        else:
            np.multiply(delta, zeta, out=self._scratch)
            d += self._scratch
        w += d

    def broadcast_weights(self, global_w: np.ndarray) -> np.ndarray:
        eta = self.options["eta"]
        if not self.options["nesterov"] or eta == 0.0:
            return global_w
        np.multiply(self._delta, eta, out=self._broadcast)
        self._broadcast += global_w
        return self._broadcast


class NesterovOuter(Averager):
    """Outer SGD with (Nesterov) momentum on the outer gradient ``-G`` (DiLoCo); see module doc."""

    name = "nesterov"
    DEFAULTS = {"lr": 0.7, "mu": 0.9, "nesterov": True}
    ALIASES = {"outer_lr": "lr", "momentum": "mu", "outer_momentum": "mu"}

    def __init__(self, num_params: int, dtype: Any, num_workers: int, **options: Any) -> None:
        super().__init__(num_params, dtype, num_workers, **options)
        kind, o = f"averager {self.name}", self.options
        o["lr"] = as_float(kind, "lr", o["lr"])
        o["mu"] = as_float(kind, "mu", o["mu"])
        o["nesterov"] = bool(o["nesterov"])
        require(o["lr"] > 0.0, kind, f"lr (outer learning rate) must be > 0, got {o['lr']}")
        require(0.0 <= o["mu"] < 1.0, kind, f"mu (outer momentum) must lie in [0, 1), got {o['mu']}")
        self._m = np.zeros(self.num_params, dtype=self.dtype)
        self._state["momentum_buffer"] = self._m
        self._scratch = np.zeros(self.num_params, dtype=self.dtype)

    def _apply(self, w: np.ndarray, delta: np.ndarray) -> None:
        lr, mu = self.options["lr"], self.options["mu"]
        m, s = self._m, self._scratch
        m *= mu
        m -= delta  # m = mu*m + g with g = -delta
        if self.options["nesterov"]:
            np.multiply(m, mu, out=s)
            s -= delta  # g + mu*m
        else:
            np.copyto(s, m)
        s *= lr
        w -= s


AVERAGERS = {"average": Averager, "bmuf": BMUF, "nesterov": NesterovOuter}


def make_averager(name: str, num_params: int, dtype: Any, num_workers: int, **options: Any) -> Averager:
    """Build an averager by name: ``average``, ``bmuf`` or ``nesterov`` (see the module doc)."""
    key = str(name).strip().lower()
    if key not in AVERAGERS:
        raise OptionError(f"unknown averager {name!r}; valid averagers: {', '.join(AVERAGERS)}")
    return AVERAGERS[key](num_params, dtype, num_workers, **options)
