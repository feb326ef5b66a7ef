"""Shared builders for engine tests: small float64 models and random batches."""

import numpy as np

from rnn_spark.engine import Model, ModelConfig

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
V, D, O, C = 7, 3, 2, 3


def make(cell, token, task, hidden=(5, 4), head_at=None, dtype="float64", seed=1):
    inp = dict(vocab_size=V, embedding_size=4) if token else dict(input_size=D)
    out = {"lm": V, "classify": C, "regress": O}[task]
    cfg = ModelConfig(cell=cell, hidden_sizes=list(hidden), output_size=out, task=task,
                      head_at=head_at, dtype=dtype, **inp)
    return Model(cfg, seed=seed)


def batch(model, B=3, T=6, seed=0):
    rng = np.random.default_rng(seed)
    cfg = model.cfg
    x = rng.integers(0, V, (B, T)) if cfg.token_input else rng.standard_normal((B, T, D))
    if cfg.task == "lm":
        y = rng.integers(0, V, (B, T))
    elif cfg.task == "classify":
        y = rng.integers(0, C, (B,))
    elif cfg.head_at == "every":
        y = rng.standard_normal((B, T, O))
    else:
        y = rng.standard_normal((B, O))
    return x, y


def mask_for(kind, B=3, T=6):
    if kind == "none":
        return None
    m = np.ones((B, T))
    if kind == "trailing":
        m[0, 4:] = 0
        m[1, 2:] = 0
    elif kind == "holes":
        m[0, 1] = 0
        m[1, 3:5] = 0
        m[B - 1, 0] = 0
        m[B - 1, T - 1] = 0
    return m
