"""`rnn-spark submit` and `rnn-spark pack-env`: parsing and calling only (rnn_spark.submit)."""

from __future__ import annotations

import json
import sys

import click

from rnn_spark.submit.command import COMMANDS

_EPILOG = """\b
Examples:
  rnn-spark submit --num-executors 4 --executor-cores 2 --executor-memory 4g \\
      train --config my-run.toml --data hdfs:///data/corpus --run-dir hdfs:///runs/lm1
  rnn-spark submit --deploy-mode cluster --queue ml --files my-run.toml train --config my-run.toml
  rnn-spark submit --dry-run train --config my-run.toml     # print the spark-submit command
"""


@click.command("submit", epilog=_EPILOG, context_settings={
    "ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("--master", default="yarn", show_default=True, help="Spark master (YARN only)")
@click.option("--deploy-mode", default="client", show_default=True,
              type=click.Choice(["client", "cluster"]),
              help="client: the driver runs here; cluster: in a YARN container")
@click.option("--num-executors", type=int, metavar="N", help="executors (spark.executor.instances)")
@click.option("--executor-cores", type=int, metavar="N",
              help="cores per executor; train: also spark.task.cpus (one task per executor)")
@click.option("--executor-memory", metavar="SIZE", help="e.g. 4g")
@click.option("--driver-memory", metavar="SIZE", help="e.g. 2g")
@click.option("--queue", metavar="NAME", help="YARN queue")
@click.option("--name", metavar="NAME", help="application name (default rnn-spark-COMMAND)")
@click.option("--conf", "conf", multiple=True, metavar="KEY=VALUE",
              help="any Spark setting, repeatable; wins over submit's defaults")
@click.option("--files", metavar="F1,F2", help="files placed in every container's directory")
@click.option("--principal", metavar="NAME", help="Kerberos principal (with --keytab)")
@click.option("--keytab", metavar="PATH", help="keytab Spark logs in with and renews tokens from")
@click.option("--env-archive", metavar="PATH|URI",
              help="ship this prebuilt archive (rnn-spark pack-env --out) instead of packing")
@click.option("--staging-dir", metavar="URI",
              help="where archives are uploaded once [hdfs:///user/$USER/.rnn-spark/envs]")
@click.option("--python-version-check", is_flag=True,
              help="first start the environment's Python on an executor; refuse if it cannot run")
@click.option("--dry-run", is_flag=True,
              help="run every check that needs no cluster (these options, HADOOP_CONF_DIR, the "
                   "packing tools, the command's own flags, configuration and paths), then print "
                   "the spark-submit command and environment; nothing is built or uploaded")
@click.option("--verbose", is_flag=True, help="show spark-submit's INFO log lines too")
@click.argument("command", metavar="COMMAND")
@click.argument("args", nargs=-1, type=click.UNPROCESSED, metavar="[ARGS]...")
def submit(command, args, conf, env_archive, staging_dir, python_version_check, dry_run, verbose,
           **spark):
    """Run a Spark-side COMMAND on YARN with a packed Python environment."""
    from rnn_spark.cli import submit_check
    from rnn_spark.submit import command as cmd
    from rnn_spark.submit.flow import submit as run_submit

    opts = cmd.SparkOptions(conf=cmd.parse_conf(conf, next_arg=command), **spark)
    cmd.check_command(command)

    def check_args(job_args):
        submit_check.check(command, job_args, opts.deploy_mode, opts.files, dry_run,
                           lambda m: click.echo(f"rnn-spark submit: {m}", err=True))

    rc = run_submit(opts, command, args, env_archive=env_archive, staging_dir=staging_dir,
                    python_version_check=python_version_check, dry_run=dry_run, verbose=verbose,
                    check_args=check_args)
    if rc:
        sys.exit(rc)


submit.help = ("Run a Spark-side COMMAND on YARN with a packed Python environment: this rnn-spark "
               "and its dependencies, built once, uploaded once, reused.\n\nCommands: "
               + ", ".join(sorted(COMMANDS)) + ". ARGS are the command's own options.")


@click.command("pack-env", epilog="""\b
Examples:
  rnn-spark pack-env                      # build into ~/.cache/rnn-spark/envs, print its path
  rnn-spark pack-env --out env.tar.gz     # and copy it here (for spark-submit --archives)
""")
@click.option("--out", metavar="PATH", help="copy the archive here (a .tar.gz file name; an "
              "existing file is replaced only if pack-env wrote it)")
def pack_env(out):
    """Build the Python environment `rnn-spark submit` ships (cached by content hash) and print
    a JSON summary: path, content hash, Python version, pinned requirements, size."""
    from rnn_spark.submit.pack import pack_env as build

    env = build(out, log=lambda m: click.echo(f"rnn-spark pack-env: {m}", err=True))
    click.echo(json.dumps(env.metadata(), indent=2))
