"""``ingest table``'s Spark engine: the table stays on the executors.

* scans: ``mapInArrow`` over the table's partitions, one JSON summary per partition (exact sums,
  counts: :mod:`.table_scan`) collected and added up on the driver; the vocabularies and classes
  by ``groupBy(column).count()``;
* blocks: the rows hashed by their group key to partitions and sorted by it inside each
  (``repartition`` + ``sortWithinPartitions``: a group's rows are contiguous), then a
  ``mapInArrow`` cuts each partition's record batches into chunks of whole groups and turns each
  into shard rows (:func:`.table_block.block_chunk`, the local engine's code), kept as Arrow IPC
  blobs on the executors (persisted) while their totals make the shard plan;
* write: every blob's rows routed to their shards, one task per shard
  (:func:`rnn_spark.ingest.spark.write_blocks`).

Rows never come to the driver; only summaries, vocabularies and the shards' manifest entries do.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rnn_spark.data.schema import SPLITS
from rnn_spark.ingest.spark import _run_job, write_blocks
from rnn_spark.ingest.table_block import block_chunk

CHUNK_ROWS = 1 << 16   # rows of whole groups handed to block_chunk at once (more for big groups)
PARTITION_BYTES = 64 << 20  # the group shuffle: a partition per this many bytes of the table


def spark_type_name(dt) -> str:
    """A Spark SQL type as the checks see it (table_spec.type_name's names)."""
    from pyspark.sql import types as T
    if isinstance(dt, (T.StringType, T.VarcharType, T.CharType)):
        return "string"
    if isinstance(dt, T.BooleanType):
        return "bool"
    if isinstance(dt, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        return "int"
    if isinstance(dt, (T.FloatType, T.DoubleType, T.DecimalType)):
        return "float"
    if isinstance(dt, (T.TimestampType, T.TimestampNTZType)):
        return "time"
    if isinstance(dt, T.DateType):
        return "date"
    if isinstance(dt, T.ArrayType):
        inner = spark_type_name(dt.elementType)
        if inner in ("int", "float"):
            return f"array<{inner}>"
        if inner in ("array<float>", "array<int>"):
            return "array<array<float>>"
    return dt.simpleString()


def _last_group_start(table: pa.Table, keys) -> int:
    """Index of the first row of the table's last group (rows arrive sorted by ``keys``)."""
    same = np.ones(table.num_rows, bool)
    for k in keys:
        col = table[k].combine_chunks()
        same &= pc.equal(col, col[len(col) - 1]).fill_null(False).to_numpy(zero_copy_only=False)
    differ = np.flatnonzero(~same)
    return int(differ[-1]) + 1 if len(differ) else 0


def whole_groups(batches, keys, target: int = CHUNK_ROWS):
    """Record batches sorted by ``keys`` -> tables of whole groups of about ``target`` rows or
    more (a group larger than that comes whole); no keys: the batches as they come."""
    pending, rows, need = [], 0, target
    for b in batches:
        if b.num_rows == 0:
            continue
        pending.append(pa.Table.from_batches([b]))
        rows += b.num_rows
        if rows < need:
            continue
        table = pa.concat_tables(pending)
        cut = table.num_rows if not keys else _last_group_start(table, keys)
        if cut == 0:  # one group so far: wait for its end (doubling: no quadratic copying)
            pending, need = [table], rows * 2
            continue
        yield table.slice(0, cut)
        rest = table.slice(cut)
        pending, rows, need = ([rest] if rest.num_rows else []), rest.num_rows, target
    if rows:
        yield pa.concat_tables(pending)


def _ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def _values(table: pa.Table) -> np.ndarray:
    return sum(pc.list_value_length(table[c]).to_numpy(zero_copy_only=False)
               for c in ("x", "xn", "y") if c in table.column_names
               and pa.types.is_list(table.schema.field(c).type))


BLOBS = "split tinyint, rows bigint, vals bigint, data binary"


class SparkTable:
    """A DataFrame (a table, a query's result, a dataset read by Spark) as ingest's source."""

    engine = "spark"

    def __init__(self, df, say):
        self.df, self.say = df, say
        self.sc = df.sparkSession.sparkContext

    def types(self) -> dict:
        return {f.name: spark_type_name(f.dataType) for f in self.df.schema.fields}

    def map(self, fn, F, columns, merge, what: str) -> list:
        """``fn(chunk, F)`` over every partition's batches, merged per partition by ``merge``."""
        def part(batches):
            out = [fn(pa.Table.from_batches([b]), F) for b in batches if b.num_rows]
            if out:
                yield pa.RecordBatch.from_pydict({"s": [json.dumps(merge(out))]})

        df = self.df.select(*columns).mapInArrow(part, "s string")
        rows = _run_job(self.sc, what, what, f"{what} of the table", self.say,
                        lambda: df.collect())
        return [json.loads(r[0]) for r in rows]

    def partitions(self, df) -> int:
        """How many partitions the group shuffle makes: one per PARTITION_BYTES of the table
        (Spark's estimate of the columns read), at least one per core, at most
        spark.sql.shuffle.partitions."""
        try:
            size = int(df._jdf.queryExecution().optimizedPlan().stats().sizeInBytes())
        except Exception:  # noqa: BLE001 - no estimate: Spark's own setting
            size = None
        most = int(df.sparkSession.conf.get("spark.sql.shuffle.partitions") or 200)
        least = max(1, self.sc.defaultParallelism)
        if size is None:
            return max(least, most)
        return max(least, min(most, -(-size // PARTITION_BYTES)))

    def value_counts(self, col: str) -> list:
        from pyspark.sql import functions as Fn
        rows = _run_job(self.sc, "count values", f"count the values of {col}",
                        f"values of {col}", self.say,
                        lambda: self.df.where(Fn.col(col).isNotNull()).groupBy(col).count()
                        .collect())
        return [(r[0], r[1]) for r in rows]

    def write(self, F, tmp: str, planner, say) -> tuple[dict, list]:
        from pyspark import StorageLevel
        from pyspark.sql import functions as Fn
        spec = F.spec
        df = self.df.select(*spec.columns())
        keys = list(spec.group_by)
        if spec.events:
            df = df.repartition(self.partitions(df), *keys).sortWithinPartitions(*keys)

        def blocks(batches):
            for chunk in whole_groups(batches, keys):
                block = block_chunk(chunk, F)
                split, values = block["_split"].to_numpy(), _values(block)
                for code in range(len(SPLITS)):
                    sel = np.flatnonzero(split == code)
                    if len(sel):
                        yield pa.RecordBatch.from_pydict({
                            "split": pa.array([code], pa.int8()),
                            "rows": [len(sel)], "vals": [int(values[sel].sum())],
                            "data": [_ipc(block.take(pa.array(sel)))]})

        out = df.mapInArrow(blocks, BLOBS).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            got = _run_job(self.sc, "sequences", "make sequences", "sequences", say,
                           lambda: out.groupBy("split").agg(Fn.sum("rows"), Fn.sum("vals"))
                           .collect())
            totals = {name: {"rows": 0, "values": 0} for name in SPLITS}
            for code, rows, vals in got:
                totals[SPLITS[code]] = {"rows": int(rows), "values": int(vals)}
            plans = planner(totals)
            tables = out.select("data").rdd.map(
                lambda r: pa.ipc.open_stream(pa.py_buffer(bytes(r[0]))).read_all())
            infos = write_blocks(self.sc, tables, plans, tmp, F.task, F.schema(), say)
        finally:
            out.unpersist()
        return plans, infos
