"""predict: output per task, keys, determinism (inline runs and task counts give the same bytes),
atomic output, bad inputs."""

import json
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

import rnn_spark as rs
from rnn_spark.cli import main
from rnn_spark.data import read_manifest
from rnn_spark.data.batching import iter_minibatches
from rnn_spark.runners.inline import InlineRunner
from rnn_spark.serve.predict import predict


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def read_out(out):
    doc = json.loads((out / "_predictions.json").read_text())
    tables = [pq.read_table(out / f["path"]) for f in doc["files"]]
    import pyarrow as pa
    return doc, pa.concat_tables(tables)


def files_bytes(out):
    return {p: (out / p).read_bytes() for p in sorted(os.listdir(out))}


def test_classify_predictions(classify_run, tmp_path, capsys):
    ds, run = classify_run
    out = tmp_path / "p"
    code, stdout, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out))
    assert code == 0, err
    assert json.loads(stdout)["rows"] == sum(read_manifest(ds).counts(s)["sequences"]
                                             for s in ("train", "val"))
    doc, t = read_out(out)
    assert doc["format"] == "rnn-spark-predictions" and doc["rows"] == t.num_rows
    probs = np.array(t["probs"].to_pylist())
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)
    assert (probs.argmax(axis=1) == t["pred"].to_numpy()).all()
    keys = list(zip(t["split"].to_pylist(), t["src_file"].to_pylist(), t["src_row"].to_pylist()))
    assert len(set(keys)) == len(keys)
    # the same numbers as the engine on the val rows (keyed by src_row)
    m = read_manifest(ds)
    tm = rs.load_model(run)
    val = {r: p for s, r, p in zip(t["split"].to_pylist(), t["src_row"].to_pylist(),
                                   t["pred"].to_pylist()) if s == "val"}
    units = m.work_units("val")
    rows = pq.read_table(units[0].shard)
    mb = next(iter_minibatches(units[:1], units[0].rows, manifest=m, shuffle_rows=False))
    want = tm.engine().forward(mb.inputs, mb.mask)[0].argmax(axis=1)
    got = [val[r] for r in rows.slice(0, units[0].rows)["src_row"].to_pylist()]
    assert got == want.tolist()


def test_regress_predictions_in_original_units(series_run, tmp_path):
    ds, run = series_run
    tm = rs.load_model(run)
    predict(tm, ds, str(tmp_path / "p"), split="val")
    doc, t = read_out(tmp_path / "p")
    target = np.array(t["target"].to_pylist())
    assert target.shape[1] == 2  # horizon 2 x one target column
    assert 70 < target.mean() < 130  # the 'load' column's units (100 +- 20), not z-scores
    pred = np.array(t["pred"].to_pylist())
    ev = tm.evaluate(ds, split="val")
    assert ev.metrics["mse"] == pytest.approx(((pred - target) ** 2).mean(), rel=1e-5)


def test_lm_predictions(lm_run, tmp_path):
    ds, run = lm_run
    tm = rs.load_model(run)
    predict(tm, ds, str(tmp_path / "p"), split="val", top_k=3)
    doc, t = read_out(tmp_path / "p")
    assert doc["top_k"] == 3
    p = np.array(t["next_probs"].to_pylist())
    assert p.shape[1] == 3 and (np.diff(p, axis=1) <= 0).all()
    toks = t["next_tokens"].to_pylist()
    ids = t["next_ids"].to_pylist()
    assert toks[0] == [tm.vocab.tokens[i] for i in ids[0]]
    # token-weighted mean of the per-row losses is evaluate's loss
    loss, n = t["loss"].to_numpy(), t["tokens"].to_numpy()
    ev = tm.evaluate(ds, split="val")
    assert (loss * n).sum() / n.sum() == pytest.approx(ev.metrics["loss"], rel=1e-5)


def test_deterministic_bytes(classify_run, tmp_path):
    ds, run = classify_run
    tm = rs.load_model(run)
    predict(tm, ds, str(tmp_path / "a"), runner=InlineRunner(1))
    predict(tm, ds, str(tmp_path / "b"), runner=InlineRunner(4), batch_size=64)
    assert files_bytes(tmp_path / "a") == files_bytes(tmp_path / "b")


def test_bad_inputs_write_nothing(classify_run, lm_run, tmp_path, capsys):
    ds, run = classify_run
    out = tmp_path / "o"
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", lm_run[0], "--out", str(out))
    assert code == 2 and "task" in err and not out.exists()
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]
    out.mkdir()
    (out / "mine.txt").write_text("user data")
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out))
    assert code == 2 and "--overwrite" in err and os.listdir(out) == ["mine.txt"]
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out),
                           "--overwrite")  # not a predictions directory: never replaced
    assert code == 2 and "not a predictions directory" in err and os.listdir(out) == ["mine.txt"]
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", ds,
                           "--overwrite")
    assert code == 2 and "is the input" in err
    code, _, err = run_cli(capsys, "predict", "--model", run, "--out", str(tmp_path / "x"))
    assert code == 2 and "exactly one of" in err
    f = tmp_path / "f"
    f.write_text("x")
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(f / "o"))
    assert code == 2 and "is a file" in err
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out",
                           str(tmp_path / "y"), "--split", "nope")
    assert code == 2 and not (tmp_path / "y").exists()


