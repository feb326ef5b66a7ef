"""Sample text from a language model, the recurrent state carried from step to step.

The prime is run through the model once; then each step feeds the sampled token back with the
state the previous step left. All samples advance together as one batch. Sampling draws from
``numpy.random.default_rng(seed)``, so the same seed gives the same text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnn_spark.errors import UserError
from rnn_spark.serve.common import log_softmax64


@dataclass(frozen=True)
class Generation:
    samples: list          # decoded text per sample (prime included)
    ids: list              # token ids per sample (prime included)
    unknown_prime: int     # prime characters (word: words) outside the vocabulary (became <unk>)


def _next_ids(logits: np.ndarray, temperature: float, top_k: int | None, rng) -> np.ndarray:
    z = np.asarray(logits, dtype=np.float64)
    if temperature == 0:
        return z.argmax(axis=1)
    z = z / temperature
    if top_k and top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k][:, None]
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(log_softmax64(z))
    c = np.cumsum(p, axis=1)
    u = rng.random(len(z))[:, None] * c[:, -1:]
    return np.minimum((c <= u).sum(axis=1), z.shape[1] - 1)


def _copy(state):
    """The engine's final state may live in its reusable workspace: own it before feeding it back."""
    return [tuple(a.copy() for a in s) if isinstance(s, tuple) else s.copy() for s in state]


def generate(tm, prime: str = "", length: int = 200, temperature: float = 1.0,
             top_k: int | None = None, seed: int = 0, num_samples: int = 1) -> Generation:
    """``length`` new tokens after ``prime`` for each of ``num_samples`` samples."""
    if tm.task != "lm" or tm.vocab is None:
        raise UserError(f"{tm.source.uri}: generate needs a language model with a vocabulary "
                        f"(char, byte, bpe or word); this model's task is {tm.task!r}")
    if length < 0 or num_samples < 1 or temperature < 0 or (top_k is not None and top_k < 1):
        raise UserError("generate: --length >= 0, --num-samples >= 1, --temperature >= 0 and "
                        "--top-k >= 1 are required")
    vocab, eng = tm.vocab, tm.engine()
    unknown = 0
    unk = vocab.unk_id
    if prime:
        ids = vocab.encode(prime)
        if unk is not None:
            unknown = int((ids == unk).sum())
    else:  # no prime: start after a newline (or <unk> / byte 0 when there is none)
        ids = vocab.encode("\n")[:1]
        if len(ids) == 0 or (unk is not None and ids[0] == unk):
            ids = np.zeros(1, np.int32)
    x = np.repeat(np.asarray(ids, dtype=np.int64)[None, :], num_samples, axis=0)
    rng = np.random.default_rng(seed)
    logits, state = eng.forward(x, None)
    out = [x]
    for _ in range(length):
        nxt = _next_ids(logits[:, -1, :], temperature, top_k, rng)[:, None]
        out.append(nxt)
        logits, state = eng.forward(nxt, None, initial_state=_copy(state))
    allids = np.concatenate(out, axis=1)
    if not prime:
        allids = allids[:, 1:]
    return Generation([vocab.decode(r) for r in allids], [r.tolist() for r in allids], unknown)
