"""The trainer on every task the data layer produces: forecasting (dense series, last-step head)
and classification of variable-length token sequences (last unmasked step), end to end."""

import json

import numpy as np
import pytest
from trainer_config import small_config

from rnn_spark import data, ingest
from rnn_spark.training.loop import train


@pytest.fixture(scope="module")
def series_dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("series")
    t = np.arange(600)
    rows = [f"{i},{e},{np.sin(i / 6 + ph):.5f},{np.cos(i / 6 + ph):.5f}\n"
            for e, ph in (("a", 0.0), ("b", 1.3), ("c", 2.1)) for i in t]
    (d / "s.csv").write_text("t,ent,x,y\n" + "".join(rows))
    ingest.ingest_series([str(d / "s.csv")], str(d / "ds"), window=16, horizon=2, columns=["x", "y"],
                       target_columns=["x"], time_column="t", group_column="ent", seed=1,
                       quiet=True, rows_per_group=128)
    return str(d / "ds")


@pytest.fixture(scope="module")
def classify_dataset(tmp_path_factory):
    d = tmp_path_factory.mktemp("lab")
    rng = np.random.default_rng(0)
    with (d / "lab.jsonl").open("w") as f:
        for _ in range(1500):
            seq = rng.integers(0, 12, int(rng.integers(2, 20))).tolist()
            f.write(json.dumps({"sequence": seq, "label": seq[-1] % 3}) + "\n")  # read at the end
    ingest.ingest_labelled([str(d / "lab.jsonl")], str(d / "ds"), task="classify", seed=2,
                         quiet=True, rows_per_group=128)
    return str(d / "ds")


def val_records(run_dir):
    return [json.loads(l) for l in (run_dir / "metrics.jsonl").read_text().splitlines()
            if json.loads(l)["kind"] == "val"]


def test_forecasting_a_series_beats_predicting_the_mean(series_dataset, tmp_path):
    m = data.read_manifest(series_dataset)
    assert (m.task, m.head_at, m.input_size) == ("regress", "last", 2)
    run = tmp_path / "run"
    train(small_config(series_dataset, run, **{
        "train.max_rounds": 0, "train.epochs": 8, "train.validate_every": 0, "optim.lr": 0.01,
        "model.cell": "gru", "model.hidden_sizes": [16], "train.averager": "bmuf"}), quiet=True)
    (val,) = val_records(run)
    assert val["loss"] < 0.1  # targets are normalised: predicting the mean costs ~1.0


def test_classifying_variable_length_sequences(classify_dataset, tmp_path):
    m = data.read_manifest(classify_dataset)
    assert (m.task, m.head_at, m.output_size) == ("classify", "last", 3)
    run = tmp_path / "run"
    train(small_config(classify_dataset, run, **{
        "train.max_rounds": 0, "train.epochs": 6, "train.validate_every": 0, "optim.lr": 0.02,
        "train.k1": 32, "data.bucket": True}), quiet=True)
    (val,) = val_records(run)
    assert val["accuracy"] > 0.9  # chance is 1/3; the label is the last real token mod 3
