"""Loading models by URI, evaluate's numbers (checked against independent computations), inspect,
and the bad inputs of each (one line, exit 2)."""

import json
import shutil

import numpy as np
import pytest

import rnn_spark as rs
from rnn_spark.ingest import ingest_text
from rnn_spark.cli import main
from rnn_spark.data import read_manifest
from rnn_spark.data.batching import iter_minibatches
from rnn_spark.errors import UserError
from rnn_spark.serve.evaluate import evaluate
from rnn_spark.serve.inspect import checkpoints as list_checkpoints


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# -- loading ------------------------------------------------------------------------------------
def test_run_dir_prefers_best_then_model(lm_run, tmp_path):
    _, run = lm_run
    tm = rs.load_model(run)
    assert tm.source.kind == "checkpoint" and tm.source.uri.endswith("best")
    assert tm.vocab is not None and tm.vocab.size == tm.config.vocab_size
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    shutil.rmtree(copy / "best")
    tm2 = rs.load_model(str(copy))
    assert tm2.source.kind == "model" and tm2.source.uri.endswith("model")


def test_checkpoint_equals_its_weights(lm_run):
    _, run = lm_run
    last = list_checkpoints(run)[-1]
    tm = rs.load_model(last)
    final = rs.load_model(run + "/model")
    assert tm.source.round == 3
    for k, v in final.state.items():  # the last checkpoint is the final model
        np.testing.assert_array_equal(tm.state[k], v)


