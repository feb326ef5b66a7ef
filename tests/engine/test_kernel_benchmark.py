"""Smoke tests of benchmarks/kernel.py and step_parts.py (tiny sizes): they run and print the
JSON they promise. No timing is asserted."""

import json

import pytest
from bench_loader import load_benchmark as _benchmark


def test_kernel_benchmark_prints_json(capsys):
    pytest.importorskip("threadpoolctl")
    mod = _benchmark("kernel")
    args = ["--cells", "lstm,gru", "--hidden", "8", "--window", "5", "--batch", "2", "--repeats", "1",
            "--min-seconds", "0.001"]
    try:
        import torch  # noqa: F401
    except ImportError:
        args.append("--no-torch")
    assert mod.main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["benchmark"] == "kernel" and out["threads"] == 1
    assert [r["cell"] for r in out["results"]] == ["lstm", "gru"]
    assert all(r["ours_tok_s"] > 0 for r in out["results"])


def test_kernel_benchmark_dropout_side(capsys, tmp_path):
    pytest.importorskip("threadpoolctl")
    mod = _benchmark("kernel")
    out = tmp_path / "k.json"
    args = ["--cells", "rnn_tanh", "--hidden", "8", "--window", "5", "--batch", "2", "--repeats",
            "1", "--min-seconds", "0.001", "--no-torch", "--dropout", "0.25", "--clock", "cpu",
            "--out", str(out)]
    assert mod.main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["dropout"] == 0.25 and printed["clock"] == "cpu"
    (row,) = printed["results"]
    assert row["ours_dropout_tok_s"] > 0 and "dropout_overhead" in row
    assert printed["max_dropout_overhead"] == row["dropout_overhead"]


def test_step_parts_benchmark_prints_json(capsys):
    pytest.importorskip("threadpoolctl")
    mod = _benchmark("step_parts")
    args = ["--hidden", "8", "--embedding", "4", "--window", "5", "--batch", "2", "--vocab", "7",
            "--steps", "1", "--repeats", "1"]
    assert mod.main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["benchmark"] == "step_parts" and out["threads"] == 1
    assert len(out["parts"]) == 5 and all(p["ms"] >= 0 for p in out["parts"])
    assert sum("gflop_s" in p for p in out["parts"]) == 3
