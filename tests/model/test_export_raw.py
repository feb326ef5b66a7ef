"""#21.3: an exported model takes RAW inputs and returns outputs in original units.

For every task the engine supports (language model: ids in, logits out; classify on tokens and on
float features; labelled regression; forecasts with a last-step and an every-step head), the ONNX
graph (onnxruntime) and the PyTorch module (rnn_model.py) are fed the raw values the test reads
from the same files it gives `predict --input`, and their outputs must equal predict's (1e-5).
A dataset ingested with --no-normalize exports without normalisation steps.
Before the fix the exports expected normalised features and returned normalised forecasts.
"""

import csv
import json

import numpy as np
import pytest

import rnn_spark as rs
from rnn_spark import config, ingest
from rnn_spark.serve.raw import predict_raw
from rnn_spark.training.loop import train
from test_predict import read_out, run_cli  # tests/model/test_predict.py

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
TOL = dict(rtol=1e-5, atol=1e-5)


def _train(ds, run, **over):
    base = {"data.path": ds, "train.run_dir": run, "model.hidden_sizes": [12], "train.k1": 12,
            "train.batch_size": 8, "train.steps_per_round": 2, "train.workers": 1,
            "train.max_rounds": 3, "train.runner": "inline", "model.embedding_size": 6}
    base.update(over)
    train(config.load([], base), quiet=True)
    return run


class Exported:
    """Both exports of one run, loaded the way a user loads them."""

    def __init__(self, run, tmp_path, capsys):
        self.dir = {}
        for fmt in ("onnx", "pytorch"):
            out = tmp_path / f"exp-{fmt}"
            code, _, err = run_cli(capsys, "export", "--model", run, "--out", str(out),
                                   "--format", fmt)
            assert code == 0, err
            self.dir[fmt] = out
        self.meta = json.loads((self.dir["onnx"] / "model.json").read_text())
        self.sess = ort.InferenceSession(str(self.dir["onnx"] / "model.onnx"),
                                         providers=["CPUExecutionProvider"])
        ns = {}
        exec((self.dir["pytorch"] / "rnn_model.py").read_text(), ns)
        self.module = ns["load"](str(self.dir["pytorch"]))
        self.last = self.meta["model"]["head_at"] == "last"

    def both(self, x, lengths):
        """(onnx, torch) outputs for raw ``x`` [B, T(, D)] with valid ``lengths``."""
        feed = {"input": x}
        if self.last:
            feed["lengths"] = np.asarray(lengths, np.int32)
        a = self.sess.run(None, feed)[0]
        with torch.no_grad():
            b = self.module(torch.from_numpy(x), torch.from_numpy(np.asarray(lengths, np.int64)))
        return a, b.numpy()

    def ops(self):
        import onnx
        g = onnx.load(str(self.dir["onnx"] / "model.onnx")).graph
        return [n.op_type for n in g.node], {i.name for i in g.initializer}


def _padded(seqs, dtype):
    T = max(len(s) for s in seqs)
    first = np.asarray(seqs[0])
    x = np.zeros((len(seqs), T) + first.shape[1:], dtype)
    for b, s in enumerate(seqs):
        x[b, :len(s)] = s
    return x, np.array([len(s) for s in seqs])


def _softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_language_model_ids_in_logits_out(lm_run, tmp_path, capsys):
    _, run = lm_run
    ex = Exported(run, tmp_path, capsys)
    texts = ["def load(s):\n", "return json.dumps(x)", "import sys\n"]
    files = []
    for i, t in enumerate(texts):
        files.append(tmp_path / f"t{i}.txt")
        files[-1].write_text(t)
    predict_raw(rs.load_model(run), [str(f) for f in files], str(tmp_path / "p"))
    _, t = read_out(tmp_path / "p")
    index = {tok: i for i, tok in enumerate(ex.meta["vocab"]["tokens"])}
    seqs = [[index.get(c, 0) for c in text] for text in texts]
    x, lengths = _padded(seqs, np.int64)
    for got in ex.both(x, lengths):
        assert got.shape == (len(texts), x.shape[1], ex.meta["model"]["vocab_size"])
        for b, row in enumerate(t.to_pylist()):
            n = lengths[b]
            p = _softmax(got[b, n - 1])
            np.testing.assert_allclose(p[row["next_ids"]], row["next_probs"], **TOL)
            logp = np.log(_softmax(got[b, :n - 1]))
            nll = -logp[np.arange(n - 1), x[b, 1:n]].mean()
            np.testing.assert_allclose(nll, row["loss"], **TOL)


