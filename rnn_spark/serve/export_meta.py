"""What an export is and says about itself, in both formats (export_onnx.py, export_torch.py).

* :func:`scaling`: the normalisation the model was trained under (the dataset's ``stats``), which
  an export carries INSIDE the model: it takes raw inputs (features in the training data's units)
  and returns outputs in original units (a regressor's targets), as ``rnn-spark predict`` does
  (#21.3). Token ids and logits need none; a dataset ingested with ``--no-normalize`` has none.
* :func:`interface`: the exported model's inputs and output (names, dtypes, shapes, units), put
  into model.json and told in one line by ``rnn-spark export`` (:func:`describe`).
* :func:`write_export`: the export directory, committed atomically with its own marker
  (``.rnn-spark-export``, rnn_spark/fs/kinds.py) after the ``--overwrite`` rule allowed it: an
  export replaces only an export, never a run's model, a checkpoint or anything inside a run or a
  dataset (#21.2).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.fs.kinds import EXPORT, EXPORT_MARKER
from rnn_spark.serve.common import denorm

EXPORT_VERSION = 2  # 1: earlier releases (no marker, no interface, inputs normalised by the user)


@dataclass(frozen=True)
class Scaling:
    """raw input -> model input: (x - in_mean) / in_std; model output -> original units:
    y * out_std + out_mean. None where nothing is done."""

    in_mean: np.ndarray | None = None
    in_std: np.ndarray | None = None
    out_mean: np.ndarray | None = None
    out_std: np.ndarray | None = None

    def to_json(self) -> dict:
        d = {}
        if self.in_mean is not None:
            d["input"] = {"mean": self.in_mean.tolist(), "std": self.in_std.tolist()}
        if self.out_mean is not None:
            d["output"] = {"mean": self.out_mean.tolist(), "std": self.out_std.tolist()}
        return d


def scaling(tm) -> Scaling:
    """The normalisation of ``tm``'s training data, to fold into the exported model."""
    cfg, st = tm.config, tm.stats
    if not st or not st.get("normalized"):
        return Scaling()
    kw = {}
    if not cfg.token_input and "features" in st:
        mean = np.asarray(st["features"]["mean"], np.float64)
        std = np.asarray(st["features"]["std"], np.float64)
        if mean.shape != (cfg.input_size,) or std.shape != mean.shape:
            raise UserError(f"{tm.source.uri}: model.json's feature statistics have "
                            f"{mean.size} columns, the model reads {cfg.input_size}; the model "
                            "is damaged")
        kw.update(in_mean=mean, in_std=std)
    out = denorm(st, "targets", cfg.output_size) if cfg.task == "regress" else None
    if out is not None:
        kw.update(out_mean=np.asarray(out[0], np.float64), out_std=np.asarray(out[1], np.float64))
    return Scaling(**kw)


def _columns(tm, part: str) -> list[str] | None:
    cols = ((tm.stats or {}).get(part) or {}).get("columns")
    return list(cols) if cols else None


def _output_columns(tm) -> list[str] | None:
    """A regressor's output columns by name: the target columns, or per forecast step
    ("load@2": load two steps ahead) when the head predicts several steps (step-major)."""
    cols, n = _columns(tm, "targets"), tm.config.output_size
    if not cols or n % len(cols):
        return None
    return cols if n == len(cols) else [f"{cols[j % len(cols)]}@{j // len(cols) + 1}"
                                        for j in range(n)]


