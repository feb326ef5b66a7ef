"""`rnn-spark inspect`: parsing and calling only (the work is in rnn_spark.serve.inspect)."""

from __future__ import annotations

import json

import click


@click.command("inspect")
@click.argument("uri")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def inspect_cmd(uri, as_json):
    """Show what a dataset, a run directory or a model holds.

    \b
    Examples:
      rnn-spark inspect runs/data          # manifest summary
      rnn-spark inspect runs/lm            # config, rounds done, best validation, checkpoints
      rnn-spark inspect runs/lm/model --json
    """
    from rnn_spark.serve.common import finite
    from rnn_spark.serve.inspect import format_text, inspect

    info = inspect(uri)
    click.echo(json.dumps(finite(info), allow_nan=False) if as_json else format_text(info))
