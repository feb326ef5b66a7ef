"""Forecasts keyed by group and time, and ``predict --input`` for classifiers and forecasters:
checked against an independent reading of the small CSV / JSON files the tests write."""

import csv
import json
import os

import numpy as np
import pyarrow.compute as pc
import pytest

import rnn_spark as rs
from rnn_spark.data import read_manifest
from rnn_spark.errors import UserError
from rnn_spark.serve.predict import predict
from rnn_spark.serve.raw import predict_raw
from test_predict import read_out, run_cli  # tests/model/test_predict.py

WINDOW, HORIZON = 12, 2  # tests/model/conftest.py: series_run


def read_series(path):
    """{entity: (t, load, temp)} sorted by t: the CSV read with the csv module alone."""
    by = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            by.setdefault(r["entity"], []).append((int(r["t"]), float(r["load"]), float(r["temp"])))
    return {g: np.array(sorted(v)) for g, v in sorted(by.items())}


def forecast(tm, window):
    """The engine's forecast of one window [L, 2] in original units, computed here."""
    f, t = tm.stats["features"], tm.stats["targets"]
    x = ((window - np.array(f["mean"])) / np.array(f["std"])).astype(np.float32)[None]
    out = tm.engine().forward(x, np.ones((1, len(window)), np.float32))[0][0].astype(np.float64)
    return out * np.array(t["std"])[0] + np.array(t["mean"])[0]


def test_forecasts_keyed_by_group_and_time(series_run, tmp_path):
    ds, run = series_run
    tm = rs.load_model(run)
    predict(tm, ds, str(tmp_path / "p"))
    doc, t = read_out(tmp_path / "p")
    assert doc["schema"][-3:] == ["group", "time_index", "time"]
    series = read_series(read_manifest(ds).data["sources"][0]["uri"])
    per = {g: len(v) - WINDOW - HORIZON + 1 for g, v in series.items()}  # windows per entity
    names = list(series)
    got = t.to_pylist()
    assert {r["group"] for r in got} == set(names)
    for r in got[::37]:
        g = names[0] if r["src_row"] < per[names[0]] else names[1]
        s = r["src_row"] - (0 if g == names[0] else per[names[0]])
        rows = series[g][s + WINDOW:s + WINDOW + HORIZON]
        assert r["group"] == g and r["time_index"] == s + WINDOW
        assert r["time"] == [str(int(v)) for v in rows[:, 0]]
        np.testing.assert_allclose(r["target"], rows[:, 1], rtol=1e-5)
        want = forecast(tm, series[g][s:s + WINDOW, 1:])
        np.testing.assert_allclose(r["pred"], want, rtol=1e-4, atol=1e-3)


def sorted_keys(t):
    keys = list(zip(t["group"].to_pylist(), t["time_index"].to_pylist()))
    return keys == sorted(keys) and len(set(keys)) == len(keys) == t.num_rows


def test_forecasts_sorted_by_group_and_time(series_run, tmp_path):
    """The dataset's rows lie in its shards in hash order; the forecasts come out sorted by
    group and time (the series ingest's window order), the directory read as one table."""
    import pyarrow.parquet as pq
    ds, run = series_run
    predict(rs.load_model(run), ds, str(tmp_path / "p"))
    t = pq.read_table(tmp_path / "p")
    assert set(t["split"].to_pylist()) == {"train", "val"} and sorted_keys(t)


