"""The `rnn-spark` command: a click group. Parsing and calling only; no logic lives here.

Each sub-command lives in its own module of this package and is registered below.
"""

from __future__ import annotations

import sys

import click

from rnn_spark import __version__
from rnn_spark.errors import UserError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="rnn-spark")
@click.option("--webhdfs-url", metavar="URL", envvar="RNN_SPARK_WEBHDFS_URL",
              help="NameNode WebHDFS address, e.g. http://nn:9870 (default: from HADOOP_CONF_DIR)")
@click.option("--hdfs-user", metavar="NAME", envvar="HADOOP_USER_NAME", help="HDFS user (simple auth)")
@click.option("--hdfs-timeout", metavar="S[,S]", envvar="RNN_SPARK_HDFS_TIMEOUT",
              help="HDFS connect[,read] timeout in seconds (default 10,60)")
def cli(webhdfs_url, hdfs_user, hdfs_timeout) -> None:
    """Train recurrent networks (RNN, LSTM, GRU) on sequence data in HDFS with Apache Spark."""
    from rnn_spark import fs

    opts = {"webhdfs_url": webhdfs_url, "user": hdfs_user, "timeout": hdfs_timeout}
    opts = {k: v for k, v in opts.items() if v}
    if opts:
        fs.configure(**opts)


def _register() -> None:
    # Imported lazily so a broken optional sub-command never hides the others' --help.
    import importlib

    for module, attr in (("ingest", "ingest"), ("train", "train"), ("train", "config_cmd"),
                         ("evaluate", "evaluate"),
                         ("inspect", "inspect_cmd"),
                         ("generate", "generate"),
                         ("export", "export"),
                         ("predict", "predict"),
                         ):
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
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2
    except UserError as exc:
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
