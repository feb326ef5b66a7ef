"""predict_udf: a DataFrame column of sequences scored on Spark gives predict's numbers."""

import numpy as np
import pyarrow.parquet as pq
import pytest

import rnn_spark as rs
from rnn_spark.errors import DataError
from rnn_spark.serve.predict import predict
from rnn_spark.serve.udf import BatchScorer


def shard_rows(ds, split="val"):
    from rnn_spark.data import read_manifest
    m = read_manifest(ds)
    units = m.work_units(split)
    return pq.read_table(units[0].shard), m


def all_parts(out):
    import pyarrow as pa
    return pa.concat_tables([pq.read_table(p) for p in sorted(out.glob("part-*.parquet"))])


def keys(t):
    return list(zip(t["src_file"].to_pylist(), t["src_row"].to_pylist()))


def test_scorer_matches_predict_classify(classify_run, tmp_path):
    ds, run = classify_run
    tm = rs.load_model(run)
    predict(tm, ds, str(tmp_path / "p"), split="val")
    got = all_parts(tmp_path / "p")
    rows, _ = shard_rows(ds)
    res = BatchScorer(tm)(rows["x"].to_pylist())
    want = {r: p for r, p in zip(keys(got), got["probs"].to_pylist())}
    for r, out in zip(keys(rows), res):
        np.testing.assert_allclose(out["probs"], want[r], atol=1e-6)


def test_scorer_matches_predict_lm(lm_run, tmp_path):
    ds, run = lm_run
    tm = rs.load_model(run)
    predict(tm, ds, str(tmp_path / "p"), split="val", top_k=3)
    got = all_parts(tmp_path / "p")
    rows, _ = shard_rows(ds)
    res = BatchScorer(tm, top_k=3)(rows["x"].to_pylist())
    want = {r: (i, l) for r, i, l in zip(keys(got), got["next_ids"].to_pylist(),
                                         got["loss"].to_pylist())}
    for r, out in zip(keys(rows), res):
        assert out["next_ids"].tolist() == want[r][0]
        assert out["loss"] == pytest.approx(want[r][1], rel=1e-5)


def test_scorer_regress_takes_original_units(series_run):
    ds, run = series_run
    tm = rs.load_model(run)
    rows, m = shard_rows(ds)
    st = m.stats["features"]
    D = m.input_size
    x_norm = [np.asarray(v, np.float64).reshape(-1, D) for v in rows["x"].to_pylist()[:5]]
    x_orig = [v * st["std"] + st["mean"] for v in x_norm]
    a = BatchScorer(tm)([v.tolist() for v in x_orig])          # per-step lists
    b = BatchScorer(tm)([v.reshape(-1) for v in x_orig])       # flat step-major
    out, _ = tm.engine().forward(np.stack(x_norm).astype(np.float32))
    t = m.stats["targets"]
    want = out.astype(np.float64) * t["std"][0] + t["mean"][0]
    for i in range(5):
        np.testing.assert_allclose(a[i]["pred"], want[i], rtol=1e-4)
        np.testing.assert_array_equal(a[i]["pred"], b[i]["pred"])


def test_scorer_bad_sequences(lm_run, series_run):
    with pytest.raises(DataError, match="token ids"):
        BatchScorer(rs.load_model(lm_run[1]))([[1, 2, 10 ** 6]])
    with pytest.raises(DataError, match="features per step"):
        BatchScorer(rs.load_model(series_run[1]))([[[1.0, 2.0, 3.0]]])


@pytest.mark.spark
def test_predict_udf_on_a_dataframe(classify_run, lm_run):
    pytest.importorskip("pandas")
    from rnn_spark.ingest.spark import session
    from rnn_spark.spark import predict_udf
    spark, created = session("local[2]")
    try:
        for ds, run, field in ((classify_run[0], classify_run[1], "probs"),
                               (lm_run[0], lm_run[1], "next_ids")):
            rows, _ = shard_rows(ds)
            seqs = rows["x"].to_pylist()
            df = spark.createDataFrame([(i, s) for i, s in enumerate(seqs)], "id long, sequence array<int>")
            got = df.withColumn("pred", predict_udf(run, batch_size=7)("sequence")) \
                .orderBy("id").select(f"pred.{field}").collect()
            want = BatchScorer(rs.load_model(run))(seqs)
            for g, w in zip(got, want):
                np.testing.assert_allclose(np.asarray(g[0], np.float64), w[field], atol=1e-6)
    finally:
        if created:
            spark.stop()
