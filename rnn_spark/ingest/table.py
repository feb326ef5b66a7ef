"""``ingest_table``: sequences from a Spark SQL table, a query, a dataset path or a DataFrame.

The steps, on either engine (:mod:`.table_local`: pyarrow, a ``--path`` in this process;
:mod:`.table_spark`: the executors):

1. the options checked (:class:`~.table_spec.TableSpec`), the columns against the source's
   schema, the output against the ``--overwrite`` rule -- before any row is read;
2. the order column's range, when the time split needs a cut-off (:func:`.table_scan.range_chunk`);
3. the scan (:func:`.table_scan.scan_chunk`): what is wrong with the rows, the exact moments of
   the training split's numeric values; the vocabularies and classes from value counts;
   :func:`.table_final.finalize` -> one line for the first problem, or a ``Final``;
4. the blocks and shards, written into a staging directory renamed into place at the end.

The local and Spark engines write the same bytes for the same rows (tests/ingest/test_table_*).
"""

from __future__ import annotations

import os

import contextlib
from dataclasses import dataclass, field
from typing import Any

from rnn_spark.data.manifest import Manifest
from rnn_spark.errors import ConfigError, DataError
from rnn_spark.fs.guard import check_output
from rnn_spark.fs.kinds import DATASET
from rnn_spark.ingest.job import Progress
from rnn_spark.ingest.pipeline import AUTO_SPARK_BYTES, commit_dataset
from rnn_spark.ingest.plans import (DEFAULT_ROW_GROUP_BYTES, DEFAULT_SHARD_BYTES,
                                    build_manifest, plan_split)
from rnn_spark.ingest.table_final import finalize, start, totals_ok, with_order
from rnn_spark.ingest.table_scan import merge_ranges, merge_scans, range_chunk, scan_chunk
from rnn_spark.ingest.table_spec import FORMATS, TableSpec, check_columns
from rnn_spark.spark_master import DEFAULT_MASTER, check_master

_EXT = {".parquet": "parquet", ".pq": "parquet", ".orc": "orc", ".csv": "csv", ".json": "json",
        ".jsonl": "json"}


@dataclass(frozen=True)
class TableSource:
    """Where the rows are: exactly one of a table name, a query, a path (with its format) or a
    DataFrame (the Python API's)."""

    table: str | None = None
    sql: str | None = None
    path: str | None = None
    format: str | None = None
    dataframe: Any = field(default=None, compare=False, repr=False)

    def check(self) -> "TableSource":
        given = [f for f, v in (("--table", self.table), ("--sql", self.sql),
                                ("--path", self.path), ("dataframe", self.dataframe))
                 if v is not None]
        if len(given) != 1:
            raise ConfigError("name the rows with one of --table NAME, --sql QUERY or --path URI "
                              "--format FMT" if not given else
                              f"{' and '.join(given)}: give only one source")
        if self.format is not None and self.path is None:
            raise ConfigError("--format: only with --path (a table knows its own format)")
        if self.format is not None and self.format not in FORMATS:
            raise ConfigError(f"--format: {self.format!r} is not one of {', '.join(FORMATS)}")
        return self

    @property
    def fmt(self) -> str:
        if self.format:
            return self.format
        name = self.path.rstrip("/").lower()
        for ext, f in _EXT.items():
            if name.endswith(ext):
                return f
        raise ConfigError(f"--path {self.path}: cannot tell the format from the name; pass "
                          f"--format {'|'.join(FORMATS)}")

    @property
    def where(self) -> str:
        if self.table:
            return f"table {self.table}"
        if self.sql:
            return "the --sql query"
        return self.path if self.path else "the DataFrame"

    def manifest(self) -> list[dict]:
        if self.table:
            return [{"table": self.table}]
        if self.sql:
            return [{"sql": self.sql}]
        if self.path:
            return [{"uri": self.path, "format": self.fmt}]
        return [{"dataframe": True}]

    def dataframe_of(self, spark):
        if self.dataframe is not None:
            return self.dataframe
        if self.table:
            return spark.table(self.table)
        if self.sql:
            return spark.sql(self.sql)
        reader = spark.read.format(self.fmt)
        if self.fmt == "csv":
            reader = reader.option("header", "true")
        # rnn-spark's convention: a path without a scheme is local, also where HADOOP_CONF_DIR
        # makes Spark's default file system HDFS
        return reader.load(self.path if "://" in self.path else
                           "file://" + os.path.abspath(self.path))


def _local_path(uri: str) -> str:
    """Spark's ``file:/x`` and ``file:///x`` as a local path; other URIs as they are."""
    if uri.startswith("file://"):
        return uri[7:]
    return uri[5:] if uri.startswith("file:/") else uri


def _spark_inputs(src: TableSource, df, spark) -> list[str]:
    """Where the rows come from (for the --overwrite rule: never write into them): the path,
    the table's location, else the files Spark reads."""
    if src.path:
        return [src.path]
    if src.table:
        try:
            for row in spark.sql(f"DESCRIBE TABLE EXTENDED {src.table}").collect():
                if row[0] == "Location" and row[1]:
                    return [_local_path(row[1])]
        except Exception:  # noqa: BLE001 - a view or a temp table: fall back to its files
            pass
    return sorted({_local_path(f) for f in df.inputFiles()})


