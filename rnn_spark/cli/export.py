"""`rnn-spark export`: parsing and calling only (the work is in rnn_spark.serve.export_*)."""

from __future__ import annotations

import click


@click.command()
@click.option("--model", "model_uri", required=True, metavar="URI",
              help="run directory, its model/ or best/, or a checkpoint (local or hdfs://)")
@click.option("--out", required=True, metavar="DIR", help="directory to write (local or hdfs://)")
@click.option("--format", "fmt", type=click.Choice(["pytorch", "onnx"]), required=True,
              help="pytorch: model.pt state dict + model.json + rnn_model.py; onnx: model.onnx + model.json")
@click.option("--overwrite", is_flag=True,
              help="replace an existing --out that is an export rnn-spark made (never a model, "
                   "a checkpoint, or anything inside a run directory or a dataset)")
def export(model_uri, out, fmt, overwrite):
    """Export a trained model for PyTorch or ONNX runtimes. The exported model takes RAW inputs
    (token ids, or features in the training data's own units) and returns logits or predictions
    in original units: the dataset's normalisation is inside it; model.json says its interface.

    \b
    Examples:
      rnn-spark export --model runs/lm --out exports/lm-torch --format pytorch
      rnn-spark export --model runs/lm/best --out exports/lm-onnx --format onnx
    """
    from rnn_spark.fs.kinds import EXPORT
    from rnn_spark.serve import load_model
    from rnn_spark.serve.common import check_out
    from rnn_spark.serve.export_meta import describe

    check_out(out, overwrite, [model_uri], kind=EXPORT)
    tm = load_model(model_uri)
    if fmt == "pytorch":
        from rnn_spark.serve.export_torch import export_pytorch
        res = export_pytorch(tm, out, overwrite=overwrite)
        click.echo(f"rnn-spark: wrote {', '.join(res['files'])} to {out}; the model "
                   f"{describe(res['interface'])}; rebuild it with:", err=True)
        click.echo(res["snippet"])
    else:
        from rnn_spark.serve.export_onnx import export_onnx
        res = export_onnx(tm, out, overwrite=overwrite)
        click.echo(f"rnn-spark: wrote {', '.join(res['files'])} to {out}; the model "
                   f"{describe(res['interface'])}", err=True)
        last = tm.config.head_at == "last"
        click.echo("import onnxruntime as ort\n"
                   f"sess = ort.InferenceSession('{out}/model.onnx')\n"
                   "out = sess.run(None, {'input': x" + (", 'lengths': lengths" if last else "")
                   + "})[0]  # what x is and out means: model.json \"interface\"")