def test_forecast_order_across_parts(series_run, tmp_path, monkeypatch):
    """Several parts (and row groups) in order; no sort runs left; the bytes do not depend on
    the number of workers; one split is the same rows as that split of all."""
    import pyarrow.parquet as pq

    from rnn_spark.runners.inline import InlineRunner
    from test_predict import files_bytes
    ds, run = series_run
    tm = rs.load_model(run)
    monkeypatch.setattr("rnn_spark.serve.ordered.PART_ROWS", 200)
    monkeypatch.setattr("rnn_spark.serve.ordered.ROW_GROUP_ROWS", 64)
    predict(tm, ds, str(tmp_path / "a"), runner=InlineRunner(1))
    t = pq.read_table(tmp_path / "a")
    assert sorted_keys(t)
    doc = json.loads((tmp_path / "a" / "_predictions.json").read_text())
    assert sum(f["rows"] for f in doc["files"]) == t.num_rows == doc["rows"]
    assert [f["split"] for f in doc["files"]] == ["train", "train,val", "train", "train,val"]
    assert sorted(os.listdir(tmp_path / "a")) == ["_predictions.json"] + [
        f"part-{i:05d}.parquet" for i in range(4)]                     # no sort runs left
    first = pq.ParquetFile(tmp_path / "a" / "part-00000.parquet").metadata
    assert first.num_rows == 200 and first.row_group(0).num_rows == 64
    predict(tm, ds, str(tmp_path / "b"), runner=InlineRunner(4))
    assert files_bytes(tmp_path / "a") == files_bytes(tmp_path / "b")
    predict(tm, ds, str(tmp_path / "v"), split="val")
    v = pq.read_table(tmp_path / "v")
    assert v.to_pylist() == t.filter(pc.equal(t["split"], "val")).to_pylist()


def test_raw_series_forecasts_past_the_end(series_run, tmp_path, capsys):
    ds, run = series_run
    tm = rs.load_model(run)
    src = tmp_path / "recent.csv"
    lines = ["t,entity,temp,load"]  # other column order, rows out of order: sorted as ingest does
    rng = np.random.default_rng(1)
    for g, n in (("b", 20), ("a", 15), ("c", 5)):  # c is too short for one window
        for k in rng.permutation(n):
            lines.append(f"{1000 + k},{g},{15 + k % 10},{100 + np.sin(k / 7):.4f}")
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "p"
    code, stdout, err = run_cli(capsys, "predict", "--model", run, "--input", str(src),
                                "--out", str(out))
    assert code == 0, err
    doc, t = read_out(out)
    series = read_series(src)
    assert t.num_rows == json.loads(stdout)["rows"] == (15 - WINDOW + 1) + (20 - WINDOW + 1)
    rows = t.to_pylist()
    assert [r["group"] for r in rows] == ["a"] * 4 + ["b"] * 9
    last = rows[3]  # a's last window: rows 3..14 in, targets 15, 16 are past the data
    assert last["time_index"] == 15 and last["time"] == ["1015", "1016"]  # the series' spacing
    assert np.isnan(last["target"]).all()
    np.testing.assert_allclose(last["pred"], forecast(tm, series["a"][3:15, 1:]),
                               rtol=1e-4, atol=1e-3)
    first = rows[4]  # b's first window
    assert first["time_index"] == WINDOW and first["time"] == ["1012", "1013"]
    np.testing.assert_allclose(first["target"], series["b"][12:14, 1], rtol=1e-5)
    assert rows[-1]["time"] == ["1020", "1021"]  # b: 20 rows, its last window's targets


@pytest.mark.parametrize("times, want", [
    # month ends: calendar months, not a fixed number of days
    ([f"2023-{m:02d}-{d}" for m, d in zip(range(1, 13), (31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
                                                          30, 31))] + ["2024-01-31", "2024-02-29"],
     ["2024-03-31", "2024-04-30"]),
    # daily with one missing day: the most common step, not the last one
    ([f"2024-03-{d:02d}" for d in range(1, 16) if d != 14], ["2024-03-16", "2024-03-17"]),
    # hourly timestamps
    ([f"2024-03-01 {h:02d}:00:00" for h in range(14)], ["2024-03-01 14:00:00",
                                                        "2024-03-01 15:00:00"]),
    # text times: nothing to go by
    ([f"t{k:02d}" for k in range(14)], [None, None]),
])
def test_raw_series_times_past_the_end(series_run, tmp_path, capsys, times, want):
    """The forecast's steps past the data get the times that follow the series' own spacing."""
    src = tmp_path / "recent.csv"
    src.write_text("t,entity,temp,load\n" + "".join(f"{t},a,{15 + k % 10},{100 + k % 7}\n"
                                                    for k, t in enumerate(times)))
    out = tmp_path / "p"
    code, _, err = run_cli(capsys, "predict", "--model", series_run[1], "--input", str(src),
                           "--out", str(out))
    assert code == 0, err
    rows = read_out(out)[1].to_pylist()
    assert rows[-1]["time"] == want and rows[-2]["time"] == [times[-1], want[0]]


