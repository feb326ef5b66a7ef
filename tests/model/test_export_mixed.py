"""Exports of a model trained on a mixed table dataset (`ingest table`: 2 categorical + 2 numeric
columns) take RAW values: ONNX (onnxruntime) one input of raw values per categorical field (the
vocabulary lookup is an ai.onnx.ml LabelEncoder in the graph, unknown -> <unk>) and one of raw
numeric features (normalised in the graph); PyTorch (rnn_model.py) preprocess() from raw steps,
then forward(). Both equal the engine on the rows `ingest table` wrote for the same sequences."""

import json
import os
import sys

import numpy as np
import pytest

from rnn_spark import config
from rnn_spark.data import read_manifest
from rnn_spark.data.batching import iter_minibatches
from rnn_spark.data.steps import StepLayout
from rnn_spark.engine import MixedInputs
from rnn_spark.serve.export_meta import scaling
from rnn_spark.serve.load import load_model
from rnn_spark.training.loop import train
from test_predict import run_cli  # tests/model/test_predict.py

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ingest"))
from mixed_data import mixed_dataset, mixed_table  # noqa: E402

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.fixture(scope="module", params=[("classify", {}), ("regress", dict(label=None, next="amount"))],
                ids=["classify-last", "regress-every"])
def exported(request, tmp_path_factory):
    task, over = request.param
    root = tmp_path_factory.mktemp(task)
    data = mixed_dataset(str(root), n_users=30, val_fraction=0, **over)
    run = str(root / "run")
    train(config.load([], {"data.path": data, "train.run_dir": run, "model.hidden_sizes": [8],
                           "train.k1": 64, "train.batch_size": 4, "train.workers": 1,
                           "train.max_rounds": 3, "train.runner": "inline",
                           "model.bidirectional": task == "classify"}), quiet=True)
    return root, data, run


def raw_sequences(n_users=30):
    """Each user's steps (dicts of raw values) in time order, as `ingest table` made them."""
    t = mixed_table(n_users).to_pylist()
    users = {}
    for r in sorted(t, key=lambda r: (r["user"], r["ts"])):
        users.setdefault(r["user"], []).append(r)
    return list(users.values())


def engine_rows(data, run):
    """(ids [T, C], engine output) of every row of the dataset's train split."""
    m = read_manifest(data)
    tm = load_model(run)
    model = tm.engine()
    sc = scaling(tm)  # a regressor's outputs in original units, as predict and the exports
    out = []
    for mb in iter_minibatches(m.work_units("train"), 1, manifest=m, shuffle_rows=False):
        y = model.forward(mb.inputs, mb.mask)[0][0].astype(np.float64)
        out.append((mb.inputs.ids[0], y if sc.out_mean is None else y * sc.out_std + sc.out_mean))
    return tm, out


def test_raw_values_in_both_exports_equal_the_engine(exported, tmp_path, capsys):
    root, data, run = exported
    tm, rows = engine_rows(data, run)
    layout = StepLayout.from_dict(tm.steps)
    seqs = raw_sequences()
    ids_of = [np.array([[f.id_of(s[f.column]) for f in layout.categorical] for s in q])
              for q in seqs]
    dirs = {}
    for fmt in ("onnx", "pytorch"):
        dirs[fmt] = tmp_path / fmt
        code, out, err = run_cli(capsys, "export", "--model", run, "--out", str(dirs[fmt]),
                                 "--format", fmt)
        assert code == 0, err
    meta = json.loads((dirs["onnx"] / "model.json").read_text())
    assert [i["name"] for i in meta["interface"]["inputs"]][:3] == ["cat_0", "cat_1", "numeric"]
    assert meta["interface"]["inputs"][0]["dtype"] == "string"
    sess = ort.InferenceSession(str(dirs["onnx"] / "model.onnx"), providers=["CPUExecutionProvider"])
    ns = {}
    exec((dirs["pytorch"] / "rnn_model.py").read_text(), ns)
    module = ns["load"](str(dirs["pytorch"]))
    checked = 0
    for ids, want in rows:
        n = len(ids)  # --next: a row holds the steps before the last, whose value is learned
        match = [q[:n] for q, i in zip(seqs, ids_of) if len(i) - n in (0, 1) and (i[:n] == ids).all()]
        if not match:
            continue
        q = match[0]
        T = len(q)
        feed = {"cat_0": np.array([[s["event"] for s in q]], object),
                "cat_1": np.array([[s["tier"] for s in q]], object),
                "numeric": np.array([[[s["amount"], s["hour"]] for s in q]], np.float32)}
        if "lengths" in {i.name for i in sess.get_inputs()}:
            feed["lengths"] = np.array([T], np.int32)
        a = sess.run(None, feed)[0][0]
        with torch.no_grad():
            x, lengths = ns["preprocess"](str(dirs["pytorch"]), [q])
            b = module(x, lengths)[0].numpy()
        np.testing.assert_allclose(a, want, **TOL)
        np.testing.assert_allclose(b, want, **TOL)
        checked += 1
    assert checked >= 10


