"""`ingest table` on Spark keeps the rows on the executors: what reaches the driver (every
collect, take, toLocalIterator, toPandas, ... of a DataFrame or an RDD, watched as it returns)
is summaries, vocabularies and the shards' manifest entries, whose size does not grow with the
table. benchmarks/table_ingest.py measures the driver's memory on bigger tables."""

import pickle
import sys
from pathlib import Path

import pytest

from rnn_spark.ingest.table import ingest_table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_loader import load_benchmark  # noqa: E402

pytestmark = pytest.mark.spark

ACTIONS = {"DataFrame": ("collect", "take", "head", "tail", "toLocalIterator", "toPandas",
                         "toArrow"),
           "RDD": ("collect", "take", "toLocalIterator", "collectAsMap")}


@pytest.fixture()
def received(spark, monkeypatch):
    """Bytes (pickled) of every result a DataFrame or RDD action hands the driver's Python.
    Watched on the classes the session really makes (pyspark 4's DataFrame is an abstract base
    of the classic one, whose methods are what run)."""
    got: list[int] = []
    classes = {"DataFrame": type(spark.range(1)), "RDD": type(spark.sparkContext.parallelize([]))}
    for kind, names in ACTIONS.items():
        cls = classes[kind]
        for name in names:
            real = getattr(cls, name, None)
            if real is None:
                continue

            def spy(self, *a, _real=real, **kw):
                out = _real(self, *a, **kw)
                if hasattr(out, "__next__"):  # an iterator: listed, counted, handed on
                    out = list(out)
                    got.append(len(pickle.dumps(out)))
                    return iter(out)
                got.append(len(pickle.dumps(out)))
                return out

            monkeypatch.setattr(cls, name, spy)
    return got


def test_the_driver_receives_as_much_for_a_table_four_times_larger(spark, tmp_path, received):
    bench = load_benchmark("table_ingest")
    sizes = {}
    for rows in (5_000, 20_000):
        src = tmp_path / f"events-{rows}"
        table_bytes = bench.make_table(str(src), rows, per_file=rows // 2)  # 2 files each
        received.clear()
        m = ingest_table(str(tmp_path / f"out-{rows}"), path=str(src), format="parquet",
                         engine="spark", group_by=["user"], order_by="ts", categorical=["event"],
                         numeric=["amount"], label="churn")
        assert m.counts("train")["tokens"] + m.counts("val")["tokens"] == rows
        assert received, "no action watched: the spy missed the ingest's collects"
        sizes[rows] = (sum(received), table_bytes)
    (small, small_table), (big, big_table) = sizes[5_000], sizes[20_000]
    assert big_table > 3.5 * small_table
    assert big < 1.25 * small + 2048, sizes      # not 4x: no row came to the driver
    assert big < big_table / 20, sizes
    received.clear()  # the control: a collect of the rows is seen, and counted in full
    spark.read.parquet("file://" + str(tmp_path / "events-20000")).collect()
    assert sum(received) > big_table / 2
