"""The Spark engine of the ingest pipeline: executors read the inputs and write the shards.

Tasks: one ``scan`` per input file -- or, for text files larger than ``chunk_bytes``, one per
byte-range chunk (:mod:`rnn_spark.ingest.chunks`) -- collected to the driver, in file order; the
driver builds vocabulary / statistics and the shard plan; one ``block`` task per file or chunk
routes its rows to shards by hash; ``partitionBy`` sends every shard's rows to one task, which
sorts them and writes the shard with pyarrow through :mod:`rnn_spark.fs` into the staging
directory. The driver writes the manifest. Every step runs the same code as the local engine, so
the bytes are the same. The session is training's (package shipping, HDFS settings, BLAS pins).

User errors raised inside tasks (bad rows, missing files) come back as one-line DataErrors.
"""

from __future__ import annotations

import re

from rnn_spark import fs
from rnn_spark.data.schema import SPLITS
from rnn_spark.data.shards import write_shard
from rnn_spark.errors import ConfigError, DataError, UserError
from rnn_spark.ingest.chunks import DEFAULT_CHUNK_BYTES, n_chunks
from rnn_spark.ingest.plans import build_manifest, make_plans, route
from rnn_spark.ingest.spark_progress import JobProgress
from rnn_spark.ingest.stop import stop_with

_ERR_RE = re.compile(r"rnn_spark\.[\w.]*?\.?(?:DataError|ConfigError|UserError|Fs\w+): ([^\n]+)")


def _reraise(exc: Exception):
    if isinstance(exc, UserError):
        raise exc
    m = _ERR_RE.search(str(exc))
    if m:
        raise DataError(m.group(1).strip()) from None
    raise exc


def _run_job(sc, step: str, what: str, label: str, say, action):
    """``action()`` (a Spark action) as the job group ``rnn-spark: ingest: STEP`` described as
    ``ingest: WHAT`` (both shown in the Spark UI), its progress on stderr, cancelled on SIGTERM
    or Ctrl-C (:mod:`.stop`), a task's user error raised as the same one line."""
    group = f"rnn-spark: ingest: {step}"
    sc.setJobGroup(group, f"ingest: {what}")
    try:
        with stop_with(lambda: sc.cancelJobGroup(group)), JobProgress(sc, group, label, say):
            return action()
    except Exception as exc:  # noqa: BLE001 - Py4J wraps the task's error
        _reraise(exc)


def session(master: str):
    """The active SparkSession (spark-submit) or a new one on ``master``, set up the way training
    sets up its own (:func:`rnn_spark.runners.spark.get_spark_session`); (session, created)."""
    from pyspark.sql import SparkSession

    from rnn_spark.runners.spark import get_spark_session
    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    spark = get_spark_session(master, "rnn-spark ingest", {"spark.ui.enabled": "false",
                                                           "spark.ui.showConsoleProgress": "false"})
    spark.sparkContext.setLogLevel("ERROR")
    return spark, True


def scan_items(job, srcs, chunk_bytes: int) -> list[tuple]:
    """Scan tasks ``(file index, uri, size, chunk)``: chunk -1 = the whole file, else the chunk
    number of a file cut into byte ranges (chunkable jobs, files larger than ``chunk_bytes``)."""
    items = []
    for i, s in enumerate(srcs):
        k = n_chunks(s["bytes"], chunk_bytes) if job.chunkable else 1
        items += [(i, s["uri"], s["bytes"], -1)] if k == 1 else \
            [(i, s["uri"], s["bytes"], c) for c in range(k)]
    return items


def merge_scans(job, items, results):
    """Per-file scans in file order and the block tasks ``(file index, uri, chunk args|None)``;
    the first user error in file order (then byte order) is raised here, on the driver."""
    by_file: dict[int, list] = {}
    for (i, uri, size, k), res in sorted(zip(items, results), key=lambda t: t[0][::3]):
        by_file.setdefault(i, []).append((uri, size, k, res))
    scans, blocks = [], []
    for i in sorted(by_file):
        parts = by_file[i]
        for *_, res in parts:
            if isinstance(res, tuple) and res[0] == "error":
                raise DataError(res[1])
        uri, size, k, res = parts[0]
        if k < 0:
            scans.append(res)
            blocks.append((i, uri, None))
            continue
        scan, args = job.merge_chunks(i, uri, size, [p[3] for p in parts])
        scans.append(scan)
        blocks += [(i, uri, a) for a in args]
    return scans, blocks


