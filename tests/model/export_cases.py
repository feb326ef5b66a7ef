"""Shared builders for the export tests: small untrained models per cell and task, and a batch of
rows of different lengths (right padding)."""

import numpy as np

from rnn_spark.engine import Model, ModelConfig
from rnn_spark.serve.load import ModelSource, TrainedModel

CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]
TASKS = {"lm": dict(vocab_size=11, embedding_size=5, output_size=11, task="lm"),
         "classify": dict(vocab_size=9, embedding_size=4, output_size=3, task="classify"),
         "regress": dict(input_size=3, output_size=2, task="regress"),
         "regress_last": dict(input_size=3, output_size=4, task="regress", head_at="last")}
LENGTHS = np.array([7, 4, 2, 7])


def make(cell, task, hidden=(8, 8), **kw):
    cfg = ModelConfig(cell=cell, hidden_sizes=list(hidden), **TASKS[task], **kw)
    m = Model(cfg, seed=7)
    return TrainedModel(cfg, m.state_dict(), source=ModelSource("memory", "model", None))


def batch(tm):
    rng = np.random.default_rng(1)
    cfg = tm.config
    B, T = len(LENGTHS), LENGTHS.max()
    if cfg.token_input:
        x = rng.integers(0, cfg.vocab_size, (B, T)).astype(np.int64)
    else:
        x = rng.standard_normal((B, T, cfg.input_size)).astype(np.float32)
    mask = (np.arange(T)[None] < LENGTHS[:, None]).astype(np.float32)
    return x, mask
