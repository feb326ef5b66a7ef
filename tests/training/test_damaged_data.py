"""A damaged shard stops training with the same one line inline and on Spark (no Spark stack)."""

import shutil
from pathlib import Path

import pytest

from rnn_spark.cli import main


@pytest.fixture
def damaged_dataset(char_dataset, tmp_path) -> str:
    ds = tmp_path / "ds"
    shutil.copytree(char_dataset, ds)
    shard = sorted(Path(ds).rglob("*.parquet"))[0]
    shard.write_bytes(shard.read_bytes()[:-100])  # truncated
    return str(ds)


def train_args(ds, run, runner):
    return ["train", "--data", ds, "--run-dir", str(run), "--runner", runner, "--max-rounds", "2",
            "--hidden-sizes", "8", "--embedding-size", "4", "--k1", "8", "--batch-size", "4",
            "--steps-per-round", "1", "--workers", "2", "--master", "local[2,4]", "--quiet"]


@pytest.mark.spark
def test_damaged_shard_is_one_line_inline_and_on_spark(damaged_dataset, tmp_path, capsys):
    assert main(train_args(damaged_dataset, tmp_path / "inline", "inline")) == 2
    inline = capsys.readouterr().err
    assert main(train_args(damaged_dataset, tmp_path / "spark", "spark")) == 2
    spark = capsys.readouterr().err
    assert spark == inline
    assert len(spark.strip().splitlines()) == 1
    assert spark.startswith("error: ") and ".parquet" in spark and "ingest verify" in spark
