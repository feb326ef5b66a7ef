"""A text sample from a run's exported language model: for the report (rnn_spark/report) and,
handed down by the train command, for TensorBoard and MLflow (training/trackers.py sits below
serve and never imports it). None for a model that is not a language model, or none yet.
"""

from __future__ import annotations

from rnn_spark import fs
from rnn_spark.serve.generate import generate
from rnn_spark.serve.load import load_model


def sample_text(model_dir: str, task: str | None, length: int = 300, seed: int = 0) -> str | None:
    if task != "lm" or not fs.exists(model_dir):
        return None
    try:
        return generate(load_model(model_dir), length=length, temperature=0.8, seed=seed).samples[0]
    except Exception as exc:  # a report or a tracker never fails for want of a sample
        return f"(no sample: {exc})"
