"""evaluate and predict as Spark jobs (local[2]) give exactly the inline runner's numbers and bytes."""

import os

import pytest

import rnn_spark as rs
from rnn_spark.serve.evaluate import evaluate
from rnn_spark.serve.predict import predict
from rnn_spark.serve.raw import predict_raw

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark_runner():
    from rnn_spark.runners.spark import SparkRunner
    r = SparkRunner("local[2]", "rnn-spark-model-tests", 1, {})
    yield r
    r.close()


def files_bytes(out):
    return {p: (out / p).read_bytes() for p in sorted(os.listdir(out))}


def test_evaluate_spark_equals_inline(lm_run, classify_run, series_run, spark_runner):
    for ds, run in (lm_run, classify_run, series_run):
        tm = rs.load_model(run)
        assert evaluate(tm, ds, runner=spark_runner) == evaluate(tm, ds)


def test_predict_spark_bytes_equal_inline(lm_run, classify_run, series_run, tmp_path, spark_runner,
                                          monkeypatch):
    monkeypatch.setattr("rnn_spark.serve.ordered.PART_ROWS", 200)  # forecasts: several parts
    for name, (ds, run) in (("lm", lm_run), ("cls", classify_run), ("ser", series_run)):
        tm = rs.load_model(run)
        predict(tm, ds, str(tmp_path / f"{name}-inline"))
        predict(tm, ds, str(tmp_path / f"{name}-spark"), runner=spark_runner)
        assert files_bytes(tmp_path / f"{name}-inline") == files_bytes(tmp_path / f"{name}-spark")


def test_raw_predict_spark_bytes_equal_inline(lm_run, tmp_path, spark_runner):
    srcs = []
    for i in range(3):
        p = tmp_path / f"in{i}.txt"
        p.write_text(f"def f{i}(x):\n    return json.dumps(x)\n" * (20 + i))
        srcs.append(str(p))
    tm = rs.load_model(lm_run[1])
    a = predict_raw(tm, srcs, str(tmp_path / "a"))
    b = predict_raw(tm, srcs, str(tmp_path / "b"), runner=spark_runner)
    assert a.rows == b.rows and a.files == 3
    assert files_bytes(tmp_path / "a") == files_bytes(tmp_path / "b")


def test_raw_classify_and_forecast_spark_bytes_equal_inline(classify_run, series_run, tmp_path,
                                                            spark_runner):
    cls = tmp_path / "cls.jsonl"
    cls.write_text("".join(f'{{"sequence": [{i % 15}, {(i * 7) % 15}, 3]}}\n' for i in range(50)))
    ser = tmp_path / "ser.csv"
    ser.write_text("entity,t,load,temp\n" + "".join(
        f"{g},{k},{100 + k % 9},{k % 4}\n" for g in "xy" for k in range(40)))
    for name, run, src in (("cls", classify_run[1], cls), ("ser", series_run[1], ser)):
        tm = rs.load_model(run)
        a = predict_raw(tm, [str(src)], str(tmp_path / f"{name}-inline"))
        b = predict_raw(tm, [str(src)], str(tmp_path / f"{name}-spark"), runner=spark_runner)
        assert a.rows == b.rows > 0
        assert files_bytes(tmp_path / f"{name}-inline") == files_bytes(tmp_path / f"{name}-spark")


def test_spark_reads_the_predictions_directory(classify_run, series_run, tmp_path, spark_runner):
    """spark.read.parquet(--out) reads the parts as one table (the side file is skipped)."""
    import pyarrow.parquet as pq
    for name, (ds, run) in (("cls", classify_run), ("ser", series_run)):
        out = tmp_path / name
        predict(rs.load_model(run), ds, str(out))
        want = pq.read_table(out)
        df = spark_runner.spark.read.parquet(out.as_uri())
        assert df.columns == want.schema.names and df.count() == want.num_rows
        got = sorted(tuple(r) for r in df.select("split", "src_file", "src_row").collect())
        assert got == sorted(zip(*(want[c].to_pylist() for c in ("split", "src_file", "src_row"))))
