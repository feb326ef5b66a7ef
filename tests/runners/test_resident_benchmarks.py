"""Smoke tests of benchmarks/rounds.py --secure and benchmarks/channel.py (tiny sizes): they run
on the channel they say and print the JSON they promise. No timing is asserted."""

import json

import pytest
from bench_loader import load_benchmark as _benchmark

pytest.importorskip("cryptography", reason="the resident channel's TLS needs rnn-spark[tls]")


@pytest.mark.spark
def test_rounds_benchmark_runs_on_the_tls_channel_with_secure(tmp_path, capsys):
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # its conf would be reused
        SparkContext._active_spark_context.stop()
    out = tmp_path / "rounds.json"
    assert _benchmark("rounds").main(["--hidden", "8", "--steps", "1", "--rounds", "1",
                                      "--secure", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert printed["secure"] and [r["channel"] for r in printed["results"]] == ["tls"]


def test_channel_benchmark_times_plain_and_tls(tmp_path, capsys):
    out = tmp_path / "channel.json"
    assert _benchmark("channel").main(["--shared-mb", "0.1", "--result-mb", "0.1", "--rounds", "2",
                                       "--repeat", "1", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert all(printed[f"{k}_ms"] > 0 for k in ("plain", "tls"))
