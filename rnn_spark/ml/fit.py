"""One ``fit``: the DataFrame's sequences -> a table dataset -> a training run -> its model.

Each fit gets a directory of its own, ``<stagingDir or runDir>/fit-<time>-<id>/`` holding
``data/`` (the shards ``rnn-spark ingest table --sequence FEATURES --label LABEL`` would write
from the same rows) and ``run/`` (the run ``rnn-spark train --data data/`` would make with the
same configuration), so a grid search's fits never share a directory, and each fit's weights
are bit for bit those of the same two commands (tests/ml/test_cli_parity.py).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from rnn_spark import fs
from rnn_spark.config import Config
from rnn_spark.errors import UserError


@dataclass(frozen=True)
class FitResult:
    model: str      # the run's model directory (RUN/model)
    run: str
    data: str
    summary: dict


def check_columns(df, cols: dict, who: str) -> None:
    """Each ``param -> column`` is a column of ``df``; else one line naming both."""
    have = list(df.columns)
    for param, col in cols.items():
        if col not in have:
            import difflib
            close = difflib.get_close_matches(col, have, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"{who}: the DataFrame has no column {col!r} ({param}){hint}; its "
                            f"columns: {', '.join(have)}")


def fit_dir(base: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return fs.join(base, f"fit-{stamp}-{secrets.token_hex(3)}")


def run_fit(cfg: Config, df, *, features: str, label: str, task: str, staging: str,
            ingest: dict, verbose: bool) -> FitResult:
    """Ingest ``df``'s (features, label) rows and train ``cfg`` on them (see the module doc)."""
    from pyspark import StorageLevel

    from rnn_spark.ingest.table import ingest_table
    from rnn_spark.training.loop import train
    from rnn_spark.training.rundir import RunDir

    sc = df.sparkSession.sparkContext
    if not sc.master.startswith("local"):  # executors run this rnn_spark, as training's do
        from rnn_spark.runners.spark import ship_package
        ship_package(sc)
    root = fit_dir(staging or cfg.train.run_dir)
    data, run = fs.join(root, "data"), fs.join(root, "run")
    cfg.data.path, cfg.train.run_dir = data, run
    cfg.validate()
    rows = df.select(features, label)
    cached = rows.storageLevel == StorageLevel.NONE
    if cached:  # read several times (scan, values, blocks): read the source once
        rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        ingest_table(data, dataframe=rows, sequence=features, label=label, task=task,
                     seed=cfg.train.seed, quiet=not verbose, **ingest)
    finally:
        if cached:
            rows.unpersist()
    summary = train(cfg, quiet=not verbose)
    return FitResult(RunDir(run).model, run, data, summary)
