"""``export --format onnx``: a standard ONNX graph built with the ``onnx`` package (no torch).

    input [B, T] int64 ids | [B, T, D] float32   (+ lengths [B] int32 for last-step heads)
    -> Gather(embedding) -> Transpose to time-major -> per layer one ONNX RNN / LSTM / GRU op
    -> head: MatMul + Add at every step ([B, T, O]) or Gemm on the last valid step ([B, O])

Weights go in float32. PyTorch gate order is converted to ONNX's: LSTM ifgo -> iofc, GRU rzn ->
zrh (with linear_before_reset=1, PyTorch's GRU); RNN gates need nothing.
"""

from __future__ import annotations

import json

import numpy as np

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.fs.kinds import EXPORT
from rnn_spark.serve.export_torch import mark_export

OPSET = 17
_PERM = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}


def _gates(a: np.ndarray, cell: str, h: int) -> np.ndarray:
    perm = _PERM.get(cell)
    if perm is None:
        return a
    blocks = [a[g * h:(g + 1) * h] for g in range(len(perm))]
    return np.concatenate([blocks[p] for p in perm], axis=0)


def build_graph(tm):
    """The onnx.ModelProto for ``tm`` (a TrainedModel)."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise UserError("export --format onnx needs the onnx package: pip install 'rnn-spark[onnx]'") \
            from None
    cfg, st = tm.config, tm.state
    f32 = {k: np.asarray(v, dtype=np.float32) for k, v in st.items()}
    inits, nodes = [], []

    def const(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    last = cfg.head_at == "last"
    if cfg.token_input:
        x = helper.make_tensor_value_info("input", TensorProto.INT64, ["batch", "time"])
        nodes.append(helper.make_node("Transpose", ["input"], ["ids_tm"], perm=[1, 0]))
        nodes.append(helper.make_node("Gather", [const("embedding.weight", f32["embedding.weight"]),
                                                 "ids_tm"], ["x0"], axis=0))
    else:
        x = helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                          ["batch", "time", cfg.input_size])
        nodes.append(helper.make_node("Transpose", ["input"], ["x0"], perm=[1, 0, 2]))
    inputs = [x]
    seq = ""
    if last:
        inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"]))
        seq = "lengths"
    op = {"lstm": "LSTM", "gru": "GRU"}.get(cfg.cell, "RNN")
    axes1 = const("axes1", np.array([1], np.int64))
    axes0 = const("axes0", np.array([0], np.int64))
    cur = "x0"
    for k, h in enumerate(cfg.hidden_sizes):
        w = _gates(f32[f"rnn.weight_ih_l{k}"], cfg.cell, h)[None]
        r = _gates(f32[f"rnn.weight_hh_l{k}"], cfg.cell, h)[None]
        b = np.concatenate([_gates(f32[f"rnn.bias_ih_l{k}"], cfg.cell, h),
                            _gates(f32[f"rnn.bias_hh_l{k}"], cfg.cell, h)])[None]
        attrs = {"hidden_size": h}
        if op == "RNN":
            attrs["activations"] = ["Relu" if cfg.cell == "rnn_relu" else "Tanh"]
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        ins = [cur, const(f"W{k}", w), const(f"R{k}", r), const(f"B{k}", b)] + ([seq] if seq else [])
        nodes.append(helper.make_node(op, ins, [f"Y{k}", f"Yh{k}"], name=f"rnn_l{k}", **attrs))
        nodes.append(helper.make_node("Squeeze", [f"Y{k}", axes1], [f"h{k}"]))
        cur = f"h{k}"
    n = len(cfg.hidden_sizes) - 1
    O = cfg.output_size
    if last:   # Y_h: the state at each row's last valid step (sequence_lens)
        nodes.append(helper.make_node("Squeeze", [f"Yh{n}", axes0], ["h_last"]))
        nodes.append(helper.make_node("Gemm", ["h_last", const("head.weight", f32["head.weight"]),
                                               const("head.bias", f32["head.bias"])], ["output"],
                                      transB=1))
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", O])
    else:
        nodes.append(helper.make_node("Transpose", [cur], ["h_bf"], perm=[1, 0, 2]))
        nodes.append(helper.make_node("MatMul", ["h_bf", const("head.weight_t",
                                                               f32["head.weight"].T.copy())],
                                      ["logits_nb"]))
        nodes.append(helper.make_node("Add", ["logits_nb", const("head.bias", f32["head.bias"])],
                                      ["output"]))
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", "time", O])
    graph = helper.make_graph(nodes, "rnn_spark_model", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="rnn-spark")
    model.ir_version = min(model.ir_version, 10)
    meta = {"task": cfg.task, "config": cfg.to_dict()}
    helper.set_model_props(model, {"rnn_spark": json.dumps(meta, sort_keys=True)})
    onnx.checker.check_model(model)
    return model


def export_onnx(tm, out: str, overwrite: bool = False) -> dict:
    """Write ``out``/model.onnx + model.json atomically."""
    from rnn_spark.serve.export_torch import model_json
    data = build_graph(tm).SerializeToString()
    from rnn_spark.serve.common import check_out
    replace = check_out(out, overwrite, [tm.source.uri], kind=EXPORT)
    with fs.staging_dir(out, overwrite=replace) as tmp:
        mark_export(tmp, "onnx")
        fs.write_bytes(fs.join(tmp, "model.onnx"), data)
        fs.write_text(fs.join(tmp, "model.json"), json.dumps(model_json(tm), indent=1, sort_keys=True))
    return {"files": ["model.onnx", "model.json"]}
