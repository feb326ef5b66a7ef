"""`rnn-spark evaluate`: parsing and calling only (the work is in rnn_spark.serve.evaluate)."""

from __future__ import annotations

import json

import click

from rnn_spark.spark_master import DEFAULT_MASTER, check_master


def runner_options(fn):
    """--runner / --master / --workers / --conf, shared by the Spark-capable model commands."""
    fn = click.option("--conf", "confs", multiple=True, metavar="KEY=VALUE",
                      help="extra Spark setting, e.g. --conf spark.executor.memory=2g")(fn)
    fn = click.option("--workers", type=click.IntRange(1), default=2, show_default=True,
                      help="tasks per wave (inline runner: how the units are grouped)")(fn)
    fn = click.option("--master", default=DEFAULT_MASTER, show_default=True,
                      help="Spark master (spark-submit's --master wins)")(fn)
    fn = click.option("--runner", type=click.Choice(["inline", "spark"]), default="inline",
                      show_default=True, help="run in this process or as a Spark job")(fn)
    return fn


REMAP_HELP = ("language models: read a dataset whose character vocabulary differs from the "
              "model's (a grown corpus ingested again) token by token; characters the model lacks "
              "are read as <unk>")


def spark_conf(confs) -> dict:
    conf = {}
    for item in confs:
        if "=" not in item:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--conf")
        k, v = item.split("=", 1)
        conf[k] = v
    return conf


def check_runner(runner, master, confs) -> None:
    """First, before the model is read: a Spark master that cannot start (yarn without
    HADOOP_CONF_DIR) is one line, not a JVM's stack."""
    if runner == "spark":
        conf = spark_conf(confs)
        check_master(conf.get("spark.master", master), conf)


def open_runner(runner, master, workers, confs):
    from rnn_spark.serve.common import make_runner

    return make_runner(runner, master, workers, spark_conf(confs))


@click.command(context_settings={"max_content_width": 110})
@click.option("--model", "model_uri", required=True, metavar="URI",
              help="run directory, its model/ or best/, or a checkpoint (local or hdfs://)")
@click.option("--data", required=True, metavar="URI", help="dataset written by `rnn-spark ingest`")
@click.option("--split", default="val", show_default=True, type=click.Choice(["train", "val"]))
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print one JSON object instead of a table")
@click.option("--remap-vocab", is_flag=True, help=REMAP_HELP)
@runner_options
def evaluate(model_uri, data, split, batch_size, as_json, remap_vocab, runner, master, workers,
             confs):
    """Measure a trained model on a dataset split.

    \b
    lm: loss (nats/token), perplexity, bits/token, bits/character, top-1/top-5 accuracy;
    classify: loss, accuracy, per-class precision/recall/F1, macro-F1, confusion matrix;
    regress: MSE/RMSE/MAE in original units, beside the naive last-value forecast's.
    \b
    Example:
      rnn-spark evaluate --model runs/lm --data runs/data --split val --runner spark --json
    """
    from rnn_spark.serve import load_model
    from rnn_spark.serve.common import finite
    from rnn_spark.serve.evaluate import evaluate as run_eval, format_table

    check_runner(runner, master, confs)
    tm = load_model(model_uri)
    r = open_runner(runner, master, workers, confs)
    try:
        ev = run_eval(tm, data, split=split, runner=r, batch_size=batch_size,
                      remap_vocab=remap_vocab)
    finally:
        r.close()
    if as_json:
        click.echo(json.dumps(finite({"task": ev.task, "split": ev.split, "rows": ev.rows,
                                      "model": tm.source.uri, **ev.metrics}), allow_nan=False))
    else:
        click.echo(format_table(ev))