def check_visible(master: str, uris) -> None:
    """On a cluster (not local[N]) the executors read the inputs and write the output: all on
    HDFS. Also checked by `rnn-spark submit ingest --engine spark` before it launches."""
    if master.startswith("local"):
        return
    local = [u for u in uris if not fs.is_remote(u)]
    if local:
        raise ConfigError(f"{local[0]}: with Spark master {master} inputs and output "
                          "must be on HDFS (executors cannot see local paths)")


def write_blocks(sc, blocks, plans, tmp: str, task: str, schema, say) -> list[dict]:
    """Route the rows of every block (an RDD of Arrow tables of shard rows with ``_h`` and
    ``_split``) to their shards -- ``partitionBy`` sends each shard's rows to one task -- and
    write the shards there; -> their manifest entries."""
    base, total = {}, 0
    for name in SPLITS:
        base[name] = total
        total += plans[name].n_shards
    names = {base[n] + i: (n, i) for n in SPLITS for i in range(plans[n].n_shards)}

    def pieces(table):
        for (name, idx), part in route(table, plans).items():
            yield base[name] + idx, part

    def write(it):
        items = list(it)
        if not items:
            return []
        import pyarrow as pa
        name, idx = names[items[0][0]]
        table = pa.concat_tables([p for _, p in items])
        return [write_shard(table, tmp, name, idx, plans[name].rows_per_group, task, schema)]

    return _run_job(sc, "write", "write shards", f"write of {total} shard(s)", say,
                    lambda: blocks.flatMap(pieces).partitionBy(total, lambda k: k)
                    .mapPartitions(write).collect())


def spark_run(job, srcs, tmp, *, seed: int, master: str, say, plan_args: dict,
              chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> dict:
    spark, created = session(master)
    try:
        sc = spark.sparkContext
        check_visible(sc.master, [tmp] + [s["uri"] for s in srcs])
        items = scan_items(job, srcs, chunk_bytes)

        def scan(t):
            i, uri, size, k = t
            try:
                return job.scan(i, uri) if k < 0 else job.scan_chunk(i, uri, size, k, chunk_bytes)
            except UserError as exc:  # reported by the driver, first in file order
                return ("error", str(exc))

        mb = sum(s["bytes"] for s in srcs) / 1e6
        results = _run_job(sc, "scan", "scan", f"scan of {len(srcs)} file(s), {mb:.1f} MB", say,
                           lambda: sc.parallelize(items, max(1, min(len(items), 10000)))
                           .map(scan).collect())
        scans, blocks = merge_scans(job, items, results)
        say(f"scanned {len(scans)} file(s) in {len(items)} task(s) on Spark ({sc.master})")
        job.finalize(scans, srcs)
        plans = make_plans(job, scans, sources=srcs, **plan_args)
        schema, task = job.schema(), job.task

        def block(t):
            i, uri, a = t
            return job.block(i, uri) if a is None else job.block_chunk(i, uri, a)

        infos = write_blocks(sc, sc.parallelize(blocks, max(1, min(len(blocks), 10000)))
                             .map(block), plans, tmp, task, schema, say)
        say(f"wrote {len(infos)} shard(s) on Spark from {len(blocks)} block task(s)")
        return build_manifest(job, srcs, plans, infos, seed)
    except BaseException:
        if created:  # stop the tasks before the staging directory goes; keep the first error
            try:  # a stop that kills running tasks makes Spark log internal errors: not news
                spark.sparkContext.setLogLevel("OFF")
                spark.stop()
            except Exception:  # noqa: BLE001 - e.g. the JVM got the same SIGTERM and is gone
                pass
            created = False
        raise
    finally:
        if created:
            spark.stop()
