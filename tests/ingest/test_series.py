"""Series ingest: windows and targets, train-only statistics, splits, bad CSV/Parquet."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rnn_spark.data import iter_minibatches
from rnn_spark.ingest import ingest_series
from rnn_spark.errors import DataError


def _series(path):
    """{entity: (t, a, b) sorted by t} from the fixture CSV."""
    import csv
    out = {}
    for r in csv.DictReader(open(path)):
        out.setdefault(r["ent"], []).append((int(r["t"]), float(r["a"]), float(r["b"])))
    return {e: np.array(sorted(v)) for e, v in out.items()}


def _rows(m, split):
    import os
    rows = []
    for sh in m.shards(split):
        t = pq.read_table(os.path.join(m.root, sh["path"]))
        rows += list(zip(t["src_row"].to_pylist(), t["x"].to_pylist(), t["y"].to_pylist()))
    return sorted(rows)


def test_windows_targets_and_train_only_stats(series_csv, tmp_path):
    m = ingest_series([str(series_csv)], str(tmp_path / "o"), window=5, horizon=2,
                      time_column="t", group_column="ent", target_columns=["a"],
                      val_fraction=0.25)
    assert m.model_fields() == {"vocab_size": None, "input_size": 2, "output_size": 2,
                                "task": "regress", "head_at": "last"}
    ser = _series(series_csv)
    train = np.concatenate([v[:45, 1:] for v in ser.values()])  # cut = floor(60 * 0.75)
    st = m.stats["features"]
    np.testing.assert_allclose(st["mean"], train.mean(0), rtol=1e-12)
    np.testing.assert_allclose(st["std"], train.std(0), rtol=1e-12)
    assert st["columns"] == ["a", "b"] and m.stats["targets"]["columns"] == ["a"]
    # windows per entity: starts 0..53; train if s+7 <= 45 (39), val if s+5 >= 45 (14)
    assert m.counts("train")["sequences"] == 2 * 39 and m.counts("val")["sequences"] == 2 * 14
    mean, std = np.array(st["mean"]), np.array(st["std"])
    x_rows = _rows(m, "train")
    w, x, y = x_rows[0]  # window 0 of entity x
    want = (ser["x"][0:5, 1:] - mean) / std
    np.testing.assert_allclose(np.array(x).reshape(5, 2), want, rtol=1e-5)
    ta = (ser["x"][5:7, 1] - m.stats["targets"]["mean"][0]) / m.stats["targets"]["std"][0]
    np.testing.assert_allclose(y, ta, rtol=1e-5)


def test_no_normalize_and_parquet_same_as_csv(series_csv, tmp_path):
    import pyarrow.csv as pacsv
    pq.write_table(pacsv.read_csv(str(series_csv)), tmp_path / "s.parquet")
    kw = dict(window=4, time_column="t", group_column="ent", normalize=False, val_fraction=0.2)
    a = ingest_series([str(series_csv)], str(tmp_path / "a"), **kw)
    b = ingest_series([str(tmp_path / "s.parquet")], str(tmp_path / "b"), **kw)
    assert _rows(a, "train") == _rows(b, "train")
    w, x, y = _rows(a, "train")[0]
    assert x[:2] == pytest.approx([_series(series_csv)["x"][0, 1], 0.0])


def test_split_by_group(series_csv, tmp_path):
    for seed in range(20):
        try:
            m = ingest_series([str(series_csv)], str(tmp_path / f"o{seed}"), window=4,
                              time_column="t", group_column="ent", split_by="group",
                              val_fraction=0.5, seed=seed)
        except DataError:
            continue
        if "val" in m.splits:
            assert m.counts("train")["sequences"] == m.counts("val")["sequences"] == 56
            return
    pytest.fail("no seed split the two entities")


def test_every_head(series_csv, tmp_path):
    m = ingest_series([str(series_csv)], str(tmp_path / "o"), window=4, horizon=1,
                      time_column="t", group_column="ent", columns=["a"], head_at="every")
    b = next(iter_minibatches(m.work_units("train"), 3, manifest=m, seed=0))
    assert b.inputs.shape == (3, 4, 1) and b.targets.shape == (3, 4, 1)
    # target at step t is the input at step t+1
    np.testing.assert_allclose(b.targets[:, :-1, 0], b.inputs[:, 1:, 0], rtol=1e-6)


@pytest.mark.parametrize("cell,msg", [
    ("", "line 4: field 'a' is missing"),
    ("abc", "line 4: field 'a' = 'abc' is not a number"),
    ("inf", r"line 4: field 'a' is inf \(NaN/Inf\)"),
])
def test_bad_csv_values(tmp_path, cell, msg):
    p = tmp_path / "s.csv"
    rows = [f"{t},{t * 0.1}" for t in range(10)]
    rows[2] = f"2,{cell}"
    p.write_text("t,a\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=msg):
        ingest_series([str(p)], str(tmp_path / "o"), window=3, time_column="t")
    assert not (tmp_path / "o").exists()


def test_missing_column_short_series_and_ragged_csv(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("t,a\n" + "".join(f"{t},{t}\n" for t in range(5)))
    with pytest.raises(DataError, match="no column 'zz'"):
        ingest_series([str(p)], str(tmp_path / "o"), window=3, columns=["zz"])
    with pytest.raises(DataError, match="no window fits: the longest series has 5 rows"):
        ingest_series([str(p)], str(tmp_path / "o"), window=5, time_column="t")
    q = tmp_path / "r.csv"
    q.write_text("t,a\n1,2\n3\n")
    with pytest.raises(DataError, match=r"r\.csv: cannot parse CSV"):
        ingest_series([str(q)], str(tmp_path / "o"), window=2)
    e = tmp_path / "e.csv"
    e.write_text("t,a\n")
    with pytest.raises(DataError, match="no rows"):
        ingest_series([str(e)], str(tmp_path / "o"), window=2)


def test_corrupt_parquet(tmp_path):
    p = tmp_path / "s.parquet"
    pq.write_table(pa.table({"a": np.arange(100.0)}), p)
    p.write_bytes(p.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"s\.parquet: not a readable Parquet file"):
        ingest_series([str(p)], str(tmp_path / "o"), window=3)


@pytest.mark.parametrize("stamp", ["1958-03-29", "1958/03/29", "1958-03-29 10:00:00",
                                   "29.03.1958", "10:30"])
def test_a_date_column_without_time_column_suggests_it(tmp_path, capsys, stamp):
    """#21: forgetting --time-column said "'1958-03-29' is not a number"."""
    from rnn_spark.cli import main
    p = tmp_path / "co2.csv"
    p.write_text("date,co2\n" + "".join(f"{stamp},{316 + k * 0.1}\n" for k in range(20)))
    code = main(["ingest", "series", str(p), "--out", str(tmp_path / "o"), "--window", "4", "-q"])
    shown = {"10:30": "10:30:00"}.get(stamp, stamp)  # as the CSV reader parsed it
    assert code == 2 and capsys.readouterr().err == (
        f"error: {p}: line 2: field 'date' holds dates/times ({shown!r}), not numbers; pass "
        "--time-column date to order each series by it, or --columns to choose the features\n")
    assert not (tmp_path / "o").exists()


def test_a_second_date_column_suggests_columns(tmp_path):
    p = tmp_path / "s.parquet"
    ts = pa.array(np.arange(20) * 86400, pa.timestamp("s"))
    pq.write_table(pa.table({"t": np.arange(20), "seen": ts, "a": np.arange(20.0)}), p)
    with pytest.raises(DataError) as ei:
        ingest_series([str(p)], str(tmp_path / "o"), window=3, time_column="t")
    assert str(ei.value) == (f"{p}: row 1: field 'seen' holds dates/times "
                             "('1970-01-01 00:00:00'), not numbers; leave it out with --columns "
                             "(the time column is t)")
    m = ingest_series([str(p)], str(tmp_path / "o"), window=3, time_column="seen", columns=["a"])
    assert m.input_size == 1
