"""Shard files: deterministic Parquet files with row groups of a few MiB, and where they live.

Inside a shard, rows are in canonical order (by hash) and written in row groups of
``rows_per_group`` rows, zstd-compressed, no dictionary, no statistics: the same rows give the
same bytes. Shards live in nested directories ``<split>/<index // 1000:03d>/part-<index:05d>.parquet``
so no directory holds more than 1000 files. How many shards a split gets and which rows go where
is the ingest's business (:mod:`rnn_spark.ingest.plans`).
"""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data.schema import order_rows, steps_of

COMPRESSION = "zstd"


def shard_path(split: str, index: int) -> str:
    """Relative path of shard ``index`` of ``split``."""
    return f"{split}/{index // 1000:03d}/part-{index:05d}.parquet"


class HashingWriter:
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
        sink = HashingWriter(raw)
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