def interface(tm, fmt: str) -> dict:
    """The exported model's inputs and output: names, dtypes, shapes, units (for model.json)."""
    cfg, sc = tm.config, scaling(tm)
    fdt = "float32" if fmt == "onnx" else cfg.dtype
    x_name = "input" if fmt == "onnx" else "x"
    if cfg.token_input:
        x = {"name": x_name, "dtype": "int64", "shape": ["batch", "time"],
             "units": "token ids of the tokenizer in tokenizer.json (Hugging Face tokenizers: "
             "Tokenizer.from_file(...).encode(text).ids)" if getattr(tm.vocab, "json", None)
             else "token ids of the model's vocabulary (model.json \"vocab\")"
             if tm.vocab is not None else f"token ids in [0, {cfg.vocab_size})"}
    else:
        x = {"name": x_name, "dtype": fdt, "shape": ["batch", "time", cfg.input_size],
             "columns": _columns(tm, "features"),
             "units": "raw values in the training data's units, " + (
                 "normalised inside the model" if sc.in_mean is not None else
                 "used as they are (the dataset was ingested with --no-normalize)")}
    inputs = [x]
    if cfg.head_at == "last" or cfg.bidirectional:
        reads = ["the head reads the last valid step"] if cfg.head_at == "last" else []
        if cfg.bidirectional:
            reads.append("the reverse direction starts there")
        inputs.append({"name": "lengths", "dtype": "int32" if fmt == "onnx" else "int64",
                       "shape": ["batch"], "units": "valid steps of each row (rows padded on the "
                                                    "right); " + " and ".join(reads)})
    shape = ["batch", cfg.output_size] if cfg.head_at == "last" else \
        ["batch", "time", cfg.output_size]
    out = {"name": "output", "dtype": fdt, "shape": shape}
    if cfg.task == "lm":
        out["units"] = "next-token logits: log-softmax them for log-probabilities"
    elif cfg.task == "classify":
        out["units"] = "class logits: softmax them for probabilities"
    else:
        out["columns"] = _output_columns(tm)
        out["units"] = "the targets' original units, " + (
            "de-normalised inside the model" if sc.out_mean is not None else
            "as trained (the dataset was ingested with --no-normalize)")
    return {"inputs": inputs, "output": out, "normalisation": sc.to_json()}


def describe(iface: dict) -> str:
    """One line: what the exported model takes and returns."""
    def one(t):
        cols = f" ({', '.join(t['columns'])})" if t.get("columns") else ""
        return f"{t['name']} {t['dtype']} [{', '.join(map(str, t['shape']))}]{cols}"
    x, o = iface["inputs"][0], iface["output"]
    raw = "raw " if x["dtype"] != "int64" else ""
    ins = " + ".join(one(t) for t in iface["inputs"])
    return f"takes {raw}inputs {ins}: {x['units']}; returns {one(o)}: {o['units']}"


def model_json(tm, fmt: str, weights: str) -> dict:
    """The export's model.json: what it is (format, weights file), the model's config, its
    vocabulary/statistics and its interface."""
    d = {"model": tm.config.to_dict(), "task": tm.task,
         "format": "onnx" if fmt == "onnx" else "pytorch-state-dict", "weights": weights,
         "export_version": EXPORT_VERSION, "interface": interface(tm, fmt),
         "stats": tm.stats, "source": tm.source.uri}
    if tm.vocab is not None:
        d["vocab"] = tm.vocab.to_dict()
    return d


def write_export(tm, out: str, fmt: str, files: dict[str, bytes], meta: dict,
                 overwrite: bool = False) -> list[str]:
    """Commit the export directory ``out`` atomically: ``files``, model.json (``meta``) and the
    marker; an existing ``out`` is replaced only if it is an export (see the module doc)."""
    from rnn_spark import __version__
    from rnn_spark.serve.common import check_out
    replace = check_out(out, overwrite, [tm.source.uri], kind=EXPORT)
    if getattr(tm.vocab, "json", None):  # bpe/word: the tokenizer, to turn text into its ids
        from rnn_spark.data.tokenizer import TOKENIZER_FILE
        files = {**files, TOKENIZER_FILE: tm.vocab.json.encode("utf-8")}
    with fs.staging_dir(out, overwrite=replace) as tmp:
        for name, raw in files.items():
            fs.write_bytes(fs.join(tmp, name), raw)
        fs.write_text(fs.join(tmp, "model.json"), json.dumps(meta, indent=1, sort_keys=True))
        fs.write_text(fs.join(tmp, EXPORT_MARKER), json.dumps(
            {"rnn_spark_export": EXPORT_VERSION, "format": fmt, "version": __version__}) + "\n")
    return [*files, "model.json"]
