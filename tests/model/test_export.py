"""export: the PyTorch modules (from the exported snippet) and onnxruntime give the engine's outputs
(1e-5, float32) for every cell type and task; bad --out values write nothing."""

import json
import os
import sys

import numpy as np
import pytest
from export_cases import CELLS, LENGTHS, TASKS, batch, make

from rnn_spark.cli import main
from rnn_spark.serve.export_onnx import export_onnx
from rnn_spark.serve.export_torch import SNIPPET, export_pytorch


def engine_out(tm, x, mask):
    if tm.config.head_at == "last":
        return tm.engine().forward(x, mask)[0]
    return tm.engine().forward(x)[0]


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("cell", CELLS)
def test_torch_round_trip(tmp_path, cell, task):
    torch = pytest.importorskip("torch")
    tm = make(cell, task, hidden=(8, 8) if cell != "gru" else (8, 6))  # GRU: unequal widths
    export_pytorch(tm, str(tmp_path / "out"))
    ns = {}
    exec((tmp_path / "out" / "rnn_model.py").read_text(), ns)
    model = ns["load"](str(tmp_path / "out"))
    x, mask = batch(tm)
    with torch.no_grad():
        got = model(torch.from_numpy(x), torch.from_numpy(LENGTHS)).numpy()
    np.testing.assert_allclose(got, engine_out(tm, x, mask), atol=1e-5, rtol=0)


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("cell", CELLS)
def test_onnx_round_trip(tmp_path, cell, task):
    ort = pytest.importorskip("onnxruntime")
    tm = make(cell, task, hidden=(8, 6))
    export_onnx(tm, str(tmp_path / "out"))
    sess = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"),
                                providers=["CPUExecutionProvider"])
    x, mask = batch(tm)
    feed = {"input": x}
    if tm.config.head_at == "last":
        feed["lengths"] = LENGTHS.astype(np.int32)
    got = sess.run(None, feed)[0]
    np.testing.assert_allclose(got, engine_out(tm, x, mask), atol=1e-5, rtol=0)


def test_snippet_is_self_contained():
    assert "import torch" in SNIPPET and "def load" in SNIPPET


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_export_both_formats(lm_run, tmp_path, capsys):
    _, run = lm_run
    code, out, err = run_cli(capsys, "export", "--model", run, "--out", str(tmp_path / "pt"),
                             "--format", "pytorch")
    assert code == 0, err
    assert "class RNNModel" in out and sorted(os.listdir(tmp_path / "pt")) == \
        [".rnn-spark-export", "model.json", "model.pt", "rnn_model.py"]
    mj = json.loads((tmp_path / "pt" / "model.json").read_text())
    assert mj["vocab"]["size"] == mj["model"]["vocab_size"]
    code, out, err = run_cli(capsys, "export", "--model", run, "--out", str(tmp_path / "ox"),
                             "--format", "onnx")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "ox")) == [".rnn-spark-export", "model.json", "model.onnx"]


def test_npz_when_torch_is_absent(lm_run, tmp_path, monkeypatch):
    from rnn_spark.serve import load_model
    monkeypatch.setitem(sys.modules, "torch", None)
    res = export_pytorch(load_model(lm_run[1]), str(tmp_path / "np"))
    assert res["files"][0] == "model.npz" and "model.npz" in res["snippet"]
    with np.load(tmp_path / "np" / "model.npz", allow_pickle=False) as z:
        assert "rnn.weight_ih_l0" in z.files


def test_bad_out(lm_run, tmp_path, capsys):
    _, run = lm_run
    existing = tmp_path / "exists"
    existing.mkdir()
    (existing / "keep.txt").write_text("x")
    for flags in ([], ["--overwrite"]):  # a directory rnn-spark did not make is never replaced
        code, out, err = run_cli(capsys, "export", "--model", run, "--out", str(existing),
                                 "--format", "onnx", *flags)
        assert code == 2 and "--overwrite" in err and len(err.strip().splitlines()) == 1
        assert os.listdir(existing) == ["keep.txt"]
    mine = tmp_path / "mine"
    assert run_cli(capsys, "export", "--model", run, "--out", str(mine), "--format", "onnx")[0] == 0
    code, _, err = run_cli(capsys, "export", "--model", run, "--out", str(mine), "--format", "pytorch")
    assert code == 2 and "--overwrite" in err
    assert sorted(os.listdir(mine)) == [".rnn-spark-export", "model.json", "model.onnx"]
    code, _, err = run_cli(capsys, "export", "--model", run, "--out", str(mine),
                           "--format", "pytorch", "--overwrite")
    assert code == 0 and sorted(os.listdir(mine)) == [".rnn-spark-export", "model.json", "model.pt",
                                                      "rnn_model.py"]
    afile = tmp_path / "file"
    afile.write_text("x")
    code, out, err = run_cli(capsys, "export", "--model", run, "--out", str(afile / "sub"),
                             "--format", "pytorch")
    assert code == 2 and "is a file" in err and afile.read_text() == "x"
    code, out, err = run_cli(capsys, "export", "--model", str(tmp_path / "none"),
                             "--out", str(tmp_path / "o2"), "--format", "onnx")
    assert code == 2 and "does not exist" in err and not (tmp_path / "o2").exists()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if not os.access(ro, os.W_OK):  # root writes anywhere: nothing to refuse then
            code, out, err = run_cli(capsys, "export", "--model", run, "--out", str(ro / "x"),
                                     "--format", "pytorch")
            assert code == 2 and "not writable" in err
    finally:
        ro.chmod(0o700)


def test_rnn_model_py_loads_the_npz_written_without_torch(series_run, tmp_path):
    """#21.5: exported where torch is not installed (a `torch` that fails to import, in a
    subprocess), the weights are model.npz -- and the rnn_model.py written beside them loads
    them in real torch and gives the same raw-in, original-units-out forecasts as the ONNX export."""
    import subprocess
    torch = pytest.importorskip("torch")
    ort = pytest.importorskip("onnxruntime")
    _, run = series_run
    stub = tmp_path / "stub" / "torch"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('No module named torch (test stub)')\n")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(stub.parent), repo])}
    for fmt in ("pytorch", "onnx"):
        r = subprocess.run([sys.executable, "-c", "import sys; from rnn_spark.cli import main; "
                            "sys.exit(main(sys.argv[1:]))", "export", "--model", run,
                            "--out", str(tmp_path / fmt), "--format", fmt],
                           env=env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path / "pytorch")) == [".rnn-spark-export", "model.json",
                                                         "model.npz", "rnn_model.py"]
    assert json.loads((tmp_path / "pytorch" / "model.json").read_text())["weights"] == "model.npz"
    ns = {}
    exec((tmp_path / "pytorch" / "rnn_model.py").read_text(), ns)
    model = ns["load"](str(tmp_path / "pytorch"))
    x = (100 + 20 * np.random.default_rng(3).standard_normal((3, 12, 2))).astype(np.float32)
    with torch.no_grad():
        got = model(torch.from_numpy(x), torch.tensor([12, 12, 12])).numpy()
    sess = ort.InferenceSession(str(tmp_path / "onnx" / "model.onnx"),
                                providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x, "lengths": np.full(3, 12, np.int32)})[0]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