@contextlib.contextmanager
def _opened(src: TableSource, engine: str, master: str, say: Progress):
    """(the source as an engine, the paths it reads)."""
    if engine == "local":
        from rnn_spark.ingest.table_local import LocalTable
        yield LocalTable(src.path, src.fmt), [src.path]
        return
    from rnn_spark.ingest.table_spark import SparkTable
    if src.dataframe is not None:
        df = src.dataframe
        yield SparkTable(df, say), _spark_inputs(src, df, df.sparkSession)
        return
    from rnn_spark.ingest.spark import session
    check_master(master)
    spark, created = session(master)
    try:
        df = _spark_errors(src, lambda: src.dataframe_of(spark))
        yield SparkTable(df, say), _spark_inputs(src, df, spark)
    except BaseException:
        if created:  # stop running tasks before the staging directory goes
            with contextlib.suppress(Exception):
                spark.sparkContext.setLogLevel("OFF")
                spark.stop()
            created = False
        raise
    finally:
        if created:
            spark.stop()


def _spark_errors(src: TableSource, make):
    """The source's DataFrame; a missing table or a bad query is one line."""
    try:
        return make()
    except Exception as exc:  # noqa: BLE001 - AnalysisException, ParseException, ...
        kind = type(exc).__name__
        if "Exception" not in kind or kind in ("KeyboardInterrupt",):
            raise
        text = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else kind
        raise DataError(f"{src.where}: Spark cannot read it ({text}); check the name, the "
                        "query or the path") from None


def _engine(src: TableSource, engine: str) -> str:
    if engine not in ("auto", "local", "spark"):
        raise ConfigError(f"engine: {engine!r} is not one of auto, local, spark")
    if src.path is None:
        if engine == "local":
            raise ConfigError("--engine local: reads --path only; a table, a query or a "
                              "DataFrame is read by Spark (--engine spark)")
        return "spark"
    if engine == "auto":
        from rnn_spark.ingest.sources import find_inputs
        size = sum(f["bytes"] for f in find_inputs([src.path]).files)
        return "spark" if size > AUTO_SPARK_BYTES else "local"
    return engine


def ingest_table(out: str, *, table: str | None = None, sql: str | None = None,
                 path: str | None = None, format: str | None = None, dataframe=None,
                 overwrite: bool = False, engine: str = "auto", master: str = DEFAULT_MASTER,
                 shard_bytes: int = DEFAULT_SHARD_BYTES,
                 row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
                 rows_per_group: int | None = None, quiet: bool = True, **options) -> Manifest:
    """Sequences from a table into the shard directory ``out``; return its Manifest.

    The source: ``table`` (a Spark SQL table name), ``sql`` (a query), ``path`` + ``format``
    (parquet, orc, csv, json) or ``dataframe`` (a pyspark DataFrame: read on its own session).
    ``options``: the :class:`~rnn_spark.ingest.table_spec.TableSpec` fields (``group_by``,
    ``order_by``, ``categorical``, ``numeric``, ``label``, ...), named like the CLI's flags.
    """
    try:
        spec = TableSpec(**options).check()
    except TypeError as err:
        raise ConfigError(f"ingest_table: {err}") from None
    src = TableSource(table, sql, path, format, dataframe).check()
    engine = _engine(src, engine)
    if rows_per_group is not None and rows_per_group < 1:
        raise ConfigError("rows_per_group: must be >= 1")
    if row_group_bytes < 1 or shard_bytes < 1:
        raise ConfigError("row_group_bytes / shard_bytes: must be >= 1")
    say = Progress(quiet)

    def planner(totals: dict) -> dict:
        totals_ok(F, totals)
        return {name: plan_split(name, t["rows"], t["values"], shard_bytes=shard_bytes,
                                 row_group_bytes=row_group_bytes, rows_per_group=rows_per_group)
                for name, t in totals.items()}

    with _opened(src, engine, master, say) as (tab, inputs):
        types = tab.types()
        check_columns(spec, types, src.where)
        replace = check_output(out, inputs, overwrite=overwrite, kind=DATASET,
                               what_flag="--out", error=DataError)
        if tab.engine == "spark":
            from rnn_spark.ingest.spark import check_visible
            check_visible(tab.sc.master, [out])
        say(f"{src.where}: engine {tab.engine}")
        F = start(spec, {c: types[c] for c in spec.columns()}, src.where)
        ranges = None
        if spec.order_by and (types[spec.order_by] == "string" or
                              (spec.split_by == "time" and spec.split_at is None)):
            ranges = merge_ranges(tab.map(range_chunk, F, [spec.order_by], merge_ranges,
                                          "order range"))
        F = with_order(F, ranges)
        scan = merge_scans(tab.map(scan_chunk, F, spec.columns(), merge_scans, "scan"))
        F = finalize(F, scan, tab.value_counts)
        say(f"scanned {scan['rows']} row(s): {F.kind} inputs, task {F.task}")

        def write(tmp: str) -> dict:
            plans, infos = tab.write(F, tmp, planner, say)
            return build_manifest(F, src.manifest(), plans, infos, spec.seed)
        return commit_dataset(out, replace, say, write)
