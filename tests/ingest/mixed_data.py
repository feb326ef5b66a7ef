"""A small mixed table dataset for the training, serving and export tests: `ingest table` of an
event table with two categorical columns (event, tier) and two numeric ones (amount, hour)."""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.compute as pc

from table_data import events, write_parquet

OPTIONS = dict(group_by=["user"], order_by="ts", categorical=["event", "tier"],
               numeric=["amount", "hour"], label="churn", rows_per_group=16)


def mixed_table(n_users: int = 60) -> pa.Table:
    t = events(n_users)
    hour = pc.divide(pc.cast(pc.remainder(t["ts"], 86400), pa.float64()), 3600.0)
    return t.append_column("hour", hour)


def mixed_dataset(root, n_users: int = 60, **over) -> str:
    """``root/mixed.parquet`` -> ``root/mixed`` (a dataset of kind mixed); its path."""
    from rnn_spark.ingest.table import ingest_table
    os.makedirs(root, exist_ok=True)
    p = write_parquet(mixed_table(n_users), f"{root}/mixed.parquet")
    out = f"{root}/mixed"
    ingest_table(out, path=p, **{**OPTIONS, **over})
    return out