def test_classify_on_tokens(classify_run, tmp_path, capsys):
    _, run = classify_run
    ex = Exported(run, tmp_path, capsys)
    seqs = [[1, 2, 3, 4], [10, 11, 12], [5, 6, 7, 8, 9], [14, 13]]
    src = tmp_path / "a.jsonl"
    src.write_text("".join(json.dumps({"sequence": s}) + "\n" for s in seqs))
    predict_raw(rs.load_model(run), [str(src)], str(tmp_path / "p"))
    _, t = read_out(tmp_path / "p")
    x, lengths = _padded(seqs, np.int64)
    for got in ex.both(x, lengths):
        np.testing.assert_allclose(_softmax(got), np.array(t["probs"].to_pylist()), **TOL)
        assert got.argmax(axis=1).tolist() == t["pred"].to_pylist()
    assert ex.ops()[1].isdisjoint({"in_mean", "in_std", "out_mean", "out_std"})


def _labelled(tmp_path, task, normalize=True):
    """Float-feature sequences in raw units far from 0 (mean ~50, std ~10)."""
    rng = np.random.default_rng(4)
    rows = []
    for i in range(160):
        x = rng.normal(50, 10, (int(rng.integers(3, 9)), 3))
        label = int(x[:, 0].mean() > 50) if task == "classify" else [float(x.sum()),
                                                                     float(x[-1, 1])]
        rows.append(json.dumps({"sequence": x.round(3).tolist(), "label": label}))
    src = tmp_path / f"{task}.jsonl"
    src.write_text("\n".join(rows) + "\n")
    ds, run = str(tmp_path / f"ds-{task}"), str(tmp_path / f"run-{task}")
    ingest.ingest_labelled([str(src)], ds, task=task, kind="features", normalize=normalize,
                           quiet=True)
    return _train(ds, run, **{"model.cell": "lstm"})


@pytest.mark.parametrize("task", ["classify", "regress"])
def test_labelled_float_features(tmp_path, capsys, task):
    run = _labelled(tmp_path, task)
    ex = Exported(run, tmp_path, capsys)
    rng = np.random.default_rng(9)
    seqs = [rng.normal(50, 10, (n, 3)).round(3) for n in (4, 7, 2, 5)]
    src = tmp_path / "new.jsonl"
    src.write_text("".join(json.dumps({"sequence": s.tolist()}) + "\n" for s in seqs))
    predict_raw(rs.load_model(run), [str(src)], str(tmp_path / "p"))
    _, t = read_out(tmp_path / "p")
    x, lengths = _padded(seqs, np.float32)
    for got in ex.both(x, lengths):
        if task == "classify":
            np.testing.assert_allclose(_softmax(got), np.array(t["probs"].to_pylist()), **TOL)
        else:
            np.testing.assert_allclose(got, np.array(t["pred"].to_pylist()), **TOL)
    ops, inits = ex.ops()
    assert {"Sub", "Div"} <= set(ops) and {"in_mean", "in_std"} <= inits
    assert ({"out_mean", "out_std"} <= inits) == (task == "regress")
    iface = ex.meta["interface"]
    assert "raw" in iface["inputs"][0]["units"] and iface["inputs"][1]["name"] == "lengths"
    if task == "regress":
        assert "original units" in iface["output"]["units"]


