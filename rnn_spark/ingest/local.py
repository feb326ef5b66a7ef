"""The local engine of the ingest pipeline: every step in this process, one input file at a time.

Scans run file by file; the driver-side ``finalize`` builds vocabulary / statistics and the shard
plan; then every file's rows are routed to per-shard spill files (Arrow IPC in a local temp dir)
and the shards are written one by one, so memory holds one input file's rows or one shard, never
the dataset. Same steps as the Spark engine (:mod:`rnn_spark.ingest.spark`), same bytes.
"""

from __future__ import annotations

import os
import tempfile

import pyarrow as pa

from rnn_spark.data.schema import SPLITS
from rnn_spark.data.shards import write_shard
from rnn_spark.ingest.job import Job, Progress
from rnn_spark.ingest.plans import build_manifest, make_plans, route


def _write(job: Job, sources, plans, tmp, say: Progress) -> list[dict]:
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


def local_run(job: Job, srcs: list[dict], tmp: str, *, seed: int, say: Progress,
              plan_args: dict) -> dict:
    """Run ``job`` over ``srcs`` here, writing shards under ``tmp``; return the manifest data."""
    scans, done = [], 0
    for i, s in enumerate(srcs):
        scans.append(job.scan(i, s["uri"]))
        done += s["bytes"]
        say.tick(f"scanned {i + 1}/{len(srcs)} file(s), {done / 1e6:.1f} MB",
                 last=i + 1 == len(srcs))
    job.finalize(scans, srcs)
    plans = make_plans(job, scans, sources=srcs, **plan_args)
    infos = _write(job, srcs, plans, tmp, say)
    return build_manifest(job, srcs, plans, infos, seed)
