"""`rnn-spark predict`: parsing and calling only (the work is in rnn_spark.serve.predict)."""

from __future__ import annotations

import json

import click

from rnn_spark.cli.evaluate import REMAP_HELP, check_runner, open_runner, runner_options


@click.command(context_settings={"max_content_width": 110})
@click.option("--model", "model_uri", required=True, metavar="URI",
              help="run directory, its model/ or best/, or a checkpoint (local or hdfs://)")
@click.option("--data", metavar="URI", help="dataset written by `rnn-spark ingest`")
@click.option("--input", "inputs", multiple=True, metavar="RAW",
              help="raw file(s) read as the training data's ingest reads them, with the model's "
                   "own vocabulary/statistics: text (lm), labelled sequences (classify), series "
                   "CSV/Parquet (forecast); repeat it for several (globs, directories too)")
@click.option("--out", required=True, metavar="URI", help="output directory (local or hdfs://)")
@click.option("--split", default="all", show_default=True,
              type=click.Choice(["all", "train", "val"]), help="which split of --data to score")
@click.option("--top-k", type=click.IntRange(1), default=5, show_default=True,
              help="language models: next tokens kept per sequence")
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--seq-len", type=click.IntRange(1), default=None,
              help="--input: steps per sequence (lm) or per window (forecast); default: the "
                   "training dataset's")
@click.option("--format", "fmt", type=click.Choice(["auto", "csv", "parquet", "jsonl"]),
              default=None, help="--input of classify/forecast models: the files' format "
                                 "(default: the training dataset's, else from the file name)")
@click.option("--overwrite", is_flag=True,
              help="replace an existing --out that holds predictions rnn-spark made (never a "
                   "dataset, a run, a model or an export, nor a directory inside one)")
@click.option("--remap-vocab", is_flag=True, help=f"--data: {REMAP_HELP}")
@runner_options
def predict(model_uri, data, inputs, out, split, top_k, batch_size, seq_len, fmt, overwrite,
            remap_vocab, runner, master, workers, confs):
    """Score a dataset (or raw files) with a trained model; write Parquet parts + _predictions.json.

    \b
    classify: label, pred, probs; regress: pred and target in original units;
    lm: top-k next tokens (ids, tokens, probabilities) and the loss of every sequence.
    Rows are keyed by (split, src_file, src_row) of the input; forecasts of series data also
    by group and time (group, time_index, time).
    \b
    Examples:
      rnn-spark predict --model runs/cls --data runs/cls-data --out runs/cls-pred --runner spark
      rnn-spark predict --model runs/load --input new-load.csv --out runs/load-forecast
    """
    from rnn_spark.serve import load_model
    from rnn_spark.serve.common import check_out

    if bool(data) == bool(inputs):
        raise click.UsageError("pass exactly one of --data URI or --input RAW...")
    if data and (fmt or seq_len):
        raise click.UsageError("--format and --seq-len go with --input, not --data")
    check_runner(runner, master, confs)
    if inputs and remap_vocab:
        raise click.UsageError("--remap-vocab goes with --data: --input reads raw text with the "
                               "model's own vocabulary")
    check_out(out, overwrite, [data] if data else [], kind="predictions directory")
    tm = load_model(model_uri)
    r = open_runner(runner, master, workers, confs)
    try:
        if inputs:
            from rnn_spark.serve.raw import predict_raw
            res = predict_raw(tm, list(inputs), out, runner=r, batch_size=batch_size, top_k=top_k,
                              seq_len=seq_len, fmt=fmt, overwrite=overwrite)
        else:
            from rnn_spark.serve.predict import predict as run_predict
            res = run_predict(tm, data, out, split=split, runner=r, batch_size=batch_size,
                              top_k=top_k, overwrite=overwrite, remap_vocab=remap_vocab)
    finally:
        r.close()
    if res.unknown_tokens:
        unit = "word" if tm.vocab is not None and tm.vocab.kind == "word" else "character"
        click.echo(f"rnn-spark: {res.unknown_tokens} input {unit}(s) are not in the model's "
                   "vocabulary and became <unk>", err=True)
    click.echo(json.dumps({"out": res.out, "task": res.task, "rows": res.rows, "files": res.files,
                           "unknown_tokens": res.unknown_tokens}))