def test_unknown_values_read_unk(exported, tmp_path, capsys):
    """A value the vocabulary lacks is <unk> (id 0) in both exports, as in training."""
    _, _, run = exported
    for fmt in ("onnx", "pytorch"):
        code = run_cli(capsys, "export", "--model", run, "--out", str(tmp_path / fmt), "--format",
                       fmt)[0]
        assert code == 0
    tm = load_model(run)
    lay = StepLayout.from_dict(tm.steps)
    ids = np.array([[[0, lay.categorical[1].id_of("gold")],
                     [lay.categorical[0].id_of("view"), 0]]], np.int32)
    st, sc = tm.stats["features"], scaling(tm)
    nums = np.broadcast_to((1.5 - np.array(st["mean"])) / np.array(st["std"]), (1, 2, 2))
    want = tm.engine().forward(MixedInputs(ids, nums.astype(np.float32)))[0].astype(np.float64)
    want = want if sc.out_mean is None else want * sc.out_std + sc.out_mean
    sess = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"),
                                providers=["CPUExecutionProvider"])
    feed = {"cat_0": np.array([["never-seen", "view"]], object),
            "cat_1": np.array([["gold", "??"]], object),
            "numeric": np.full((1, 2, 2), 1.5, np.float32)}
    if "lengths" in {i.name for i in sess.get_inputs()}:
        feed["lengths"] = np.array([2], np.int32)
    np.testing.assert_allclose(sess.run(None, feed)[0], want, **TOL)
    ns = {}
    exec((tmp_path / "pytorch" / "rnn_model.py").read_text(), ns)
    steps = [{"event": "never-seen", "tier": "gold", "amount": 1.5, "hour": 1.5},
             {"event": "view", "amount": 1.5, "hour": 1.5}]  # tier missing: <unk>
    x, lengths = ns["preprocess"](str(tmp_path / "pytorch"), [steps])
    assert x[0][0].tolist() == [[0, ids[0, 1, 0]]] and x[0][1].tolist() == [[ids[0, 0, 1], 0]]
    with torch.no_grad():
        got = ns["load"](str(tmp_path / "pytorch"))(x, lengths).numpy()
    np.testing.assert_allclose(got, want, **TOL)


def test_bool_and_int_columns_are_looked_up_in_the_graph(tmp_path, capsys):
    """Vocabularies of bools and of ints: bool / int64 inputs, the same ids as ingest wrote."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from rnn_spark.ingest.table import ingest_table
    n = 40
    t = pa.table({"u": [f"u{i // 5}" for i in range(n)], "ts": list(range(n)),
                  "flag": [i % 3 == 0 for i in range(n)], "code": [100 + i % 4 for i in range(n)],
                  "v": [float(i % 7) for i in range(n)], "lab": [(i // 5) % 2 for i in range(n)]})
    pq.write_table(t, tmp_path / "t.parquet")
    data = str(tmp_path / "d")
    ingest_table(data, path=str(tmp_path / "t.parquet"), group_by=["u"], order_by="ts",
                 categorical=["flag", "code"], numeric=["v"], label="lab", val_fraction=0)
    run = str(tmp_path / "run")
    train(config.load([], {"data.path": data, "train.run_dir": run, "model.hidden_sizes": [4],
                           "train.batch_size": 2, "train.workers": 1, "train.max_rounds": 1,
                           "train.runner": "inline"}), quiet=True)
    assert run_cli(capsys, "export", "--model", run, "--out", str(tmp_path / "x"), "--format",
                   "onnx")[0] == 0
    sess = ort.InferenceSession(str(tmp_path / "x" / "model.onnx"),
                                providers=["CPUExecutionProvider"])
    assert [i.type for i in sess.get_inputs()][:2] == ["tensor(bool)", "tensor(int64)"]
    tm = load_model(run)
    lay = StepLayout.from_dict(tm.steps)
    flags, codes = [True, False, False], [101, 103, 999]
    ids = np.array([[[lay.categorical[0].id_of(a), lay.categorical[1].id_of(b)]
                     for a, b in zip(flags, codes)]], np.int32)
    assert ids[0, 2, 1] == 0  # 999: not in the vocabulary
    st = tm.stats["features"]
    nums = ((np.array([[[1.0], [2.0], [3.0]]]) - st["mean"][0]) / st["std"][0]).astype(np.float32)
    want = tm.engine().forward(MixedInputs(ids, nums), np.ones((1, 3)))[0]
    got = sess.run(None, {"cat_0": np.array([flags]), "cat_1": np.array([codes], np.int64),
                          "numeric": np.array([[[1.0], [2.0], [3.0]]], np.float32),
                          "lengths": np.array([3], np.int32)})[0]
    np.testing.assert_allclose(got, want, **TOL)


def test_a_vocabulary_onnx_cannot_key_on_is_one_line():
    from rnn_spark.data.steps import CategoricalField
    from rnn_spark.errors import UserError
    from rnn_spark.serve.export_mixed import label_keys
    with pytest.raises(UserError) as e:
        label_keys(CategoricalField("when", 3, (1, "a")), "runs/m")
    msg = str(e.value)
    assert "\n" not in msg and msg.startswith("runs/m: categorical column 'when' holds values of "
                                              "types ['int', 'str']") and "--format pytorch" in msg