def test_raw_classify_labelled_files(classify_run, tmp_path, capsys):
    ds, run = classify_run
    tm = rs.load_model(run)
    a = tmp_path / "a.csv"
    a.write_text('sequence,label\n"1 2 3 4",0\n"10 11 12",2\n"5,6,7,8,9",1\n')
    b = tmp_path / "b.jsonl"  # no labels at all
    b.write_text('{"sequence": [3, 3, 3]}\n{"sequence": [14, 13]}\n')
    out = tmp_path / "p"
    code, stdout, err = run_cli(capsys, "predict", "--model", run, "--input", str(a), "--input", str(b),
                                "--out", str(out))
    assert code == 0, err
    doc, t = read_out(out)
    assert t["label"].to_pylist() == [0, 2, 1, -1, -1]
    seqs = [[1, 2, 3, 4], [10, 11, 12], [5, 6, 7, 8, 9], [3, 3, 3], [14, 13]]
    for seq, probs, pred in zip(seqs, t["probs"].to_pylist(), t["pred"].to_pylist()):
        z = tm.engine().forward(np.array([seq]), np.ones((1, len(seq)), np.float32))[0][0]
        p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        np.testing.assert_allclose(probs, p, rtol=1e-4, atol=1e-6)
        assert pred == int(np.argmax(p))
    assert [(r["src_file"], r["src_row"]) for r in t.select(["src_file", "src_row"]).to_pylist()] \
        == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]


def nothing_written(tmp_path, *keep):
    return sorted(p for p in os.listdir(tmp_path) if p not in keep) == []


def test_raw_bad_inputs(classify_run, series_run, lm_run, tmp_path, capsys):
    cls, ser = classify_run[1], series_run[1]
    bad_id = tmp_path / "ids.csv"
    bad_id.write_text('sequence,label\n"1 2 99",0\n')
    o = str(tmp_path / "o")
    code, _, err = run_cli(capsys, "predict", "--model", cls, "--input", str(bad_id), "--out", o)
    assert code == 2 and "line 2" in err and "[0, 15)" in err and len(err.splitlines()) == 1
    no_col = tmp_path / "nocol.csv"
    no_col.write_text("t,entity,load\n" + "".join(f"{k},a,{k}\n" for k in range(30)))
    code, _, err = run_cli(capsys, "predict", "--model", ser, "--input", str(no_col), "--out", o)
    assert code == 2 and "no column 'temp'" in err and len(err.splitlines()) == 1
    short = tmp_path / "short.csv"
    short.write_text("t,entity,load,temp\n" + "".join(f"{k},a,{k},1\n" for k in range(5)))
    code, _, err = run_cli(capsys, "predict", "--model", ser, "--input", str(short), "--out", o)
    assert code == 2 and "no series has the 12 rows" in err
    code, _, err = run_cli(capsys, "predict", "--model", lm_run[1], "--input", str(short),
                           "--out", o, "--format", "csv")
    assert code == 2 and "drop --format" in err
    code, _, err = run_cli(capsys, "predict", "--model", cls, "--data", classify_run[0],
                           "--out", o, "--seq-len", "5")
    assert code == 2 and "go with --input" in err
    code, _, err = run_cli(capsys, "predict", "--model", cls, "--input", str(bad_id), "--out", o,
                           "--format", "xml")
    assert code == 2 and "xml" in err
    assert nothing_written(tmp_path, "ids.csv", "nocol.csv", "short.csv")