def test_overwrite_replaces_own_predictions(classify_run, tmp_path, capsys):
    ds, run = classify_run
    out = tmp_path / "p"
    assert run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out))[0] == 0
    before = files_bytes(out)
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out))
    assert code == 2 and "--overwrite" in err and files_bytes(out) == before
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out),
                           "--split", "val", "--overwrite")
    assert code == 0, err
    assert json.loads((out / "_predictions.json").read_text())["splits"] == ["val"]


def test_out_reads_as_one_parquet_table(classify_run, tmp_path):
    """Arrow and pandas read --out as one table: the side file's name starts with '_', which
    they skip (as Spark does: tests/model/test_spark.py), so no reader trips over the JSON."""
    ds, run = classify_run
    out = tmp_path / "p"
    predict(rs.load_model(run), ds, str(out))
    doc, parts = read_out(out)
    whole = pq.read_table(out)
    assert whole.schema.names == doc["schema"] and whole.equals(parts)
    pd = pytest.importorskip("pandas")
    assert pd.read_parquet(out).shape == (doc["rows"], len(doc["schema"]))


def test_overwrite_replaces_predictions_of_earlier_versions(classify_run, tmp_path, capsys):
    """A predictions directory written before the side file was renamed (predictions.json)
    is still one rnn-spark made: --overwrite replaces it."""
    ds, run = classify_run
    out = tmp_path / "p"
    assert run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out))[0] == 0
    (out / "_predictions.json").rename(out / "predictions.json")
    code, _, err = run_cli(capsys, "predict", "--model", run, "--data", ds, "--out", str(out),
                           "--split", "val", "--overwrite")
    assert code == 0, err
    assert not (out / "predictions.json").exists()
    assert json.loads((out / "_predictions.json").read_text())["splits"] == ["val"]


def test_failed_task_leaves_nothing(classify_run, tmp_path, monkeypatch):
    ds, run = classify_run
    tm = rs.load_model(run)
    import rnn_spark.serve.predict as P
    calls = []
    real = P.score_table

    def boom(*a, **k):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("injected")
        return real(*a, **k)
    monkeypatch.setattr(P, "score_table", boom)
    with pytest.raises(RuntimeError):
        predict(tm, ds, str(tmp_path / "p"))
    assert os.listdir(tmp_path) == []


def test_raw_input_uses_the_models_vocab(lm_run, tmp_path, capsys):
    ds, run = lm_run
    tm = rs.load_model(run)
    src = tmp_path / "new.txt"
    src.write_text("import json\nprint(json.dumps({'a': 1}))\n\u4e2d\u6587 text\n" * 5)
    out = tmp_path / "p"
    code, stdout, err = run_cli(capsys, "predict", "--model", run, "--input", str(src),
                                "--out", str(out), "--top-k", "2")
    assert code == 0, err
    res = json.loads(stdout)
    assert res["unknown_tokens"] == 10 and "10 input character(s)" in err
    doc, t = read_out(out)
    assert doc["inputs"] == [str(src)] and doc["seq_len"] == 24
    assert set(t["split"].to_pylist()) == {"input"} and t.num_rows == res["rows"] > 0
    assert all(len(r) == 2 for r in t["next_ids"].to_pylist())
    # the first row's loss equals the engine's on the same ids
    ids = tm.vocab.encode_codes(np.frombuffer(src.read_text().encode("utf-32-le"), np.uint32))[:25]
    logits = tm.engine().forward(ids[None, :-1].astype(np.int64))[0][0].astype(np.float64)
    lp = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) \
        - logits.max(1, keepdims=True)
    want = -lp[np.arange(24), ids[1:]].mean()
    assert t["loss"][0].as_py() == pytest.approx(want, rel=1e-5)


def test_raw_input_bad(classify_run, lm_run, tmp_path, capsys):
    src = tmp_path / "x.txt"
    src.write_bytes(b"abc\xff\xfe def\n")
    code, _, err = run_cli(capsys, "predict", "--model", lm_run[1], "--input", str(src),
                           "--out", str(tmp_path / "o"))
    assert code == 2 and "UTF-8" in err and str(src) in err and not (tmp_path / "o").exists()
    code, _, err = run_cli(capsys, "predict", "--model", classify_run[1], "--input", str(src),
                           "--out", str(tmp_path / "o"))
    assert code == 2 and "cannot tell the format" in err and "--format" in err  # labelled input
    code, _, err = run_cli(capsys, "predict", "--model", lm_run[1], "--input",
                           str(tmp_path / "missing.txt"), "--out", str(tmp_path / "o"))
    assert code == 2 and "not found" in err
    assert sorted(os.listdir(tmp_path)) == ["x.txt"]
