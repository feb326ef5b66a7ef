"""A small char-level dataset made by the project's own ingest, shared by the trainer tests."""

import sysconfig
from pathlib import Path

import pytest

from rnn_spark import ingest


@pytest.fixture(scope="session")
def char_dataset(tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("ds") / "json-src"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ingest.ingest_text([str(stdlib / "json" / "*.py")], str(out), seq_len=33, rows_per_group=64,
                     val_fraction=0.1, seed=3, quiet=True)
    return str(out)
