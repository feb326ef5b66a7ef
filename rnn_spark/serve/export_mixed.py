"""Exports of a model with mixed input (categorical fields + numeric features, engine/mixed.py):
the inputs both formats take, and the ONNX graph's first layer input.

Each categorical field is one input of RAW values ``[batch, time]`` and the numeric features one
float input ``[batch, time, N]`` of raw values (normalised inside, as a features model's). ONNX
turns a field's raw values into ids in the graph: an ``ai.onnx.ml`` ``LabelEncoder`` whose keys
are the field's vocabulary (id i+1 = ``values[i]``) and whose default is 0, ``<unk>`` -- so a
value the vocabulary does not hold reads ``<unk>`` as in training (data/steps.py
``CategoricalField.id_of``); a field that held ids already (``values`` None) maps 0..size-1 to
themselves. PyTorch tensors hold no strings: the module takes one int64 id tensor per field, and
``preprocess()`` in the exported ``rnn_model.py`` makes them (and the numeric tensor) from raw
steps with the same lookup.
"""

from __future__ import annotations

import numpy as np

from rnn_spark.data.steps import StepLayout
from rnn_spark.errors import UserError

ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 2


def layout_of(tm) -> StepLayout:
    layout = StepLayout.from_dict(tm.steps)
    if layout is None or list(layout.vocab_sizes) != list(tm.config.field_sizes):
        raise UserError(f"{tm.source.uri}: model.json's step layout does not match the model's "
                        "categorical fields; the model is damaged")
    return layout


def label_keys(field, where: str) -> tuple[str, list]:
    """(ONNX type of the field's raw values: string, int64, float or bool; the keys of ids 1..n
    (bools as 0/1), or of 0..size-1 for a field of ids)."""
    if field.values is None:
        return "int64", list(range(field.size))
    vals = list(field.values)
    if all(isinstance(v, bool) for v in vals):  # a bool input, cast to int64 in the graph
        return "bool", [int(v) for v in vals]
    if all(isinstance(v, str) for v in vals):
        return "string", vals
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return "int64", vals
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
        return "float", [float(v) for v in vals]
    raise UserError(f"{where}: categorical column {field.column!r} holds values of types "
                    f"{sorted({type(v).__name__ for v in vals})}, which an ONNX lookup cannot "
                    "key on; export --format pytorch (its preprocess() reads any value), or "
                    "cast the column to string before `ingest table`")


def interface_inputs(tm, fmt: str, fdt: str, numeric_units: str) -> list[dict]:
    """The mixed inputs' entries of model.json's interface."""
    layout = layout_of(tm)
    out = []
    for f, field in enumerate(layout.categorical):
        if fmt == "onnx":
            dtype = label_keys(field, tm.source.uri)[0]
            dtype = "float32" if dtype == "float" else dtype
            units = (f"raw values of column {field.column!r}; a value not in the model's "
                     "vocabulary reads <unk>")
            name = f"cat_{f}"
        else:
            dtype, name = "int64", f"x[0][{f}]"
            units = (f"ids of column {field.column!r}: preprocess() in rnn_model.py makes them "
                     "from raw values (not in the vocabulary: 0, <unk>)")
        out.append({"name": name, "column": field.column, "dtype": dtype,
                    "shape": ["batch", "time"], "units": units})
    if layout.n_num:
        out.append({"name": "numeric" if fmt == "onnx" else "x[1]", "dtype": fdt,
                    "shape": ["batch", "time", layout.n_num], "columns": list(layout.numeric),
                    "units": numeric_units})
    return out


def onnx_first_input(tm, sc, f32: dict, const, nodes: list, helper, TensorProto) -> list:
    """Nodes making ``x0`` ``[T, B, sum E + N]`` from the raw inputs; -> the graph inputs."""
    layout = layout_of(tm)
    types = {"string": TensorProto.STRING, "int64": TensorProto.INT64,
             "float": TensorProto.FLOAT, "bool": TensorProto.BOOL}
    inputs, parts = [], []
    for f, field in enumerate(layout.categorical):
        kind, keys = label_keys(field, tm.source.uri)
        name = f"cat_{f}"
        inputs.append(helper.make_tensor_value_info(name, types[kind], ["batch", "time"]))
        ids = list(range(field.size)) if field.values is None else list(range(1, len(keys) + 1))
        key_attr = {"string": "keys_strings", "float": "keys_floats"}.get(kind, "keys_int64s")
        raw = name
        if kind == "bool":
            raw = f"{name}_int"
            nodes.append(helper.make_node("Cast", [name], [raw], to=TensorProto.INT64))
        nodes.append(helper.make_node("LabelEncoder", [raw], [f"ids_{f}"], domain=ML_DOMAIN,
                                      name=f"lookup_{f}", default_int64=0, values_int64s=ids,
                                      **{key_attr: keys}))
        nodes.append(helper.make_node("Transpose", [f"ids_{f}"], [f"ids_tm_{f}"], perm=[1, 0]))
        w = f"embeddings.{f}.weight"
        nodes.append(helper.make_node("Gather", [const(w, f32[w]), f"ids_tm_{f}"], [f"emb_{f}"],
                                      axis=0))
        parts.append(f"emb_{f}")
    if layout.n_num:
        inputs.append(helper.make_tensor_value_info("numeric", TensorProto.FLOAT,
                                                    ["batch", "time", layout.n_num]))
        feats = "numeric"
        if sc.in_mean is not None:
            nodes.append(helper.make_node("Sub", ["numeric", const("in_mean", sc.in_mean.astype(
                np.float32))], ["num_centred"]))
            nodes.append(helper.make_node("Div", ["num_centred", const(
                "in_std", sc.in_std.astype(np.float32))], ["num_scaled"]))
            feats = "num_scaled"
        nodes.append(helper.make_node("Transpose", [feats], ["num_tm"], perm=[1, 0, 2]))
        parts.append("num_tm")
    nodes.append(helper.make_node("Concat", parts, ["x0"], axis=2))
    return inputs
