"""`rnn-spark ingest text|series|labelled SRC... --out URI` and `rnn-spark ingest verify URI`.

Parsing and calling only: the work is in :mod:`rnn_spark.ingest`. Option names match the Python
API's keyword arguments (``--seq-len`` is ``seq_len``).
"""

from __future__ import annotations

import json
import re

import click

from rnn_spark.spark_master import DEFAULT_MASTER

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kb": 1000, "kib": 1 << 10, "m": 1 << 20, "mb": 10 ** 6,
          "mib": 1 << 20, "g": 1 << 30, "gb": 10 ** 9, "gib": 1 << 30}


class ByteSize(click.ParamType):
    name = "SIZE"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(value))
        if not m or m.group(2).lower() not in _UNITS:
            self.fail(f"{value!r} is not a size like 4MiB, 64MB or 1048576", param, ctx)
        return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _csv(value):
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def common(fn):
    """The sources and the options shared by every ingest kind of files."""
    return click.argument("sources", nargs=-1, required=True, metavar="SRC...")(
        output_options(fn))


def output_options(fn):
    """Options shared by every ingest kind (``ingest table`` names its source by options)."""
    opts = [
        click.option("--out", "-o", required=True, metavar="URI",
                     help="Output directory (local path, file:// or hdfs:// URI)."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed of the train/val split and of the row layout."),
        click.option("--val-fraction", type=float, default=0.1, show_default=True,
                     help="Fraction of sequences held out for validation."),
        click.option("--overwrite", is_flag=True,
                     help="Replace OUT if it is a dataset rnn-spark made (holds its "
                          "manifest.json); an empty directory needs no flag. Never replaces user "
                          "files, an input or another rnn-spark output (a run, a model, an "
                          "export), nor writes inside one."),
        click.option("--engine", type=click.Choice(["auto", "local", "spark"]), default="auto",
                     show_default=True, help="auto = spark above 256 MiB of input."),
        click.option("--master", default=DEFAULT_MASTER, show_default=True,
                     help="Spark master for --engine spark (ignored under spark-submit)."),
        click.option("--rows-per-group", type=int, default=None,
                     help="Rows per Parquet row group (default: from --row-group-bytes)."),
        click.option("--row-group-bytes", type=ByteSize(), default="4MiB", show_default=True,
                     help="Target uncompressed size of a row group."),
        click.option("--shard-bytes", type=ByteSize(), default="64MiB", show_default=True,
                     help="Target uncompressed size of a shard file."),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _run_kwargs(kw: dict) -> dict:
    keys = ("overwrite", "engine", "master", "rows_per_group", "row_group_bytes", "shard_bytes",
            "quiet")
    return {k: kw.pop(k) for k in keys}


def _report(m) -> None:
    """One JSON line on stdout (always; --quiet only silences the progress on stderr)."""
    summary = {"out": m.root, **m.model_fields(), "splits": {s: m.counts(s) for s in m.splits}}
    click.echo(json.dumps(summary, sort_keys=True))


@click.group()
def ingest() -> None:
    """Turn raw data into Parquet shards + manifest.json for training."""


@ingest.command("text")
@common
@click.option("--seq-len", type=int, required=True, help="Steps per sequence (row = seq_len+1 ids).")
@click.option("--vocab", type=click.Choice(["char", "byte", "bpe", "word"]), default="char",
              show_default=True, help="Tokens: characters, bytes, byte-level BPE sub-words or "
                                      "words (bpe/word: the text extra, --vocab-size).")
@click.option("--vocab-size", type=int, default=None,
              help="bpe/word: tokens in the vocabulary (bpe: at least 257, the 256 bytes + "
                   "merges; word: the N-1 most frequent words + <unk>).")
@click.option("--vocab-sample", type=ByteSize(), default="64MiB", show_default=True,
              help="bpe/word: train the tokenizer on at most this much training text (a seeded "
                   "sample of its segments).")
@click.option("--min-freq", type=int, default=1, show_default=True,
              help="char/word: characters/words seen fewer times become <unk>; bpe: merge only "
                   "pairs seen at least this often.")
@click.option("--max-vocab", type=int, default=None,
              help="char: keep at most N tokens (incl. <unk>).")
@click.option("--overlap", type=int, default=0, show_default=True,
              help="Extra tokens shared by consecutive sequences.")
@click.option("--on-decode-error", type=click.Choice(["fail", "replace"]), default="fail",
              show_default=True, help="Non-UTF-8 bytes in char mode: stop, or use U+FFFD.")
@click.option("--chunk-bytes", type=ByteSize(), default="64MiB", show_default=True,
              help="Spark engine: files larger than this are split into chunks of about this "
                   "size, one task each (a char-vocab task needs ~20x the chunk in memory).")
def text_cmd(sources, out, **kw):
    """Text files or globs (UTF-8) -> language-model sequences.

    \b
    Examples:
      rnn-spark ingest text 'corpus/*.txt' --out data/corpus --seq-len 256 --min-freq 5
      rnn-spark ingest text 'corpus/*.txt' --out data/corpus-bpe --seq-len 128 \\
          --vocab bpe --vocab-size 4000
    """
    from rnn_spark.ingest import ingest_text
    run = _run_kwargs(kw)
    _report(ingest_text(list(sources), out, **kw, **run))


@ingest.command("series")
@common
@click.option("--window", type=int, required=True, help="Input steps per window.")
@click.option("--horizon", type=int, default=1, show_default=True, help="Steps ahead to predict.")
@click.option("--stride", type=int, default=1, show_default=True, help="Rows between windows.")
@click.option("--columns", default=None, help="Feature columns, comma-separated (default: all).")
@click.option("--target-columns", default=None, help="Target columns (default: --columns).")
@click.option("--time-column", default=None, help="Sort each series by this column.")
@click.option("--group-column", default=None, help="Entity column: one series per value.")
@click.option("--head-at", type=click.Choice(["last", "every"]), default="last", show_default=True)
@click.option("--normalize/--no-normalize", default=True, show_default=True,
              help="Standardise with training-split mean/std.")
@click.option("--split-by", type=click.Choice(["time", "group"]), default="time",
              show_default=True, help="Validation = end of each series, or whole entities.")
@click.option("--format", "format", type=click.Choice(["auto", "csv", "parquet"]),
              default="auto", show_default=True)
def series_cmd(sources, out, columns, target_columns, **kw):
    """CSV/Parquet time series -> sliding windows with a forecast horizon.

    \b
    Example:
      rnn-spark ingest series prices.csv --out data/prices --window 64 --horizon 4 \\
          --time-column date --group-column ticker --target-columns close
    """
    from rnn_spark.ingest import ingest_series
    run = _run_kwargs(kw)
    m = ingest_series(list(sources), out, columns=_csv(columns),
                      target_columns=_csv(target_columns), **kw, **run)
    _report(m)


@ingest.command("labelled")
@common
@click.option("--task", type=click.Choice(["classify", "regress"]), default="classify",
              show_default=True)
@click.option("--sequence-column", default="sequence", show_default=True)
@click.option("--label-column", default="label", show_default=True,
              help="Class id (classify) or target value(s) (regress).")
@click.option("--kind", type=click.Choice(["auto", "tokens", "features"]), default="auto",
              show_default=True, help="auto: tokens if every value is an integer.")
@click.option("--num-classes", type=int, default=None, help="Default: largest label + 1.")
@click.option("--vocab-size", type=int, default=None, help="Default: largest token id + 1.")
@click.option("--normalize/--no-normalize", default=True, show_default=True)
@click.option("--format", "format", type=click.Choice(["auto", "csv", "parquet", "jsonl"]),
              default="auto", show_default=True)
def labelled_cmd(sources, out, **kw):
    """Parquet/CSV/JSONL rows of (sequence, label or target).

    \b
    Example:
      rnn-spark ingest labelled reviews.jsonl --out data/reviews --task classify
    """
    from rnn_spark.ingest import ingest_labelled
    run = _run_kwargs(kw)
    _report(ingest_labelled(list(sources), out, **kw, **run))


@ingest.command("verify")
@click.argument("uri")
@click.option("--check", type=click.Choice(["size", "hash"]), default="hash", show_default=True)
def verify_cmd(uri, check):
    """Check a shard directory against its manifest (sizes, content hashes, row groups).

    A damaged, missing or replaced shard is reported in one line (exit code 2).

    \b
    Example:
      rnn-spark ingest verify hdfs:///data/corpus --check hash
    """
    from rnn_spark.data import read_manifest
    m = read_manifest(uri)
    m.verify(check)
    click.echo(json.dumps({"ok": True, **{s: m.counts(s) for s in m.splits}}, sort_keys=True))
