"""The Spark engine of the ingest pipeline: executors read the inputs and write the shards.

Tasks: one ``scan`` per input file (collected to the driver, in file order); the driver builds
vocabulary / statistics and the shard plan; one ``block`` task per input file routes its rows to
shards by hash; ``partitionBy`` sends every shard's rows to one task, which sorts them and writes
the shard with pyarrow through :mod:`rnn_spark.fs` into the staging directory. The driver writes
the manifest. Every step runs the same code as the local engine, so the bytes are the same.

User errors raised inside tasks (bad rows, missing files) come back as one-line DataErrors.
"""

from __future__ import annotations

import os
import re
import sys

from rnn_spark.data.pipeline import build_manifest, make_plans
from rnn_spark.data.shards import SPLITS, route, write_shard
from rnn_spark import fs
from rnn_spark.errors import ConfigError, DataError, UserError

_ERR_RE = re.compile(r"rnn_spark\.[\w.]*?\.?(?:DataError|ConfigError|UserError|Fs\w+): ([^\n]+)")


def _reraise(exc: Exception):
    if isinstance(exc, UserError):
        raise exc
    m = _ERR_RE.search(str(exc))
    if m:
        raise DataError(m.group(1).strip()) from None
    raise exc


def session(master: str):
    """The active SparkSession (spark-submit) or a new one on ``master``; (session, created)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    spark = (SparkSession.builder.master(master).appName("rnn-spark ingest")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


def spark_run(job, srcs, tmp, *, seed: int, master: str, say, plan_args: dict) -> dict:
    spark, created = session(master)
    try:
        sc = spark.sparkContext
        if not sc.master.startswith("local"):
            local = [u for u in [tmp] + [s["uri"] for s in srcs] if not fs.is_remote(u)]
            if local:
                raise ConfigError(f"{local[0]}: with Spark master {sc.master} inputs and output "
                                  "must be on HDFS (executors cannot see local paths)")
        files = [(i, s["uri"]) for i, s in enumerate(srcs)]
        parts = max(1, min(len(files), 10000))
        try:
            scans = sc.parallelize(files, parts).map(lambda t: (t[0], job.scan(*t))).collect()
        except Exception as exc:  # noqa: BLE001 - Py4J wraps the task's error
            _reraise(exc)
        scans = [s for _, s in sorted(scans, key=lambda t: t[0])]
        say(f"scanned {len(scans)} file(s) on Spark ({sc.master})")
        job.finalize(scans, srcs)
        plans = make_plans(job, scans, sources=srcs, **plan_args)
        base = {}
        total = 0
        for name in SPLITS:
            base[name] = total
            total += plans[name].n_shards
        names = {base[n] + i: (n, i) for n in SPLITS for i in range(plans[n].n_shards)}
        schema, task = job.schema(), job.task

        def pieces(t):
            for (name, idx), part in route(job.block(*t), plans).items():
                yield base[name] + idx, part

        def write(it):
            items = list(it)
            if not items:
                return []
            import pyarrow as pa
            name, idx = names[items[0][0]]
            table = pa.concat_tables([p for _, p in items])
            return [write_shard(table, tmp, name, idx, plans[name].rows_per_group, task, schema)]

        try:
            infos = (sc.parallelize(files, parts).flatMap(pieces)
                     .partitionBy(total, lambda k: k).mapPartitions(write).collect())
        except Exception as exc:  # noqa: BLE001
            _reraise(exc)
        say(f"wrote {len(infos)} shard(s) on Spark")
        return build_manifest(job, srcs, plans, infos, seed)
    finally:
        if created:
            spark.stop()
