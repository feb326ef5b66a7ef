"""`rnn-spark generate`: parsing and calling only (the work is in rnn_spark.serve.generate)."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--model", "model_uri", required=True, metavar="URI",
              help="a language model: run directory, model/, best/ or a checkpoint")
@click.option("--prime", default="", help="text to start from (default: a newline)")
@click.option("--length", type=click.IntRange(0), default=200, show_default=True,
              help="tokens to generate after the prime")
@click.option("--temperature", type=click.FloatRange(0), default=1.0, show_default=True,
              help="softmax temperature; 0 = always the most likely token")
@click.option("--top-k", type=click.IntRange(1), default=None, help="sample among the K most likely")
@click.option("--seed", type=int, default=0, show_default=True, help="same seed, same text")
@click.option("--num-samples", type=click.IntRange(1), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON object: samples, ids, unknown_prime")
def generate(model_uri, prime, length, temperature, top_k, seed, num_samples, as_json):
    """Sample text from a language model (state carried across steps).

    \b
    Example:
      rnn-spark generate --model runs/lm --prime "def " --length 300 --temperature 0.8 --seed 1
    """
    from rnn_spark.serve import load_model
    from rnn_spark.serve.generate import generate as run_gen

    tm = load_model(model_uri)
    g = run_gen(tm, prime=prime, length=length, temperature=temperature,
                top_k=top_k, seed=seed, num_samples=num_samples)
    if g.unknown_prime:
        unit = "word" if tm.vocab.kind == "word" else "character"
        click.echo(f"rnn-spark: {g.unknown_prime} prime {unit}(s) are not in the model's "
                   "vocabulary and became <unk>", err=True)
    if as_json:
        click.echo(json.dumps({"samples": g.samples, "ids": g.ids,
                               "unknown_prime": g.unknown_prime}))
        return
    for i, text in enumerate(g.samples):
        if i:
            click.echo("\n" + "-" * 40)
        click.echo(text)
