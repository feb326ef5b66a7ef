"""Smoke test of benchmarks/table_ingest.py (tiny sizes): it runs both jobs and prints the JSON it
promises, the same as it writes with --out. No timing is asserted."""

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_loader import load_benchmark  # noqa: E402

pytestmark = pytest.mark.spark


def test_table_ingest_benchmark_prints_its_json(tmp_path, capsys):
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # its conf would be reused
        SparkContext._active_spark_context.stop()
    out = tmp_path / "table_ingest.json"
    assert load_benchmark("table_ingest").main(
        ["--rows", "3000", "--repeat", "1", "--warm-rows", "500", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    (res,) = printed["results"]
    assert res["rows"] == 3000 and res["ingest_s"] > 0 and res["baseline_s"] > 0
    seqs = res["sequences"]
    assert seqs["train"]["tokens"] + seqs["val"]["tokens"] == 3000
    mem = res["memory"]
    assert mem["driver_python_peak_MB"] >= mem["driver_python_before_MB"] > 0
    assert mem["jvm_peak_MB"] > 0 and mem["python_worker_peak_MB"] > 0
    assert printed["commit"] and printed["date"]
