"""`ingest table` on Spark (local[2]): the local engine's bytes, whatever the partitioning and
whichever way the rows are named (a path, a catalog table, a query, a DataFrame)."""

import json

import pyarrow as pa
import pytest

from rnn_spark.errors import DataError
from rnn_spark.ingest.table import ingest_table
from shard_snapshot import snapshot
from table_data import events, sequences, write_parquet

pytestmark = pytest.mark.spark

CASES = {
    "mixed windows": dict(group_by=["user"], order_by="ts", categorical=["event", "tier"],
                          numeric=["amount"], label="churn", max_len=6, stride=3,
                          rows_per_group=16, shard_bytes=3000),
    "lm by time": dict(group_by=["user"], order_by="ts", categorical=["event"], next="event",
                       session_gap="20000", split_by="time", rows_per_group=8),
    "horizon": dict(group_by=["user", "tier"], order_by="ts", numeric=["amount"], horizon=2,
                    max_len=4, val_fraction=0.25),
}


def _shards(root):
    snap = snapshot(root)
    man = json.loads(snap.pop("manifest.json"))
    man.pop("sources")
    return snap, man


@pytest.mark.parametrize("case", sorted(CASES))
def test_spark_writes_the_local_engines_bytes(spark, tmp_path, case):
    src = write_parquet(events(60), tmp_path / "e", parts=3)
    kw = dict(CASES[case], path=src, format="parquet")
    ingest_table(str(tmp_path / "local"), engine="local", **kw)
    ingest_table(str(tmp_path / "spark"), engine="spark", master="local[2]", **kw)
    a, b = snapshot(tmp_path / "local"), snapshot(tmp_path / "spark")
    assert len(a) > 2 and a == b


def test_table_query_and_dataframe_sources_agree(spark, tmp_path):
    tab = events(50)
    kw = dict(group_by=["user"], order_by="ts", categorical=["event"], numeric=["amount"],
              label="churn", max_len=5, val_fraction=0.2)
    src = write_parquet(tab, tmp_path / "e.parquet")
    ingest_table(str(tmp_path / "ref"), path=src, engine="local", **kw)
    df = spark.read.parquet("file://" + str(src))
    df.write.option("path", "file://" + str(tmp_path / "tbl")).saveAsTable("rnn_events_t")
    try:
        ingest_table(str(tmp_path / "t"), table="rnn_events_t", **kw)
        ingest_table(str(tmp_path / "q"), sql="SELECT * FROM rnn_events_t WHERE ts >= 0", **kw)
        ingest_table(str(tmp_path / "d"), dataframe=df.repartition(7), **kw)
        with pytest.raises(DataError, match="lies inside the input"):  # the table's location
            ingest_table(str(tmp_path / "tbl" / "out"), table="rnn_events_t", **kw)
    finally:
        spark.sql("DROP TABLE rnn_events_t")
    ref = _shards(tmp_path / "ref")
    for name in ("t", "q", "d"):
        assert _shards(tmp_path / name) == ref, name
    assert json.loads((tmp_path / "t" / "manifest.json").read_text())["sources"] == \
        [{"table": "rnn_events_t"}]


def test_sequence_rows_from_a_dataframe(spark, tmp_path):
    t = sequences(70, kind="vectors")
    src = tmp_path / "s.parquet"
    import pyarrow.parquet as pq
    pq.write_table(t, src)
    kw = dict(sequence="features", label="label", val_fraction=0.2)
    ingest_table(str(tmp_path / "ref"), path=str(src), engine="local", **kw)
    ingest_table(str(tmp_path / "d"), dataframe=spark.read.parquet("file://" + str(src)).repartition(3), **kw)
    assert _shards(tmp_path / "d") == _shards(tmp_path / "ref")


def test_bad_rows_on_spark_are_the_same_line(spark, tmp_path):
    e = events(20)
    users = e["user"].to_pylist()
    users[7] = None
    bad = e.set_column(0, "user", pa.array(users))
    src = write_parquet(bad, tmp_path / "e", parts=2)
    kw = dict(path=src, format="parquet", group_by=["user"], order_by="ts",
              categorical=["event"], label="churn")
    msgs = []
    for engine in ("local", "spark"):
        with pytest.raises(DataError) as ei:
            ingest_table(str(tmp_path / "o"), engine=engine, **kw)
        msgs.append(str(ei.value))
    assert msgs[0] == msgs[1] and "column 'user' (--group-by) is missing (null) in 1 row" in \
        msgs[0]
    with pytest.raises(DataError, match=r"^table no_such_table: Spark cannot read it \("):
        ingest_table(str(tmp_path / "o"), table="no_such_table", group_by=["user"],
                     order_by="ts", categorical=["event"], label="churn")
    assert not (tmp_path / "o").exists()
