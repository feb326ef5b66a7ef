"""The `rnn-spark` command: a click group. Parsing and calling only; no logic lives here.

Each sub-command lives in its own module of this package and is registered below.
"""

from __future__ import annotations

import sys

import click

from rnn_spark import __version__
from rnn_spark.errors import Interrupted, UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rnn-spark")
@click.option("--webhdfs-url", metavar="URL", envvar="RNN_SPARK_WEBHDFS_URL",
              help="NameNode WebHDFS address, e.g. http://nn:9870 (default: from HADOOP_CONF_DIR)")
@click.option("--hdfs-user", metavar="NAME", envvar="HADOOP_USER_NAME", help="HDFS user (simple auth)")
@click.option("--hdfs-timeout", metavar="S[,S]", envvar="RNN_SPARK_HDFS_TIMEOUT",
              help="HDFS connect[,read] timeout in seconds (default 10,60)")
@click.option("--principal", metavar="NAME", envvar="RNN_SPARK_KERBEROS_PRINCIPAL",
              help="Kerberos principal for HDFS, with --keytab (default: the kinit ticket)")
@click.option("--keytab", metavar="PATH", envvar="RNN_SPARK_KERBEROS_KEYTAB",
              help="keytab of --principal")
@click.option("--hdfs-ca-bundle", metavar="PEM", envvar="RNN_SPARK_HDFS_CA_BUNDLE",
              help="CA certificates for HTTPS WebHDFS (swebhdfs://, dfs.http.policy=HTTPS_ONLY)")
@click.pass_context
def cli(ctx, webhdfs_url, hdfs_user, hdfs_timeout, principal, keytab, hdfs_ca_bundle) -> None:
    """Train recurrent networks (RNN, LSTM, GRU) on sequence data in HDFS with Apache Spark."""
    from click.core import ParameterSource

    from rnn_spark import fs

    # Only values typed as flags are passed on: values from the environment stay the fs layer's
    # own defaults, so its messages name the variable the user set, not a flag they never typed.
    given = {k: v for k, v in (("webhdfs_url", webhdfs_url), ("hdfs_user", hdfs_user),
                               ("hdfs_timeout", hdfs_timeout), ("principal", principal),
                               ("keytab", keytab), ("hdfs_ca_bundle", hdfs_ca_bundle))
             if v and ctx.get_parameter_source(k) is ParameterSource.COMMANDLINE}
    _check_credentials(given)
    if "hdfs_timeout" in given:  # checked now, before any command creates anything
        from rnn_spark.fs.hdfs_config import parse_timeout

        try:
            parse_timeout(given["hdfs_timeout"])
        except fs.FsError as exc:
            raise UserError(f"--hdfs-timeout: {exc.cause}") from None
    opts = {"webhdfs_url": given.get("webhdfs_url"), "user": given.get("hdfs_user"),
            "timeout": given.get("hdfs_timeout"), "principal": given.get("principal"),
            "keytab": given.get("keytab"), "ca_bundle": given.get("hdfs_ca_bundle")}
    opts = {k: v for k, v in opts.items() if v}
    if opts:
        fs.configure(**opts)


def _check_credentials(given: dict) -> None:
    """--principal/--keytab/--hdfs-ca-bundle, checked before any command creates anything."""
    import os

    if ("principal" in given) != ("keytab" in given):
        raise UserError("--principal and --keytab go together (log in to HDFS from the keytab); "
                        "without both, the kinit ticket is used")
    for flag, key in (("--keytab", "keytab"), ("--hdfs-ca-bundle", "hdfs_ca_bundle")):
        if key in given and not os.path.isfile(given[key]):
            raise UserError(f"{flag} {given[key]}: no such file")


def _register() -> None:
    # Imported lazily so a broken optional sub-command never hides the others' --help.
    import importlib

    # ingest_table adds `ingest table` to the ingest group (it imports cli/ingest, not back)
    for module, attr in (("ingest", "ingest"), ("ingest_table", "ingest"), ("train", "train"), ("train", "config_cmd"),
                         ("evaluate", "evaluate"), ("predict", "predict"),
                         ("generate", "generate"), ("export", "export"),
                         ("inspect", "inspect_cmd"), ("report", "report"),
                         ("submit", "submit"), ("submit", "pack_env")):
        try:
            mod = importlib.import_module(f"rnn_spark.cli.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"rnn_spark.cli.{module}":
                continue
            raise
        cli.add_command(getattr(mod, attr))


_register()


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: user errors become one line on stderr and exit code 2."""
    try:
        cli.main(args=argv, prog_name="rnn-spark", standalone_mode=False)
    except click.exceptions.Abort as exc:
        said = exc.__cause__ if isinstance(exc.__cause__, Interrupted) else None
        click.echo(f"rnn-spark: {said}" if said else "aborted", err=True)
        return 130
    except click.UsageError as exc:  # bad flags: one line too, naming the command's --help
        cmd = exc.ctx.command_path if exc.ctx is not None else "rnn-spark"
        click.echo(f"error: {exc.format_message()} (see {cmd} --help)", err=True)
        return 2
    except click.ClickException as exc:
        exc.show()
        return 2
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