def test_raw_forecast_needs_the_training_options(series_run, tmp_path, monkeypatch):
    tm = rs.load_model(series_run[1])
    monkeypatch.setattr(tm, "dataset", str(tmp_path / "gone"))
    src = tmp_path / "s.csv"
    src.write_text("t,entity,load,temp\n1,a,1,1\n")
    with pytest.raises(UserError, match="not readable to take its ingest options"):
        predict_raw(tm, [str(src)], str(tmp_path / "o"))
    assert sorted(os.listdir(tmp_path)) == ["s.csv"]


def test_forecast_keys_need_the_unchanged_source(series_run, tmp_path, capsys):
    import shutil

    from rnn_spark import ingest
    src = tmp_path / "s.csv"  # the model's own data (its statistics), ingested as it was
    shutil.copy(os.path.join(os.path.dirname(series_run[0]), "load.csv"), src)
    ds = str(tmp_path / "ds")
    ingest.ingest_series([str(src)], ds, window=WINDOW, horizon=HORIZON, columns=["load", "temp"],
                         target_columns=["load"], time_column="t", group_column="entity",
                         val_fraction=0.2, quiet=True)
    o = str(tmp_path / "o")
    src.write_text(src.read_text() + "a,400,1,1\n")
    code, _, err = run_cli(capsys, "predict", "--model", series_run[1], "--data", ds, "--out", o)
    assert code == 2 and "has changed since the ingest" in err and len(err.splitlines()) == 1
    src.unlink()
    code, _, err = run_cli(capsys, "predict", "--model", series_run[1], "--data", ds, "--out", o)
    assert code == 2 and "is not readable" in err and "make it reachable" in err
    assert sorted(os.listdir(tmp_path)) == ["ds"]


def test_raw_labelled_regression(tmp_path, capsys):
    from rnn_spark import config, ingest
    from rnn_spark.training.loop import train
    rng = np.random.default_rng(2)
    rows = []
    for _ in range(120):
        x = rng.normal(5, 2, (int(rng.integers(3, 9)), 2))
        rows.append(json.dumps({"sequence": x.round(3).tolist(), "label": [float(x.sum())]}))
    (tmp_path / "train.jsonl").write_text("\n".join(rows) + "\n")
    ds, run = str(tmp_path / "ds"), str(tmp_path / "run")
    ingest.ingest_labelled([str(tmp_path / "train.jsonl")], ds, task="regress", quiet=True)
    train(config.load([], {"data.path": ds, "train.run_dir": run, "model.hidden_sizes": [8],
                           "train.k1": 8, "train.batch_size": 8, "train.steps_per_round": 2,
                           "train.workers": 1, "train.max_rounds": 2, "train.runner": "inline"}),
          quiet=True)
    tm = rs.load_model(run)
    src = tmp_path / "new.csv"
    src.write_text('sequence,label\n"1 2; 3 4; 5 6",21\n"7 8; 9 10",\n')
    out = tmp_path / "p"
    code, _, err = run_cli(capsys, "predict", "--model", run, "--input", str(src), "--out", str(out))
    assert code == 0, err
    _, t = read_out(out)
    f, y = tm.stats["features"], tm.stats["targets"]
    for seq, pred in zip(([[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10]]), t["pred"].to_pylist()):
        x = ((np.array(seq) - f["mean"]) / np.array(f["std"])).astype(np.float32)[None]
        z = tm.engine().forward(x, np.ones((1, len(seq)), np.float32))[0][0].astype(np.float64)
        np.testing.assert_allclose(pred, z * y["std"][0] + y["mean"][0], rtol=1e-4, atol=1e-4)
    assert t["target"][0].as_py() == [21.0] and np.isnan(t["target"][1].as_py()).all()
    bad = tmp_path / "bad.csv"
    bad.write_text('sequence,label\n"1 2 3; 4 5 6",1\n')
    code, _, err = run_cli(capsys, "predict", "--model", run, "--input", str(bad),
                           "--out", str(tmp_path / "o"))
    assert code == 2 and "line 2" in err and "reads 2" in err and not (tmp_path / "o").exists()
