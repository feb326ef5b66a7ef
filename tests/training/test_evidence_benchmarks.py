"""Smoke tests of benchmarks/dropout_overfit.py and benchmarks/bidirectional.py (tiny sizes): they
run end to end through ingest and training and print (and write) the JSON they promise. No
result is asserted: the numbers are the benchmarks' business (benchmarks/results/)."""

import json

from bench_loader import load_benchmark


def test_dropout_overfit_prints_json(tmp_path, capsys):
    mod = load_benchmark("dropout_overfit")
    out = tmp_path / "r.json"
    args = ["--chars", "3000", "--epochs", "1", "--hidden", "8", "--work", str(tmp_path / "w"),
            "--variants", "drop=dropout:0.2,recurrent_dropout:0.1", "--out", str(out)]
    assert mod.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert set(printed["results"]) == {"none", "drop"} and "drop" in printed["best_gain"]
    drop = printed["results"]["drop"]
    assert drop["keys"] == {"model.dropout": 0.2, "model.recurrent_dropout": 0.1}
    assert drop["val_curve"] and drop["best_val_loss"] > 0
    assert mod.main(args) == 0  # a rerun in the same --work replaces its own runs


def test_bidirectional_prints_json(tmp_path, capsys):
    mod = load_benchmark("bidirectional")
    out = tmp_path / "r.json"
    assert mod.main(["--rows", "200", "--min-len", "3", "--max-len", "6", "--epochs", "1",
                     "--uni-hidden", "6", "--bi-hidden", "4", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    res = printed["results"]
    assert res["bidirectional"]["bidirectional"] and not res["unidirectional"]["bidirectional"]
    assert all(0 <= r["best_val_accuracy"] <= 1 and r["parameters"] > 0 for r in res.values())
