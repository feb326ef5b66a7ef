"""`rnn-spark submit` from start to end: check, pack, stage, build the command, run it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.spark_master import check_master
from rnn_spark.submit import command, pack, run, stage


def _say(msg: str) -> None:
    print(f"rnn-spark submit: {msg}", file=sys.stderr, flush=True)


def check_options(opts: command.SparkOptions, staging_dir: str) -> None:
    if opts.master != "yarn":
        raise UserError(f"--master {opts.master}: submit ships the environment to YARN only; "
                        "use --master yarn, or run `rnn-spark train --master local[N]` directly")
    check_master(opts.master, dict(opts.conf))
    if opts.deploy_mode not in ("client", "cluster"):
        raise UserError(f"--deploy-mode {opts.deploy_mode}: use client or cluster")
    check_kerberos(opts)
    if not fs.is_remote(staging_dir):
        raise UserError(f"--staging-dir {staging_dir}: must be on the cluster's file system "
                        "(e.g. hdfs:///user/$USER/.rnn-spark/envs) so every node can fetch it")


def check_kerberos(opts: command.SparkOptions) -> None:
    if bool(opts.principal) != bool(opts.keytab):
        raise UserError("--principal and --keytab go together (Spark logs in from the keytab "
                        "and renews the application's Hadoop tokens)")
    if opts.keytab and not Path(opts.keytab).is_file():
        raise UserError(f"--keytab {opts.keytab}: no such file")


def forward_env() -> dict:
    """What a cluster-mode driver (the YARN AM) needs from here: BLAS kernel pins and the HDFS
    client settings (its HADOOP_CONF_DIR is the node's own)."""
    from rnn_spark.fs.hdfs_config import export_env
    from rnn_spark.runners.spark import BLAS_PIN_ENV

    env = {k: v for k, v in export_env().items() if k != "HADOOP_CONF_DIR"}
    env.update({v: os.environ[v] for v in BLAS_PIN_ENV if os.environ.get(v)})
    return env


def resolve_env(prebuilt: tuple | None, staging_dir: str, dry_run: bool) -> str:
    """URI of the environment archive on the cluster (packed and uploaded unless there);
    ``prebuilt``: --env-archive as stage.prebuilt_archive checked it."""
    if prebuilt:
        local, name = prebuilt
        if local is None:
            return name
        if dry_run:
            return fs.join(staging_dir, name)
        uri, uploaded = stage.stage_env(local, name, staging_dir)
    else:
        if dry_run:
            reqs = pack.pinned_requirements()
            return fs.join(staging_dir, pack.archive_name(pack.content_key(reqs)))
        env = pack.pack_env(log=_say)
        uri, uploaded = stage.stage_env(env.path, env.path.name, staging_dir)
    _say(f"uploaded the environment to {uri}" if uploaded else f"reusing {uri}")
    return uri


def submit(opts: command.SparkOptions, name: str, args, env_archive: str | None = None,
           staging_dir: str | None = None, python_version_check: bool = False,
           dry_run: bool = False, verbose: bool = False,
           check_args: Callable[[list], None] | None = None) -> int:
    """The whole submit. Everything that does not need the cluster is checked first, the same
    with --dry-run: the options, this machine's Spark and YARN client configuration, the packing
    tools, and (``check_args``, given the job's arguments) the command's own flags,
    configuration and paths."""
    command.check_command(name)
    check_kerberos(opts)
    if opts.principal:  # our own HDFS calls (staging) log in as Spark does
        fs.configure(principal=opts.principal, keytab=opts.keytab)
    staging = staging_dir or stage.default_staging_dir()
    check_options(opts, staging)
    spark_submit = command.find_spark_submit()
    prebuilt = None
    if env_archive:
        prebuilt = stage.prebuilt_archive(env_archive, check_remote=not dry_run)
    else:
        pack.check_tools()
    if check_args is not None:
        check_args(command.job_args(name, args))
    env_uri = resolve_env(prebuilt, staging, dry_run)
    keys = dict(opts.conf)
    jars = None
    if "spark.yarn.archive" not in keys and "spark.yarn.jars" not in keys:
        jars = stage.spark_jars_archive(staging, pack.cache_dir(), upload=not dry_run)
    fwd = forward_env() if opts.deploy_mode == "cluster" else {}
    launch = command.build(opts, name, args, env_uri, spark_submit, jars, fwd)
    if dry_run:
        print(launch.describe())
        return 0
    if python_version_check:
        _check_python(opts, env_uri, spark_submit, jars, verbose)
    out = run.execute(launch, run.log_path(pack.cache_dir().parent, name), opts.deploy_mode,
                      verbose)
    return out.returncode


def _check_python(opts, env_uri, spark_submit, jars, verbose) -> None:
    """One small client-mode application whose executors start the environment's Python."""
    probe = dataclasses.replace(opts, deploy_mode="client", num_executors=1,
                                name="rnn-spark-python-check")
    launch = command.build(probe, "env-check", ["--tasks", "1"], env_uri, spark_submit, jars)
    _say("--python-version-check: starting the environment's Python on an executor")
    out = run.execute(launch, run.log_path(pack.cache_dir().parent, "python-check"), "client",
                      verbose, echo=lambda m: None, stdout=subprocess.DEVNULL)
    if out.returncode != 0:
        raise UserError(f"--python-version-check: the cluster's executors cannot start the "
                        f"environment's Python {command.ENV_PYTHON} (an environment packed here "
                        f"links to {pack.interpreter()}, Python {sys.version_info[0]}."
                        f"{sys.version_info[1]}): install that Python at that path on every node, "
                        f"or pack on a machine like the nodes; details: {out.log_file}")
