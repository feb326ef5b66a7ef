"""The ingest pipeline shared by text, series and labelled inputs, and its local engine.

Every ingest is a *job* with three pure steps, each a function of its input file and options:

1. ``scan(i, uri)``    -> small per-file summary (rows/values per split, char counts, stat sums);
2. ``finalize(scans)`` on the driver, in file order -> vocabulary / statistics / sizes;
3. ``block(i, uri)``   -> an Arrow table of finished rows with their hash and split.

Rows are then routed to shards by hash and each shard is sorted and written. The Spark engine
(:mod:`rnn_spark.data.spark_ingest`) runs steps 1 and 3 and the shard writes in executors; the
local engine below runs them in this process. Both produce the same bytes. The whole output is
written into a staging directory renamed into place at the end: nothing half-written is visible.
"""

from __future__ import annotations

import os
import sys
import time

import pyarrow as pa

from rnn_spark import fs
from rnn_spark.data.chunks import DEFAULT_CHUNK_BYTES
from rnn_spark.data.manifest import MANIFEST_NAME, dump_manifest, read_manifest
from rnn_spark.data.schema import FORMAT, SCHEMA_VERSION, arrow_schema
from rnn_spark.data.shards import (DEFAULT_ROW_GROUP_BYTES, DEFAULT_SHARD_BYTES, SPLITS,
                                   plan_split, route, write_shard)
from rnn_spark.errors import ConfigError, DataError

AUTO_SPARK_BYTES = 256 << 20
_GLOB_CHARS = "*?["


