"""Dropout masks: what is dropped where during training, drawn deterministically from a seed.

Three kinds (ModelConfig), all inverted dropout -- a kept value is scaled by ``1 / (1 - p)`` while
training, so inference (evaluate, predict, generate, export) runs the plain network (p is applied
to 1/65536: :func:`keep_mask`):

* ``dropout``: elementwise on each layer's output, a fresh mask per element and step -- between
  stacked layers (as ``torch.nn.LSTM(dropout=p)``) and on the head's input (an ``nn.Dropout(p)``
  before the head). :attr:`Masks.between` ``[T, B, width]`` and :attr:`Masks.head`.
* ``embedding_dropout``: word dropout (Gal & Ghahramani 2016, section 4.2): each row drops each
  token TYPE for the whole window, so every occurrence of a dropped token in that row reads a
  zero embedding. :attr:`Masks.embedding` ``[T, B]``, one scale per input position.
* ``recurrent_dropout``: variational dropout (Gal & Ghahramani 2016; Keras' ``recurrent_dropout``):
  one mask ``[B, H]`` per row, layer and direction, the same at every step of the window, on
  ``h_{t-1}`` where it enters the recurrent product ``h_{t-1} W_hh^T`` -- not on the state that is
  carried (``c``, the GRU's ``z * h``, masked steps) nor on the layer's output.
  :attr:`Masks.recurrent`, one entry per cell (layer-major, forward then reverse).

Masks of one call (one TBPTT window) come from :func:`draw`: each part from its own generator,
seeded by the caller's seed plus (part, layer, direction), so a mask does not depend on which
other dropouts are on, and nothing is drawn for a rate of 0. The caller's seed is a tuple of
non-negative ints that names the window (training: run seed, epoch, round, worker, step, window).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# part codes in a mask's seed
EMBEDDING, RECURRENT, BETWEEN, HEAD = 1, 2, 3, 4


@dataclass(frozen=True)
class Masks:
    """The dropout masks of one call; None where nothing is dropped. Values are 0 or 1/(1-p) in
    the model's dtype, time-major like the engine.

    ``embedding``: ``[T, B]`` scale of each input position's embedding (token input).
    ``recurrent``: per cell (index ``layer * directions + direction``) ``[B, H]`` or None.
    ``between``: per layer k below the top, ``[T, B, width_k]`` on its output, or None.
    ``head``: on the head's input: ``[T, B, width]`` (every-step head) or ``[B, width]`` (last).
    """

    embedding: np.ndarray | None = None
    recurrent: tuple = ()
    between: tuple = ()
    head: np.ndarray | None = None

    def rec(self, c: int) -> np.ndarray | None:
        return self.recurrent[c] if self.recurrent else None

    def btw(self, k: int) -> np.ndarray | None:
        return self.between[k] if k < len(self.between) else None

    def steps(self, lo: int, hi: int) -> "Masks":
        """The masks of steps [lo, hi) of the window (the per-row masks unchanged)."""
        def cut(a):
            return None if a is None else a[lo:hi]
        head = self.head if self.head is None or self.head.ndim == 2 else self.head[lo:hi]
        return Masks(cut(self.embedding), self.recurrent, tuple(cut(b) for b in self.between), head)


NONE = Masks()


def keep_mask(rng: np.random.Generator, shape, p: float, dtype, out=None) -> np.ndarray:
    """0 with probability p (rounded to a multiple of 1/65536: p'), else 1/(1-p') -- a mean of
    exactly 1 -- in ``dtype`` (into ``out`` if given). 16-bit uniforms straight from the
    generator's raw 64-bit words, read little-endian so every machine gets the same values
    (3-4x cheaper than float uniforms: this is on every training step)."""
    n = int(np.prod(shape))
    words = rng.bit_generator.random_raw(-(-n // 4))
    u16 = words.astype("<u8", copy=False).view("<u2")[:n]
    t = min(int(round(p * 65536)), 65535)
    keep = u16 >= np.uint16(t)
    if out is None:
        out = np.empty(shape, dtype)
    np.multiply(keep.reshape(shape), np.dtype(dtype).type(65536 / (65536 - t)), out=out)
    return out


def word_mask(rng: np.random.Generator, tokens_tb: np.ndarray, p: float, dtype) -> np.ndarray:
    """``[T, B]``: each row keeps or drops each token type it holds, one draw per (row, type)."""
    T, B = tokens_tb.shape
    key = (tokens_tb.astype(np.int64) * B + np.arange(B)).reshape(-1)
    uniq, inv = np.unique(key, return_inverse=True)
    return keep_mask(rng, uniq.size, p, dtype)[inv.reshape(-1)].reshape(T, B)


def _rng(seed: tuple, part: int, layer: int = 0, direction: int = 0) -> np.random.Generator:
    return np.random.default_rng([*seed, part, layer, direction])


def draw(cfg, seed, tokens_tb: np.ndarray | None, T: int, B: int, widths: list[int],
         dtype, ws=None) -> Masks:
    """The masks of one window for ``cfg`` (a ModelConfig): ``widths[c]`` is cell c's hidden size;
    ``tokens_tb`` the window's token ids ``[T, B]`` (token input); ``ws`` a Workspace to draw
    the large masks into (valid until the next call that uses it)."""
    if not cfg.has_dropout:
        return NONE
    seed = tuple(int(s) for s in seed)
    D, L = cfg.directions, len(cfg.hidden_sizes)

    def buf(key, shape):
        return None if ws is None else ws.get(("dropout", key), shape, dtype)

    emb = rec = None
    if cfg.embedding_dropout and tokens_tb is not None:
        emb = word_mask(_rng(seed, EMBEDDING), tokens_tb, cfg.embedding_dropout, dtype)
    if cfg.recurrent_dropout:
        rec = tuple(keep_mask(_rng(seed, RECURRENT, c // D, c % D), (B, widths[c]),
                              cfg.recurrent_dropout, dtype) for c in range(L * D))
    between, head = [], None
    if cfg.dropout:
        p = cfg.dropout
        for k in range(L - 1):
            shape = (T, B, D * cfg.hidden_sizes[k])
            between.append(keep_mask(_rng(seed, BETWEEN, k), shape, p, dtype,
                                     buf(("between", k), shape)))
        top = D * cfg.hidden_sizes[-1]
        shape = (T, B, top) if cfg.head_at == "every" else (B, top)
        head = keep_mask(_rng(seed, HEAD), shape, p, dtype, buf("head", shape))
    return Masks(emb, rec or (), tuple(between), head)
