"""`rnn-spark ingest table`: sequences from a Spark SQL table, a query or a dataset path.

Parsing and calling only: the work is :func:`rnn_spark.ingest.table.ingest_table`, whose keyword
arguments the options are named after (``--group-by`` is ``group_by``). The command joins the
``ingest`` group when this module is imported (rnn_spark/cli/__init__.py does).
"""

from __future__ import annotations

import click

from rnn_spark.cli.ingest import _csv, _report, _run_kwargs, ingest, output_options
from rnn_spark.ingest.table_spec import FORMATS, LABEL_FROM, SPLIT_BY


@ingest.command("table")
@output_options
@click.option("--table", "table", metavar="NAME", default=None,
              help="A Spark SQL table (db.name), through the session's catalog.")
@click.option("--sql", metavar="QUERY", default=None, help="A Spark SQL query whose rows to read.")
@click.option("--path", metavar="URI", default=None, help="A dataset (file or directory).")
@click.option("--format", "format", type=click.Choice(FORMATS), default=None,
              help="--path's format (default: from its name).")
@click.option("--group-by", metavar="COL[,COL]", default=None,
              help="Event rows: one sequence per group (e.g. user_id).")
@click.option("--order-by", metavar="COL", default=None,
              help="Event rows: order each group by this column (numbers, dates or times).")
@click.option("--session-gap", metavar="DURATION", default=None,
              help="A new sequence after a gap longer than this (30m, 2h, 1d; a number for a "
                   "numeric --order-by).")
@click.option("--max-len", type=int, default=None,
              help="Cut longer sequences into windows of at most N steps.")
@click.option("--stride", type=int, default=None,
              help="Steps between windows' starts (default: --max-len).")
@click.option("--min-len", type=int, default=1, show_default=True,
              help="Drop sequences with fewer steps.")
@click.option("--categorical", metavar="COL,...", default=None,
              help="Step fields indexed into their own vocabulary (strings, integers, booleans).")
@click.option("--numeric", metavar="COL,...", default=None,
              help="Step fields normalised with the training split's mean/std.")
@click.option("--sequence", metavar="COL", default=None,
              help="Each row holds a whole sequence: array<int> token ids, array<double> or "
                   "array<array<double>>.")
@click.option("--min-freq", type=int, default=1, show_default=True,
              help="Categorical values seen fewer times become <unk>.")
@click.option("--max-vocab", type=int, default=None,
              help="Keep at most N ids per categorical column (incl. <unk>).")
@click.option("--vocab-size", type=int, default=None,
              help="--sequence of token ids: ids are < N (default: largest id + 1).")
@click.option("--label", metavar="COL", default=None, help="Learn this column, per sequence.")
@click.option("--label-from", type=click.Choice(LABEL_FROM), default="last", show_default=True,
              help="Which row's --label a sequence gets (max: the largest; constant: all the "
                   "same).")
@click.option("--task", type=click.Choice(["classify", "regress"]), default="classify",
              show_default=True, help="--label: classes or a number.")
@click.option("--num-classes", type=int, default=None, help="Default: from the labels.")
@click.option("--next", "next", metavar="COL", default=None,
              help="Learn the next step's value of this input column, at every step.")
@click.option("--horizon", type=int, default=0, help="Forecast the N rows after a sequence.")
@click.option("--target", metavar="COL,...", default=None,
              help="--horizon's columns (default: --numeric).")
@click.option("--split-by", type=click.Choice(SPLIT_BY), default="group", show_default=True,
              help="Validation = whole groups (by a seeded hash) or the rows after a time.")
@click.option("--split-at", metavar="VALUE", default=None,
              help="--split-by time: the cut-off (default: --val-fraction of the time range).")
@click.option("--normalize/--no-normalize", default=True, show_default=True)
def table_cmd(out, group_by, categorical, numeric, target, **kw):
    """Sequences from a table's rows: events grouped and ordered, or a sequence per row.

    \b
    Examples:
      rnn-spark ingest table --table shop.events --group-by user_id --order-by ts \\
          --session-gap 30m --categorical event --numeric amount --label churned \\
          --out hdfs:///data/churn
      rnn-spark ingest table --path hdfs:///raw/clicks --format parquet --group-by user \\
          --order-by ts --categorical page --next page --max-len 64 --out hdfs:///data/clicks
    """
    from rnn_spark.ingest.table import ingest_table
    run = _run_kwargs(kw)
    _report(ingest_table(out, group_by=_csv(group_by), categorical=_csv(categorical),
                         numeric=_csv(numeric), target=_csv(target), **kw, **run))
