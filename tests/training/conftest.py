"""A small char-level dataset made by the project's own ingest, shared by the trainer tests, and the
weights of an undisturbed small_config run on it (what interrupted runs must end with)."""

import sysconfig
from pathlib import Path

import pytest
from fault_tools import weights
from trainer_config import small_config

from rnn_spark import ingest
from rnn_spark.training.loop import train


@pytest.fixture(scope="session")
def char_dataset(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("ds") / "json-src"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ingest.ingest_text([str(stdlib / "json" / "*.py")], str(out), seq_len=33, rows_per_group=64,
                     val_fraction=0.1, seed=3, quiet=True)
    return str(out)


@pytest.fixture(scope="session")
def undisturbed(char_dataset, tmp_path_factory) -> dict:
    """The final weights of trainer_config.small_config's run, never interrupted."""
    run = tmp_path_factory.mktemp("undisturbed") / "run"
    train(small_config(char_dataset, run), quiet=True)
    return weights(str(run / "model"))