class Progress:
    def __init__(self, quiet: bool):
        self.quiet, self.t0 = quiet, time.monotonic()

        self.last = -1e9

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            self.last = time.monotonic()
            print(f"ingest [{self.last - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    def tick(self, msg: str, last: bool = False) -> None:
        """Like calling, but at most one line every 2 s (and always the ``last`` one)."""
        if last or time.monotonic() - self.last >= 2.0:
            self(msg)


def resolve_sources(sources) -> list[dict]:
    """Expand paths, globs and directories to a sorted list of ``{"uri", "bytes"}``."""
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    found = set()
    for src in sources:
        src = os.fspath(src)
        if any(c in src for c in _GLOB_CHARS):
            matches = fs.glob(src)
            if not matches:
                raise DataError(f"{src}: no file matches this pattern; check the path")
            found.update(m for m in matches if not fs.isdir(m))
        elif not fs.exists(src):
            raise DataError(f"{src}: input not found; check the path")
        elif fs.isdir(src):
            files = fs.walk_files(src)
            if not files:
                raise DataError(f"{src}: directory holds no input files")
            found.update(files)
        else:
            found.add(src)
    if not found:
        raise DataError("no input files given")
    out = []
    for uri in sorted(found):
        out.append({"uri": uri, "bytes": int(fs.info(uri)["size"])})
    return out


def read_source(uri: str) -> bytes:
    """Whole input file as bytes (naming it in errors)."""
    try:
        return fs.read_bytes(uri)
    except fs.FsNotFound:
        raise DataError(f"{uri}: input not found (was it removed during the ingest?)") from None


class Job:
    """Base of the three ingest kinds; subclasses set kind/task/head_at and the three steps."""

    type = "?"
    kind = task = head_at = None
    chunkable = False  # True: also has scan_chunk / merge_chunks / block_chunk (Spark engine)

    def scan(self, idx: int, uri: str) -> dict:
        raise NotImplementedError

    def finalize(self, scans: list[dict], sources: list[dict]) -> None:
        raise NotImplementedError

    def block(self, idx: int, uri: str) -> pa.Table:
        raise NotImplementedError

    def fields(self) -> dict:
        """vocab_size, input_size, output_size, vocab, stats, options for the manifest."""
        raise NotImplementedError

    def schema(self) -> pa.Schema:
        return arrow_schema(self.kind, self.task)


def totals(scans: list[dict]) -> dict:
    t = {name: {"rows": 0, "values": 0} for name in SPLITS}
    for s in scans:
        for code, name in enumerate(SPLITS):
            t[name]["rows"] += int(s["rows"][code])
            t[name]["values"] += int(s["values"][code])
    return t


def make_plans(job: Job, scans, *, shard_bytes, row_group_bytes, rows_per_group, sources):
    tot = totals(scans)
    if tot["train"]["rows"] == 0:
        if tot["val"]["rows"]:
            raise DataError(f"all {tot['val']['rows']} sequences went to validation; "
                            "lower --val-fraction")
        first = sources[0]["uri"] + (f" (and {len(sources) - 1} more)" if len(sources) > 1 else "")
        raise DataError(f"{first}: no sequence of at least 2 steps in the input; "
                        "check the files and the length options")
    return {name: plan_split(name, tot[name]["rows"], tot[name]["values"],
                             shard_bytes=shard_bytes, row_group_bytes=row_group_bytes,
                             rows_per_group=rows_per_group) for name in SPLITS}


def build_manifest(job: Job, sources, plans, shard_infos, seed: int) -> dict:
    data = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "kind": job.kind,
            "task": job.task, "head_at": job.head_at, "seed": seed, "ingest": job.type,
            "sources": sources, "splits": {}}
    data.update(job.fields())
    for name in SPLITS:
        shards = sorted((s for s in shard_infos if s["split"] == name), key=lambda s: s["index"])
        if not shards:
            continue
        data["splits"][name] = {
            "sequences": sum(s["sequences"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "rows_per_group": plans[name].rows_per_group,
            "shards": [{k: v for k, v in s.items() if k not in ("split", "index")} for s in shards]}
    return data


def _local_write(job: Job, sources, plans, tmp, say) -> list[dict]:
    """Route every file's rows to per-shard spill files (Arrow IPC in a local temp dir), then
    write the shards one by one: memory holds one input file's rows or one shard, not all."""
    import tempfile

    infos, schema = [], job.schema()
    with tempfile.TemporaryDirectory(prefix="rnn-spark-ingest-") as spill:
        sinks: dict = {}
        try:
            for i, src in enumerate(sources):
                for key, part in route(job.block(i, src["uri"]), plans).items():
                    if key not in sinks:
                        path = os.path.join(spill, f"{key[0]}-{key[1]:05d}.arrow")
                        sinks[key] = pa.ipc.new_stream(pa.OSFile(path, "wb"), part.schema)
                    sinks[key].write_table(part)
                say.tick(f"routed {i + 1}/{len(sources)} file(s)")
        finally:
            for w in sinks.values():
                w.close()
        keys = sorted(sinks, key=lambda k: (SPLITS.index(k[0]), k[1]))
        for n, (name, idx) in enumerate(keys):
            path = os.path.join(spill, f"{name}-{idx:05d}.arrow")
            with pa.OSFile(path, "rb") as f:
                table = pa.ipc.open_stream(f).read_all()
            os.remove(path)
            infos.append(write_shard(table, tmp, name, idx, plans[name].rows_per_group,
                                     job.task, schema))
            say.tick(f"wrote shard {n + 1}/{len(keys)} ({infos[-1]['path']}, "
                     f"{infos[-1]['bytes'] / 1e6:.1f} MB)", last=n + 1 == len(keys))
    return infos


def run_ingest(job: Job, sources, out: str, *, seed: int = 0, overwrite: bool = False,
               engine: str = "auto", master: str = "local[*]",
               shard_bytes: int = DEFAULT_SHARD_BYTES,
               row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
               rows_per_group: int | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
               quiet: bool = True):
    """Run ``job`` over ``sources`` into the shard directory ``out``; return its Manifest.

    ``chunk_bytes``: with the Spark engine, a file of a chunkable job (text) larger than this is
    scanned and blocked in byte-range chunks of about this size, one task each (same output).
    """
    if engine not in ("auto", "local", "spark"):
        raise ConfigError(f"engine: {engine!r} is not one of auto, local, spark")
    if rows_per_group is not None and rows_per_group < 1:
        raise ConfigError("rows_per_group: must be >= 1")
    if row_group_bytes < 1 or shard_bytes < 1:
        raise ConfigError("row_group_bytes / shard_bytes: must be >= 1")
    if chunk_bytes < 1:
        raise ConfigError(f"chunk_bytes: {chunk_bytes} must be >= 1")
    say = Progress(quiet)
    srcs = resolve_sources(sources)
    if fs.exists(out) and not overwrite:
        raise DataError(f"{out}: output already exists; pass --overwrite (overwrite=True) "
                        "to replace it")
    size = sum(s["bytes"] for s in srcs)
    if engine == "auto":
        engine = "spark" if size > AUTO_SPARK_BYTES else "local"
    say(f"{len(srcs)} input file(s), {size / 1e6:.1f} MB, engine {engine}")
    with fs.staging_dir(out, overwrite=overwrite) as tmp:
        if engine == "spark":
            from rnn_spark.data.spark_ingest import spark_run
            data = spark_run(job, srcs, tmp, seed=seed, master=master, say=say,
                             chunk_bytes=chunk_bytes,
                             plan_args=dict(shard_bytes=shard_bytes,
                                            row_group_bytes=row_group_bytes,
                                            rows_per_group=rows_per_group))
        else:
            scans, done = [], 0
            for i, s in enumerate(srcs):
                scans.append(job.scan(i, s["uri"]))
                done += s["bytes"]
                say.tick(f"scanned {i + 1}/{len(srcs)} file(s), {done / 1e6:.1f} MB",
                         last=i + 1 == len(srcs))
            job.finalize(scans, srcs)
            plans = make_plans(job, scans, shard_bytes=shard_bytes,
                               row_group_bytes=row_group_bytes, rows_per_group=rows_per_group,
                               sources=srcs)
            infos = _local_write(job, srcs, plans, tmp, say)
            data = build_manifest(job, srcs, plans, infos, seed)
        fs.write_bytes(fs.join(tmp, MANIFEST_NAME), dump_manifest(data))
    m = read_manifest(out)
    say(f"done: {', '.join(f'{s} {m.counts(s)}' for s in m.splits)}")
    return m
