"""``export --format onnx``: a standard ONNX graph built with the ``onnx`` package (no torch).

    input [B, T] int64 ids | [B, T, D] float32 raw features
        (+ lengths [B] int32: last-step heads and bidirectional models)
    -> [Sub mean, Div std: the training data's normalisation] -> Gather(embedding)
    -> Transpose to time-major -> per layer one ONNX RNN / LSTM / GRU op
       (direction="bidirectional": Y [T, 2, B, H] -> [T, B, 2H], [forward, reverse] as the engine)
    -> head: MatMul + Add at every step ([B, T, O]) or Gemm on the last valid step ([B, O]);
       bidirectional last-step: Y_h [2, B, H] -> [B, 2H], each direction's final state
    -> [Mul std, Add mean: a regressor's outputs back in original units]

With ``lengths`` (``sequence_lens``) the reverse direction starts at each row's last valid step,
and outputs past it are zeros (the engine's carry the state: read only the valid steps).

The normalisation steps are there when the dataset was normalised (serve/export_meta.py), so the
graph takes what ``rnn-spark predict --input`` takes and returns what it returns.
Weights go in float32. PyTorch gate order is converted to ONNX's: LSTM ifgo -> iofc, GRU rzn ->
zrh (with linear_before_reset=1, PyTorch's GRU); RNN gates need nothing.
"""

from __future__ import annotations

import json

import numpy as np

from rnn_spark.errors import UserError
from rnn_spark.serve.export_meta import model_json, scaling, write_export

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
    cfg, st, sc = tm.config, tm.state, scaling(tm)
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
        feats = "input"
        if sc.in_mean is not None:  # raw features -> the units the model was trained in
            nodes.append(helper.make_node("Sub", ["input", const("in_mean", sc.in_mean.astype(
                np.float32))], ["x_centred"]))
            nodes.append(helper.make_node("Div", ["x_centred", const("in_std", sc.in_std.astype(
                np.float32))], ["x_scaled"]))
            feats = "x_scaled"
        nodes.append(helper.make_node("Transpose", [feats], ["x0"], perm=[1, 0, 2]))
    inputs = [x]
    seq = ""
    bi = cfg.bidirectional
    if last or bi:
        inputs.append(helper.make_tensor_value_info("lengths", TensorProto.INT32, ["batch"]))
        seq = "lengths"
    op = {"lstm": "LSTM", "gru": "GRU"}.get(cfg.cell, "RNN")
    axes1 = const("axes1", np.array([1], np.int64))
    cur = "x0"
    sfx = ("", "_reverse") if bi else ("",)
    shape_tb = const("shape_tb", np.array([0, 0, -1], np.int64)) if bi else ""
    for k, h in enumerate(cfg.hidden_sizes):
        def stacked(name, k=k, h=h):  # [directions, ...] in ONNX gate order
            return np.stack([_gates(f32[f"rnn.{name}_l{k}{d}"], cfg.cell, h) for d in sfx])
        w, r = stacked("weight_ih"), stacked("weight_hh")
        b = np.concatenate([stacked("bias_ih"), stacked("bias_hh")], axis=1)
        attrs = {"hidden_size": h}
        if bi:
            attrs["direction"] = "bidirectional"
        if op == "RNN":
            attrs["activations"] = ["Relu" if cfg.cell == "rnn_relu" else "Tanh"] * len(sfx)
        if op == "GRU":
            attrs["linear_before_reset"] = 1
        ins = [cur, const(f"W{k}", w), const(f"R{k}", r), const(f"B{k}", b)] + ([seq] if seq else [])
        nodes.append(helper.make_node(op, ins, [f"Y{k}", f"Yh{k}"], name=f"rnn_l{k}", **attrs))
        if bi:  # Y [T, 2, B, H] -> [T, B, 2, H] -> [T, B, 2H]: [forward, reverse]
            nodes.append(helper.make_node("Transpose", [f"Y{k}"], [f"Yt{k}"], perm=[0, 2, 1, 3]))
            nodes.append(helper.make_node("Reshape", [f"Yt{k}", shape_tb], [f"h{k}"]))
        else:
            nodes.append(helper.make_node("Squeeze", [f"Y{k}", axes1], [f"h{k}"]))
        cur = f"h{k}"
    n = len(cfg.hidden_sizes) - 1
    O = cfg.output_size
    head = "output" if sc.out_mean is None else "y_model"
    if last and bi:  # Y_h [2, B, H]: each direction's final state -> [B, 2H]
        nodes.append(helper.make_node("Transpose", [f"Yh{n}"], ["h_last_bd"], perm=[1, 0, 2]))
        nodes.append(helper.make_node("Reshape", ["h_last_bd", const(
            "shape_b", np.array([0, -1], np.int64))], ["h_last"]))
    elif last:   # Y_h: the state at each row's last valid step (sequence_lens)
        axes0 = const("axes0", np.array([0], np.int64))
        nodes.append(helper.make_node("Squeeze", [f"Yh{n}", axes0], ["h_last"]))
    if last:
        nodes.append(helper.make_node("Gemm", ["h_last", const("head.weight", f32["head.weight"]),
                                               const("head.bias", f32["head.bias"])], [head],
                                      transB=1))
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", O])
    else:
        nodes.append(helper.make_node("Transpose", [cur], ["h_bf"], perm=[1, 0, 2]))
        nodes.append(helper.make_node("MatMul", ["h_bf", const("head.weight_t",
                                                               f32["head.weight"].T.copy())],
                                      ["logits_nb"]))
        nodes.append(helper.make_node("Add", ["logits_nb", const("head.bias", f32["head.bias"])],
                                      [head]))
        out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", "time", O])
    if sc.out_mean is not None:  # the model's units -> the targets' original units
        nodes.append(helper.make_node("Mul", [head, const("out_std", sc.out_std.astype(
            np.float32))], ["y_scaled"]))
        nodes.append(helper.make_node("Add", ["y_scaled", const("out_mean", sc.out_mean.astype(
            np.float32))], ["output"]))
    graph = helper.make_graph(nodes, "rnn_spark_model", inputs, [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="rnn-spark")
    model.ir_version = min(model.ir_version, 10)
    meta = {"task": cfg.task, "config": cfg.to_dict(), "normalisation": sc.to_json()}
    helper.set_model_props(model, {"rnn_spark": json.dumps(meta, sort_keys=True)})
    onnx.checker.check_model(model)
    return model


def export_onnx(tm, out: str, overwrite: bool = False) -> dict:
    """Write ``out``/model.onnx + model.json atomically; -> {"files", "interface"}."""
    data = build_graph(tm).SerializeToString()
    meta = model_json(tm, "onnx", "model.onnx")
    files = write_export(tm, out, "onnx", {"model.onnx": data}, meta, overwrite)
    return {"files": files, "interface": meta["interface"]}