def _series_csv(path, groups=("a", "b"), n=60, start=0):
    rows = ["entity,t,load,temp"]
    for g in groups:
        for k in range(start, start + n):
            rows.append(f"{g},{k},{100 + 20 * np.sin(k / 7 + (g == 'b')):.4f},{15 + (k % 10)}")
    path.write_text("\n".join(rows) + "\n")


def _series_run(tmp_path, head_at="last", normalize=True):
    src = tmp_path / "load.csv"
    _series_csv(src, n=300)
    ds, run = str(tmp_path / "ds-series"), str(tmp_path / "run-series")
    ingest.ingest_series([str(src)], ds, window=10, horizon=2, columns=["load", "temp"],
                         target_columns=["load"], time_column="t", group_column="entity",
                         head_at=head_at, normalize=normalize, quiet=True)
    return _train(ds, run, **{"model.cell": "gru"})


def _raw_windows(path, window):
    """Every window of each entity's (load, temp) rows, as the CSV module reads them."""
    by = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            by.setdefault(r["entity"], []).append((int(r["t"]), float(r["load"]),
                                                   float(r["temp"])))
    out = []
    for g in sorted(by):
        v = np.array(sorted(by[g]))[:, 1:]
        out += [v[s:s + window] for s in range(len(v) - window + 1)]
    return np.stack(out).astype(np.float32)


@pytest.mark.parametrize("head_at", ["last", "every"])
@pytest.mark.parametrize("normalize", [True, False])
def test_forecasts_in_original_units(tmp_path, capsys, head_at, normalize):
    run = _series_run(tmp_path, head_at, normalize)
    ex = Exported(run, tmp_path, capsys)
    src = tmp_path / "recent.csv"
    _series_csv(src, n=25, start=1000)
    predict_raw(rs.load_model(run), [str(src)], str(tmp_path / "p"))
    _, t = read_out(tmp_path / "p")
    x = _raw_windows(src, 10)
    want = np.array(t["pred"].to_pylist())
    assert len(want) == len(x)
    for got in ex.both(x, np.full(len(x), 10)):
        np.testing.assert_allclose(got.reshape(len(x), -1), want, **TOL)
        if normalize:
            assert got.mean() > 50  # loads of ~100, not normalised values
    ops, inits = ex.ops()
    norm_nodes = {"in_mean", "in_std", "out_mean", "out_std"}
    if normalize:
        assert norm_nodes <= inits and {"Sub", "Div", "Mul"} <= set(ops)
        assert ex.module.in_mean is not None and ex.module.out_std is not None
    else:  # --no-normalize: nothing to undo, no normalisation steps at all
        assert inits.isdisjoint(norm_nodes) and {"Sub", "Div", "Mul"}.isdisjoint(ops)
        assert ex.module.in_mean is None and ex.module.out_mean is None
        assert ex.meta["interface"]["normalisation"] == {}


def test_onnx_model_json_and_no_unused_initializers(series_run, tmp_path, capsys):
    """model.json names the format it describes; onnxruntime finds no unused initializer."""
    _, run = series_run
    ex = Exported(run, tmp_path, capsys)
    assert ex.meta["format"] == "onnx" and ex.meta["weights"] == "model.onnx"
    pt = json.loads((ex.dir["pytorch"] / "model.json").read_text())
    assert pt["format"] == "pytorch-state-dict" and pt["weights"] == "model.pt"
    import onnx
    g = onnx.load(str(ex.dir["onnx"] / "model.onnx")).graph
    used = {i for n in g.node for i in n.input}
    assert [i.name for i in g.initializer if i.name not in used] == []
    for fmt in ("onnx", "pytorch"):  # the command says what the model takes and returns
        code, _, err = run_cli(capsys, "export", "--model", run, "--out", str(tmp_path / fmt),
                               "--format", fmt)
        line = err.splitlines()[0]
        assert code == 0 and "takes raw inputs" in line and "original units" in line, err
