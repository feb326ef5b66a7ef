"""Shard planning and writing: deterministic Parquet files with row groups of a few MiB.

A split with ``R`` rows and ``E`` stored values is cut into ``ceil(bytes / shard_bytes)`` shards
(bytes estimated from the values, not from compressed output, so the plan is known before any
shard is written); each row lands in shard ``shard_of(hash)``. Inside a shard, rows are ordered by
hash and written in row groups of ``rows_per_group`` rows. Shards live in nested directories
``<split>/<index // 1000:03d>/part-<index:05d>.parquet`` so no directory holds more than 1000 files.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data.schema import order_rows, shard_of, steps_of

SPLITS = ("train", "val")
ROW_OVERHEAD = 24  # bytes per row besides its values (length, offsets, provenance)
DEFAULT_ROW_GROUP_BYTES = 4 << 20
DEFAULT_SHARD_BYTES = 64 << 20
COMPRESSION = "zstd"


@dataclass(frozen=True)
class SplitPlan:
    name: str
    n_shards: int
    rows_per_group: int


def estimate_bytes(rows: int, values: int) -> int:
    return int(values) * 4 + int(rows) * ROW_OVERHEAD


def plan_split(name: str, rows: int, values: int, *, shard_bytes: int = DEFAULT_SHARD_BYTES,
               row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
               rows_per_group: int | None = None) -> SplitPlan:
    """How many shards and how many rows per row group, from the split's totals alone."""
    if rows <= 0:
        return SplitPlan(name, 0, 1)
    total = estimate_bytes(rows, values)
    per_row = max(1.0, total / rows)
    rpg = rows_per_group or max(1, int(row_group_bytes // per_row))
    n = max(1, math.ceil(total / max(1, shard_bytes)))
    n = min(n, max(1, rows // rpg))  # never more shards than full row groups
    return SplitPlan(name, n, rpg)


def shard_path(split: str, index: int) -> str:
    """Relative path of shard ``index`` of ``split``."""
    return f"{split}/{index // 1000:03d}/part-{index:05d}.parquet"


class _HashingWriter:
    """File-like wrapper that hashes and counts every byte written through it."""

    def __init__(self, raw):
        self.raw, self.sha, self.pos, self.closed = raw, hashlib.sha256(), 0, False

    def write(self, data):
        data = bytes(data)
        self.sha.update(data)
        self.pos += len(data)
        return self.raw.write(data)

    def tell(self):
        return self.pos

    def flush(self):
        self.raw.flush()

    def writable(self):
        return True

    def close(self):
        self.closed = True


def write_shard(table: pa.Table, out_dir: str, split: str, index: int, rows_per_group: int,
                task: str, schema: pa.Schema) -> dict:
    """Write one shard (rows in canonical order) under ``out_dir``; return its manifest entry."""
    table = order_rows(table).cast(schema).combine_chunks()
    rel = shard_path(split, index)
    uri = fs.join(out_dir, rel)
    steps = steps_of(table, task)
    groups = []
    with fs.atomic_write(uri) as raw:
        sink = _HashingWriter(raw)
        writer = pq.ParquetWriter(sink, schema, compression=COMPRESSION, use_dictionary=False,
                                  write_statistics=False, store_schema=True)
        for start in range(0, table.num_rows, rows_per_group):
            part = table.slice(start, rows_per_group)
            writer.write_table(part, row_group_size=rows_per_group)
            groups.append({"rows": part.num_rows,
                           "tokens": int(steps[start:start + rows_per_group].sum())})
        writer.close()
    return {"path": rel, "split": split, "index": index, "sha256": sink.sha.hexdigest(),
            "bytes": sink.pos, "sequences": table.num_rows, "tokens": int(steps.sum()),
            "row_groups": groups}


def route(table: pa.Table, plans: dict) -> dict:
    """Group a block's rows by (split name, shard index) -> sub-table."""
    out = {}
    if table.num_rows == 0:
        return out
    split = table["_split"].to_numpy()
    h = table["_h"].to_numpy()
    for code, name in enumerate(SPLITS):
        plan = plans.get(name)
        sel = np.flatnonzero(split == code)
        if plan is None or plan.n_shards == 0 or len(sel) == 0:
            continue
        shard = shard_of(h[sel], plan.n_shards)
        order = np.argsort(shard, kind="stable")
        sel, shard = sel[order], shard[order]
        bounds = np.flatnonzero(np.diff(shard)) + 1
        for part_idx, part_shard in zip(np.split(sel, bounds), np.split(shard, bounds)):
            out[(name, int(part_shard[0]))] = table.take(pa.array(part_idx))
    return out