def test_old_checkpoint_without_model_json_uses_manifest(lm_run, tmp_path):
    ds, run = lm_run
    ck = tmp_path / "ck"
    shutil.copytree(list_checkpoints(run)[-1], ck)
    for name in ("model.json", "checksums.json"):  # as the first release wrote them
        (ck / name).unlink(missing_ok=True)
    assert rs.load_model(str(ck)).vocab.size == read_manifest(ds).vocab_size
    meta = json.loads((ck / "meta.json").read_text())
    meta["config"]["data"]["path"] = str(tmp_path / "gone")
    (ck / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(UserError, match="no model.json and its dataset"):
        rs.load_model(str(ck))


def test_damaged_checkpoint_is_one_line(lm_run, tmp_path, capsys):
    _, run = lm_run
    ck = tmp_path / "ck"
    shutil.copytree(list_checkpoints(run)[-1], ck)
    blob = (ck / "weights.npz").read_bytes()
    (ck / "weights.npz").write_bytes(blob[: len(blob) // 2])  # truncated
    with pytest.raises(UserError, match=r"damaged checkpoint \(weights.npz: sha256 mismatch\)"):
        rs.load_model(str(ck))
    code, out, err = run_cli(capsys, "inspect", str(ck))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "weights.npz" in err and "Traceback" not in err
    model = tmp_path / "model"  # a model/ directory has no checksums: the .npz itself is checked
    shutil.copytree(run + "/model", model)
    blob = (model / "weights.npz").read_bytes()
    (model / "weights.npz").write_bytes(blob[: len(blob) // 2])
    code, out, err = run_cli(capsys, "inspect", str(model))
    assert code == 2 and "not a readable .npz" in err and len(err.strip().splitlines()) == 1


def test_checkpoint_with_its_own_model_json(lm_run, tmp_path):
    """Checkpoints written with a model.json (format rnn-spark-checkpoint) need no dataset."""
    ds, run = lm_run
    ck = tmp_path / "ck"
    shutil.copytree(list_checkpoints(run)[-1], ck)
    (ck / "checksums.json").unlink()  # meta.json is edited below
    mj = json.loads((ck / "meta.json").read_text())
    model_json = json.loads(open(run + "/model/model.json").read())
    model_json.update(format="rnn-spark-checkpoint", weights="global")
    (ck / "model.json").write_text(json.dumps(model_json))
    mj["config"]["data"]["path"] = str(tmp_path / "gone")
    (ck / "meta.json").write_text(json.dumps(mj))
    tm = rs.load_model(str(ck))
    assert tm.vocab.size == read_manifest(ds).vocab_size and tm.source.kind == "checkpoint"
    np.testing.assert_array_equal(tm.state["head.bias"], rs.load_model(run + "/model").state["head.bias"])


@pytest.mark.parametrize("case", ["missing", "empty", "version", "format", "weights"])
def test_bad_model_uri(lm_run, tmp_path, capsys, case):
    _, run = lm_run
    uri = tmp_path / "m"
    if case != "missing":
        uri.mkdir()
    if case in ("version", "format", "weights"):
        shutil.copytree(run + "/model", uri, dirs_exist_ok=True)
        mj = json.loads((uri / "model.json").read_text())
        if case == "version":
            mj["format_version"] = 99
        elif case == "format":
            mj["format"] = "something-else"
        else:
            mj["model"]["hidden_sizes"] = [7]
        (uri / "model.json").write_text(json.dumps(mj))
    ds, _ = lm_run
    code, out, err = run_cli(capsys, "evaluate", "--model", str(uri), "--data", ds)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert str(uri) in err
    want = {"missing": "does not exist", "empty": "holds no model", "version": "format version",
            "format": "not supported", "weights": "do not fit"}[case]
    assert want in err


def test_model_data_mismatch(lm_run, classify_run, series_run, tmp_path, capsys):
    (lm_ds, lm), (cls_ds, cls), (ser_ds, _) = lm_run, classify_run, series_run
    byte_ds = str(tmp_path / "bytes")
    src = tmp_path / "t.txt"
    src.write_text("hello world, a small text\n" * 50)
    ingest_text([str(src)], byte_ds, seq_len=24, vocab="byte", quiet=True)
    for ds, run, what in ((cls_ds, lm, "task"), (ser_ds, cls, "task"),
                          (byte_ds, lm, "vocabulary size")):
        code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", ds)
        assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
        assert what in err and ds in err


# -- evaluate: LM against an independent computation -----------------------------------------------
def _independent_lm(tm, ds):
    """Per-token cross entropy with a plain softmax of the engine's logits, and PyTorch's loss."""
    m = read_manifest(ds)
    eng = tm.engine()
    nll, n, top1 = 0.0, 0, 0
    torch = pytest.importorskip("torch")
    for mb in iter_minibatches(m.work_units("val"), 16, manifest=m, shuffle_rows=False):
        logits, _ = eng.forward(mb.inputs, mb.mask)
        keep = mb.mask.astype(bool)
        lt = torch.tensor(logits[keep], dtype=torch.float64)
        tt = torch.tensor(mb.targets[keep], dtype=torch.long)
        nll += float(torch.nn.functional.cross_entropy(lt, tt, reduction="sum"))
        n += int(keep.sum())
        top1 += int((lt.argmax(1) == tt).sum())
    return nll / n, top1 / n, n


def test_evaluate_lm_matches_torch(lm_run):
    ds, run = lm_run
    tm = rs.load_model(run)
    ev = evaluate(tm, ds)
    loss, acc, n = _independent_lm(tm, ds)
    assert ev.metrics["targets"] == n
    assert ev.metrics["loss"] == pytest.approx(loss, rel=1e-9)
    assert ev.metrics["top1_accuracy"] == pytest.approx(acc)
    assert ev.metrics["perplexity"] == pytest.approx(np.exp(loss))
    assert ev.metrics["bits_per_token"] == pytest.approx(loss / np.log(2))
    assert ev.metrics["bits_per_char"] == ev.metrics["bits_per_token"]  # a char vocabulary
    assert ev.metrics["top1_accuracy"] <= ev.metrics["top5_accuracy"] <= 1


def test_evaluate_independent_of_task_count(lm_run):
    from rnn_spark.runners.inline import InlineRunner
    ds, run = lm_run
    tm = rs.load_model(run)
    a = evaluate(tm, ds, runner=InlineRunner(1))
    b = evaluate(tm, ds, runner=InlineRunner(5))
    assert a == b


def test_evaluate_classify_matches_torch(classify_run, capsys):
    torch = pytest.importorskip("torch")
    ds, run = classify_run
    tm = rs.load_model(run)
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", ds, "--json")
    assert code == 0, err
    res = json.loads(out)
    m = read_manifest(ds)
    logits, ys = [], []
    for mb in iter_minibatches(m.work_units("val"), 16, manifest=m, shuffle_rows=False):
        logits.append(tm.engine().forward(mb.inputs, mb.mask)[0])
        ys.append(mb.targets)
    lt = torch.tensor(np.concatenate(logits), dtype=torch.float64)
    yt = torch.tensor(np.concatenate(ys), dtype=torch.long)
    assert res["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(lt, yt)), rel=1e-9)
    pred = lt.argmax(1).numpy()
    y = yt.numpy()
    C = len(res["confusion"])
    conf = np.zeros((C, C), int)
    np.add.at(conf, (y, pred), 1)
    assert res["confusion"] == conf.tolist()
    assert res["accuracy"] == pytest.approx((pred == y).mean())
    f1 = []
    for c in range(C):
        tp, fp, fn = ((pred == c) & (y == c)).sum(), ((pred == c) & (y != c)).sum(), \
            ((pred != c) & (y == c)).sum()
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1.append(2 * p * r / (p + r) if p + r else 0.0)
        assert res["per_class"][c]["f1"] == pytest.approx(f1[-1])
    assert res["macro_f1"] == pytest.approx(np.mean(f1))
    code, out, _ = run_cli(capsys, "evaluate", "--model", run, "--data", ds)
    assert "confusion matrix" in out and "macro_f1" in out


def test_evaluate_regress_in_original_units(series_run, classify_run, capsys):
    ds, run = series_run
    cls_run = classify_run
    tm = rs.load_model(run)
    m = read_manifest(ds)
    st = m.stats
    tmean, tstd = st["targets"]["mean"][0], st["targets"]["std"][0]
    fmean, fstd = st["features"]["mean"][0], st["features"]["std"][0]
    err, nerr, serr = [], [], []
    for mb in iter_minibatches(m.work_units("val"), 16, manifest=m, shuffle_rows=False):
        out, _ = tm.engine().forward(mb.inputs, mb.mask)
        y = mb.targets.astype(np.float64) * tstd + tmean
        err.append(out.astype(np.float64) * tstd + tmean - y)
        last = mb.inputs[:, -1, 0].astype(np.float64) * fstd + fmean  # 'load' is column 0
        nerr.append(last[:, None] - y)
        # seasonal naive, a season of 7 steps: horizon step j repeats input row 12 - 7 + j
        serr.append(mb.inputs[:, 5:7, 0].astype(np.float64) * fstd + fmean - y)
    err, nerr, serr = map(np.concatenate, (err, nerr, serr))  # float32 rounding differs a bit
    code, out, e = run_cli(capsys, "evaluate", "--model", run, "--data", ds, "--json")
    assert code == 0, e
    res = json.loads(out)
    assert res["mse"] == pytest.approx((err ** 2).mean(), rel=1e-6)
    assert res["mae"] == pytest.approx(np.abs(err).mean(), rel=1e-6)
    assert res["naive_last_value"]["mse"] == pytest.approx((nerr ** 2).mean(), rel=1e-6)
    assert res["naive_last_value"]["rmse"] == pytest.approx(np.sqrt((nerr ** 2).mean()))
    code, out, _ = run_cli(capsys, "evaluate", "--model", run, "--data", ds)
    assert "naive last-value forecast" in out and "seasonal" not in out
    sn = evaluate(tm, ds, season=7).metrics["seasonal_naive"]
    assert sn["season"] == 7 and sn["mse"] == pytest.approx((serr ** 2).mean(), rel=1e-6)
    assert sn["mae"] == pytest.approx(np.abs(serr).mean(), rel=1e-6)
    assert evaluate(tm, ds, season=13).metrics["seasonal_naive"] is None  # windows of 12 steps
    with pytest.raises(UserError, match="--season 7: the seasonal naive forecast is for"):
        evaluate(rs.load_model(cls_run[1]), cls_run[0], season=7)


# -- inspect ------------------------------------------------------------------------------------
def test_inspect_dataset_run_model(lm_run, capsys):
    ds, run = lm_run
    code, out, _ = run_cli(capsys, "inspect", ds, "--json")
    d = json.loads(out)
    assert code == 0 and d["kind"] == "dataset" and d["task"] == "lm" and "val" in d["splits"]
    code, out, _ = run_cli(capsys, "inspect", run, "--json")
    d = json.loads(out)
    assert d["kind"] == "run" and d["rounds_done"] == 4 and d["checkpoints"]
    assert d["best_val"]["loss"] > 0 and d["model"]["parameters"] > 0
    code, out, _ = run_cli(capsys, "inspect", run + "/model")
    assert code == 0 and "rnn.weight_ih_l0" in out and "parameters" in out


@pytest.mark.parametrize("verb", ["train", "evaluate", "predict"])
def test_data_that_is_not_a_dataset(verb, classify_run, tmp_path, capsys):
    """--data naming a raw file (or a directory of them) says it is not a dataset and to run
    `rnn-spark ingest` first -- not "a component of the path is not a directory"."""
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "seqs.jsonl").write_text('{"sequence": [1, 2], "label": 0}\n')
    model = classify_run[1]
    for data, words in ((raw / "seqs.jsonl", "is a file, not a dataset"),
                        (raw, "is a directory without manifest.json, not a dataset"),
                        (tmp_path / "nope", "does not exist")):
        args = {"train": ["--run-dir", str(tmp_path / "run"), "--runner", "inline"],
                "evaluate": ["--model", model], "predict": ["--model", model, "--out",
                                                            str(tmp_path / "out")]}[verb]
        code, _, err = run_cli(capsys, verb, "--data", str(data), *args)
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert f"{data}: {words}" in err and "run `rnn-spark ingest" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw"]  # nothing created
    assert [p.name for p in raw.iterdir()] == ["seqs.jsonl"]


def test_inspect_bad_uri(tmp_path, capsys):
    code, out, err = run_cli(capsys, "inspect", str(tmp_path / "nope"))
    assert code == 2 and "does not exist" in err
    code, out, err = run_cli(capsys, "inspect", str(tmp_path))
    assert code == 2 and "is not a dataset" in err
