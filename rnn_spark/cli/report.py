"""`rnn-spark report`: parsing and calling only (the page is rnn_spark/report's)."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("run", metavar="RUN")
@click.option("--out", metavar="PATH", default=None,
              help="where to write the page (default RUN/report.html; local or hdfs://); PNG "
                   "copies of the charts go beside it as <name>-<chart>.png. An existing file "
                   "is replaced only when it is an earlier report")
@click.option("--log-scale", is_flag=True, help="draw the loss on a log scale")
@click.option("--season", type=click.IntRange(min=1), default=None, metavar="STEPS",
              help="forecasting runs: the series' season in steps (24 for hourly data with a "
                   "daily cycle); adds the seasonal naive forecast beside the model's errors")
def report(run, out, log_scale, season):
    """Write one self-contained HTML page about a training run: loss, throughput, the per-round
    time split, straggler ratio, learning rate, config, dataset, best metrics; the validation
    accuracy curve (classifiers, language models); a language model's sample; a forecaster's
    RMSE/MAE beside the naive forecasts and forecast vs actual (needs matplotlib:
    pip install 'rnn-spark[report]').

    \b
    Example:
      rnn-spark report runs/lm                 # writes runs/lm/report.html
      rnn-spark report hdfs:///user/me/runs/lm --out /tmp/lm.html --log-scale
    """
    from rnn_spark.errors import UserError

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise UserError("rnn-spark report needs matplotlib: pip install 'rnn-spark[report]'") from None
    from rnn_spark.report import write_report

    click.echo(write_report(run, out, log_scale, season or 0))
