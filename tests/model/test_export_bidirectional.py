"""Export of bidirectional models (#24): the PyTorch module (bidirectional=True modules, packed
by lengths) and the ONNX graph (direction="bidirectional", sequence_lens) give the engine's
outputs on every valid step (1e-5, float32), for every cell and task kind, with rows of different
lengths; dropout is a training-only setting and changes nothing in an export."""

import json

import numpy as np
import pytest

from export_cases import CELLS, LENGTHS, TASKS, batch
from export_cases import make as make_model

from rnn_spark.serve.export_onnx import export_onnx
from rnn_spark.serve.export_torch import export_pytorch

BIDI_TASKS = [t for t in TASKS if t != "lm"]


def make(cell, task, hidden, **kw):
    return make_model(cell, task, hidden, bidirectional=True, **kw)


def check(tm, got, x, mask):
    want = tm.engine().forward(x, mask)[0]
    if tm.config.head_at == "every":  # past a row's length the engine carries, ONNX/torch give 0
        sel = mask.astype(bool)
        got, want = got[sel], want[sel]
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("task", BIDI_TASKS)
@pytest.mark.parametrize("cell", CELLS)
def test_torch_round_trip(tmp_path, cell, task):
    torch = pytest.importorskip("torch")
    tm = make(cell, task, (8, 8) if cell != "gru" else (8, 6))  # GRU: unequal widths
    export_pytorch(tm, str(tmp_path / "out"))
    ns = {}
    exec((tmp_path / "out" / "rnn_model.py").read_text(), ns)
    model = ns["load"](str(tmp_path / "out"))
    kind = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}.get(cell, torch.nn.RNN)
    mods = [model.rnn] if isinstance(model.rnn, kind) else list(model.rnn)
    assert all(isinstance(m, kind) and m.bidirectional for m in mods)
    x, mask = batch(tm)
    with torch.no_grad():
        got = model(torch.from_numpy(x), torch.from_numpy(LENGTHS)).numpy()
    check(tm, got, x, mask)
    if task != "regress":  # full-length rows need no lengths
        full = np.ones_like(mask)
        with torch.no_grad():
            got = model(torch.from_numpy(x)).numpy()
        check(tm, got, x, full)


@pytest.mark.parametrize("task", BIDI_TASKS)
@pytest.mark.parametrize("cell", CELLS)
def test_onnx_round_trip(tmp_path, cell, task):
    ort = pytest.importorskip("onnxruntime")
    tm = make(cell, task, (8, 6))
    res = export_onnx(tm, str(tmp_path / "out"))
    assert [i["name"] for i in res["interface"]["inputs"]] == ["input", "lengths"]
    assert "reverse direction starts there" in res["interface"]["inputs"][1]["units"]
    sess = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"),
                                providers=["CPUExecutionProvider"])
    x, mask = batch(tm)
    got = sess.run(None, {"input": x, "lengths": LENGTHS.astype(np.int32)})[0]
    check(tm, got, x, mask)


def test_dropout_is_not_exported(tmp_path):
    """A model trained with dropout exports the plain network: same outputs as without it, and
    model.json keeps the setting for the record."""
    ort = pytest.importorskip("onnxruntime")
    tm = make("lstm", "classify", (6,), dropout=0.5, embedding_dropout=0.3, recurrent_dropout=0.4)
    plain = make("lstm", "classify", (6,))
    export_onnx(tm, str(tmp_path / "out"))
    sess = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"),
                                providers=["CPUExecutionProvider"])
    x, mask = batch(tm)
    got = sess.run(None, {"input": x, "lengths": LENGTHS.astype(np.int32)})[0]
    check(plain, got, x, mask)
    mj = json.loads((tmp_path / "out" / "model.json").read_text())
    assert mj["model"]["dropout"] == 0.5 and mj["model"]["bidirectional"] is True
