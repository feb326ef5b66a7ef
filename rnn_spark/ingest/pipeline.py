"""``run_ingest``: check the options and the output, pick an engine, commit the shard directory.

The whole output is written into a staging directory renamed into place at the end: nothing
half-written is visible, and an old dataset under the same name is swapped out only when the new
one is complete. Before anything is created, :func:`rnn_spark.fs.guard.check_output` applies the
``--overwrite`` rule: the output must not be, contain or lie inside an input, and ``--overwrite``
replaces only a dataset (a directory holding rnn-spark's ``manifest.json``) or an empty
directory; the output never lies inside another rnn-spark directory (rnn_spark/fs/kinds.py).
"""

from __future__ import annotations

from rnn_spark import fs
from rnn_spark.data.manifest import MANIFEST_NAME, Manifest, dump_manifest, read_manifest
from rnn_spark.errors import ConfigError, DataError
from rnn_spark.fs.guard import check_output
from rnn_spark.fs.kinds import DATASET
from rnn_spark.ingest.chunks import DEFAULT_CHUNK_BYTES
from rnn_spark.ingest.job import Job, Progress
from rnn_spark.ingest.plans import DEFAULT_ROW_GROUP_BYTES, DEFAULT_SHARD_BYTES
from rnn_spark.ingest.sources import find_inputs, identical_content
from rnn_spark.ingest.stop import Terminated, sigterm_unwinds
from rnn_spark.spark_master import DEFAULT_MASTER, check_master

AUTO_SPARK_BYTES = 256 << 20


def run_ingest(job: Job, sources, out: str, *, seed: int = 0, overwrite: bool = False,
               engine: str = "auto", master: str = DEFAULT_MASTER,
               shard_bytes: int = DEFAULT_SHARD_BYTES,
               row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
               rows_per_group: int | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
               quiet: bool = True) -> Manifest:
    """Run ``job`` over ``sources`` into the shard directory ``out``; return its Manifest.

    ``chunk_bytes``: with the Spark engine, a file of a chunkable job (text) larger than this is
    scanned and blocked in byte-range chunks of about this size, one task each (same output).
    ``quiet``: no progress lines on stderr.
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
    inputs = find_inputs(sources)
    srcs = inputs.files
    replace = check_output(out, inputs.paths, overwrite=overwrite, kind=DATASET,
                           what_flag="--out", error=DataError)
    for note in inputs.notes():
        say(note)
    copies = identical_content(srcs)
    if copies:
        say.warn(f"{len(copies)} input file(s) have the same content as another ({copies[0][0]} "
                 f"= {copies[0][1]}{', ...' if len(copies) > 1 else ''}); their rows are in the "
                 "dataset twice (train and val may share rows): remove the copies from the "
                 "inputs")
    size = sum(s["bytes"] for s in srcs)
    if engine == "auto":
        engine = "spark" if size > AUTO_SPARK_BYTES else "local"
    if engine == "spark":
        check_master(master)  # before the staging directory is made
    say(f"{len(srcs)} input file(s), {size / 1e6:.1f} MB, engine {engine}")
    plan_args = dict(shard_bytes=shard_bytes, row_group_bytes=row_group_bytes,
                     rows_per_group=rows_per_group)

    def write(tmp: str) -> dict:
        if engine == "spark":
            from rnn_spark.ingest.spark import spark_run
            data = spark_run(job, srcs, tmp, seed=seed, master=master, say=say,
                             chunk_bytes=chunk_bytes, plan_args=plan_args)
        else:
            from rnn_spark.ingest.local import local_run
            data = local_run(job, srcs, tmp, seed=seed, say=say, plan_args=plan_args)
        if "train" not in data["splits"]:
            raise DataError(f"{srcs[0]['uri']}: no training sequence of at least 2 steps"
                            " in the input; check the files, the length options and "
                            "--val-fraction")
        for name, raw in job.files().items():
            fs.write_bytes(fs.join(tmp, name), raw)
        return data
    return commit_dataset(out, replace, say, write)


def commit_dataset(out: str, replace: bool, say: Progress, write) -> Manifest:
    """``write(staging directory)`` -> the manifest's data; written beside the shards, and the
    staging directory renamed to ``out`` (``replace``: swapping out the old dataset). SIGTERM
    and Ctrl-C remove the staging directory. -> the new dataset's Manifest."""
    with sigterm_unwinds():
        try:
            with fs.staging_dir(out, overwrite=replace) as tmp:
                data = write(tmp)
                fs.write_bytes(fs.join(tmp, MANIFEST_NAME), dump_manifest(data))
        except Terminated:
            say.always("stopped by SIGTERM; the unfinished output was removed")
            raise
    m = read_manifest(out)
    say(f"done: {', '.join(f'{s} {m.counts(s)}' for s in m.splits)}")
    return m
