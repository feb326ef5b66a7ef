"""A small char-level dataset made by the project's own ingest, shared by the trainer tests."""

import sysconfig
from pathlib import Path

import pytest

from rnn_spark import config, data


@pytest.fixture(scope="session")
def char_dataset(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("ds") / "json-src"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    data.ingest_text([str(stdlib / "json" / "*.py")], str(out), seq_len=33, rows_per_group=64,
                     val_fraction=0.1, seed=3, quiet=True)
    return str(out)


def small_config(dataset: str, run_dir, **over) -> config.Config:
    base = {"data.path": dataset, "train.run_dir": str(run_dir), "model.hidden_sizes": [24],
            "model.embedding_size": 12, "train.k1": 16, "train.batch_size": 8,
            "train.steps_per_round": 2, "train.workers": 2, "train.max_rounds": 6,
            "train.validate_every": 3, "train.checkpoint_every": 2, "train.runner": "inline",
            "spark.master": "local[2]"}
    base.update(over)
    return config.load([], base)
