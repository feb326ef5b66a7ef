"""Small trained runs (lm, classify, regress) shared by the model-use tests: made by the project's
own ingest and trainer, once per session."""

import json
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from rnn_spark import config, ingest
from rnn_spark.training.loop import train


def _train(dataset, run_dir, **over):
    base = {"data.path": dataset, "train.run_dir": str(run_dir), "model.hidden_sizes": [16],
            "model.embedding_size": 8, "train.k1": 16, "train.batch_size": 8,
            "train.steps_per_round": 2, "train.workers": 2, "train.max_rounds": 4,
            "train.validate_every": 2, "train.checkpoint_every": 2, "train.runner": "inline"}
    base.update(over)
    train(config.load([], base), quiet=True)
    return str(run_dir)


@pytest.fixture(scope="session")
def train_run():
    """_train(dataset, run_dir, **{"section.key": value}) -> the run directory."""
    return _train


@pytest.fixture(scope="session")
def lm_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("lm")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ds = str(root / "data")
    ingest.ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=24, rows_per_group=32,
                     val_fraction=0.1, seed=3, quiet=True)
    return ds, _train(ds, root / "run", **{"model.cell": "gru"})


@pytest.fixture(scope="session")
def classify_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cls")
    rng = np.random.default_rng(0)
    lines = []
    for i in range(300):
        n = int(rng.integers(3, 12))
        label = i % 3
        seq = (rng.integers(0, 5, n) + 5 * label).tolist()
        lines.append(json.dumps({"sequence": seq, "label": label}))
    src = root / "seqs.jsonl"
    src.write_text("\n".join(lines) + "\n")
    ds = str(root / "data")
    ingest.ingest_labelled([str(src)], ds, task="classify", rows_per_group=40, val_fraction=0.2,
                         quiet=True)
    return ds, _train(ds, root / "run", **{"model.cell": "lstm", "train.max_rounds": 6})


@pytest.fixture(scope="session")
def series_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    t = np.arange(400)
    rows = ["entity,t,load,temp"]
    for g in ("a", "b"):
        for k in t:
            rows.append(f"{g},{k},{100 + 20 * np.sin(k / 7 + (g == 'b')):.4f},{15 + (k % 10)}")
    src = root / "load.csv"
    src.write_text("\n".join(rows) + "\n")
    ds = str(root / "data")
    ingest.ingest_series([str(src)], ds, window=12, horizon=2, columns=["load", "temp"],
                       target_columns=["load"], time_column="t", group_column="entity",
                       rows_per_group=64, val_fraction=0.2, quiet=True)
    return ds, _train(ds, root / "run", **{"model.cell": "rnn_tanh"})
