"""`ingest table` on the local engine: sequences, sessions, windows, targets, splits, the format."""

import json
import math
import os
from fractions import Fraction

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rnn_spark.data import read_manifest
from rnn_spark.data.steps import StepLayout, decode_mixed
from rnn_spark.errors import UserError
from rnn_spark.ingest.table import ingest_table

from shard_snapshot import snapshot
from table_data import events, sequences, write_parquet


def rows_of(out, split=None):
    """Every shard row of the dataset as dicts (both splits unless one is named)."""
    m = read_manifest(str(out))
    rows = []
    for s in ([split] if split else m.splits):
        for sh in m.shards(s):
            rows += [dict(r, split=s) for r in pq.read_table(os.path.join(out, sh["path"]))
                     .to_pylist()]
    return m, rows


@pytest.fixture()
def hand(tmp_path):
    """Two users: a's rows in two sessions (gap 10), b's seven rows in one."""
    t = pa.table({"user": ["a"] * 5 + ["b"] * 7,
                  "ts": [0, 1, 2, 100, 101, 5, 6, 7, 8, 9, 10, 11],
                  "event": ["x", "y", "x", "y", "y", "x", "x", "z", "x", "y", "x", "z"],
                  "lab": [0, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 1]})
    p = tmp_path / "hand.parquet"
    pq.write_table(t.take(pa.array([7, 0, 11, 3, 5, 1, 9, 2, 10, 4, 6, 8])), p)  # any order
    return str(p)


def test_sessions_windows_and_labels(hand, tmp_path):
    out = tmp_path / "d"
    m = ingest_table(str(out), path=hand, group_by=["user"], order_by="ts", session_gap="10",
                     max_len=3, stride=2, categorical=["event"], label="lab", val_fraction=0)
    assert (m.kind, m.task, m.head_at, m.vocab_size) == ("tokens", "classify", "last", 4)
    layout = m.steps
    assert layout.categorical[0].values == ("x", "y", "z")  # by count (x 6, y 4, z 2)
    ids = {v: i + 1 for i, v in enumerate(layout.categorical[0].values)}
    _, rows = rows_of(out)
    got = sorted((tuple(r["x"]), r["y"]) for r in rows)
    enc = lambda s: tuple(ids[c] for c in s)  # noqa: E731
    want = sorted([(enc("xyx"), 1), (enc("yy"), 0),                  # a: two sessions
                   (enc("xxz"), 0), (enc("zxy"), 1), (enc("yxz"), 1)])  # b: windows at 0, 2, 4
    assert got == want


@pytest.mark.parametrize("how,want", [("first", {0}), ("max", {1}), ("last", {0, 1})])
def test_label_from(hand, tmp_path, how, want):
    out = tmp_path / how
    ingest_table(str(out), path=hand, group_by=["user"], order_by="ts", categorical=["event"],
                 label="lab", label_from=how, val_fraction=0)
    _, rows = rows_of(out)
    assert {r["y"] for r in rows} == want
    first = {r["length"]: r["y"] for r in rows}
    if how == "first":
        assert first == {5: 0, 7: 0}
    if how == "last":
        assert first == {5: 0, 7: 1}


def test_label_constant_refuses_a_changing_label(hand, tmp_path):
    with pytest.raises(UserError, match=r"column 'lab' changes within the sequence of "
                                        r"user='[ab]' \(--label-from constant\)"):
        ingest_table(str(tmp_path / "c"), path=hand, group_by=["user"], order_by="ts",
                     categorical=["event"], label="lab", label_from="constant")
    assert not (tmp_path / "c").exists() and os.listdir(tmp_path) == ["hand.parquet"]


def test_next_categorical_is_a_language_model(hand, tmp_path):
    m = ingest_table(str(tmp_path / "lm"), path=hand, group_by=["user"], order_by="ts",
                     categorical=["event"], next="event", val_fraction=0)
    assert (m.kind, m.task, m.head_at, m.output_size) == ("tokens", "lm", "every", 4)
    _, rows = rows_of(tmp_path / "lm")
    assert sorted(r["length"] for r in rows) == [5, 7]  # a row holds steps + 1 ids


def test_next_numeric_and_horizon(tmp_path):
    t = pa.table({"g": ["a"] * 6, "t": list(range(6)), "v": [1.0, 2, 3, 4, 5, 6]})
    p = tmp_path / "s.parquet"
    pq.write_table(t, p)
    m = ingest_table(str(tmp_path / "n"), path=str(p), group_by=["g"], order_by="t",
                     numeric=["v"], next="v", val_fraction=0, normalize=False)
    assert (m.kind, m.task, m.head_at, m.output_size, m.input_size) == \
        ("features", "regress", "every", 1, 1)
    _, rows = rows_of(tmp_path / "n")
    assert rows[0]["x"] == [1, 2, 3, 4, 5] and rows[0]["y"] == [2, 3, 4, 5, 6]
    m = ingest_table(str(tmp_path / "h"), path=str(p), group_by=["g"], order_by="t",
                     numeric=["v"], horizon=2, max_len=3, stride=1, val_fraction=0,
                     normalize=False)
    assert (m.task, m.head_at, m.output_size) == ("regress", "last", 2)
    _, rows = rows_of(tmp_path / "h")
    assert sorted((r["x"], r["y"]) for r in rows) == [([1, 2, 3], [4, 5]), ([2, 3, 4], [5, 6])]


def test_statistics_are_the_training_rows(tmp_path):
    """mean/std of --numeric: the training groups' rows exactly (exact sums, rounded once)."""
    from types import SimpleNamespace

    from rnn_spark.ingest.table_block import group_val
    from rnn_spark.ingest.table_hash import row_words
    tab = events(80)
    p = write_parquet(tab, tmp_path / "e.parquet")
    m = ingest_table(str(tmp_path / "d"), path=p, group_by=["user"], order_by="ts",
                     numeric=["amount"], label="churn", val_fraction=0.3, seed=5)
    spec = SimpleNamespace(spec=SimpleNamespace(seed=5, val_fraction=0.3))
    val = group_val(row_words([tab["user"]]), spec)
    train = [Fraction(a) for a, v in zip(tab["amount"].to_pylist(), val) if not v]
    mean = sum(train) / len(train)
    var = sum((a - mean) ** 2 for a in train) / len(train)
    f = m.stats["features"]
    assert f["count"] == len(train) == m.counts("train")["tokens"]
    assert f["mean"] == [float(mean)] and f["std"] == [math.sqrt(float(var))]
    _, rows = rows_of(tmp_path / "d")
    assert sum(r["length"] for r in rows if r["split"] == "val") == int(val.sum()) > 0


def test_group_split_keeps_each_group_on_one_side(tmp_path):
    """Every window of a user goes where the user's hash says (no user on both sides)."""
    from collections import Counter
    from types import SimpleNamespace

    from rnn_spark.ingest.table_block import group_val
    from rnn_spark.ingest.table_hash import row_words
    tab = events(60)
    p = write_parquet(tab, tmp_path / "e.parquet")
    m = ingest_table(str(tmp_path / "d"), path=p, group_by=["user"], order_by="ts",
                     categorical=["event"], label="churn", max_len=4, val_fraction=0.3)
    users = sorted(set(tab["user"].to_pylist()))
    val = group_val(row_words([pa.array(users)]),
                    SimpleNamespace(spec=SimpleNamespace(seed=0, val_fraction=0.3)))
    n = Counter(tab["user"].to_pylist())
    want = {"train": [0, 0], "val": [0, 0]}
    for u, v in zip(users, val):
        k = 1 if n[u] <= 4 else 1 + (n[u] - 4) // 4
        side = want["val" if v else "train"]
        side[0], side[1] = side[0] + k, side[1] + (n[u] if n[u] <= 4 else 4 * k)
    assert {s: [m.counts(s)["sequences"], m.counts(s)["tokens"]] for s in m.splits} == want


def test_time_split_trains_before_the_cut(tmp_path):
    t = pa.table({"g": ["a"] * 10 + ["b"] * 10, "t": list(range(10)) * 2,
                  "v": [float(i) for i in range(20)]})
    p = tmp_path / "s.parquet"
    pq.write_table(t, p)
    m = ingest_table(str(tmp_path / "d"), path=str(p), group_by=["g"], order_by="t",
                     numeric=["v"], next="v", max_len=2, stride=1, split_by="time",
                     split_at="6", normalize=False)
    _, rows = rows_of(tmp_path / "d")
    for r in rows:  # values are the time (g a) or time + 10 (g b)
        last_t = (r["y"][-1]) % 10
        assert (r["split"] == "val") == (last_t >= 6)
    assert m.stats["features"]["count"] == 12  # rows before the cut: 6 per group


def test_mixed_dataset_is_version_2_and_readable(tmp_path):
    p = write_parquet(events(30), tmp_path / "e.parquet")
    out = tmp_path / "mx"
    m = ingest_table(str(out), path=p, group_by=["user"], order_by="ts",
                     categorical=["event", "tier"], numeric=["amount"], label="churn")
    data = json.loads((out / "manifest.json").read_text())
    assert (data["kind"], data["schema_version"]) == ("mixed", 2)
    layout = StepLayout.from_dict(data["steps"])
    assert (layout.n_cat, layout.n_num, layout.kind) == (2, 1, "mixed")
    assert layout.vocab_sizes == (5, 3)
    table = pq.read_table(out / m.shards("train")[0]["path"])
    ids, nums = decode_mixed(table, layout)
    assert ids[0].shape == (table["length"][0].as_py(), 2) and nums[0].shape[1] == 1
    assert ids[0][:, 1].min() == ids[0][:, 1].max()  # the tier is constant within a user
    m.verify("hash")


def test_train_refuses_a_mixed_dataset_in_one_line(tmp_path, capsys):
    from rnn_spark.cli import main
    p = write_parquet(events(20), tmp_path / "e.parquet")
    ingest_table(str(tmp_path / "mx"), path=p, group_by=["user"], order_by="ts",
                 categorical=["event"], numeric=["amount"], label="churn")
    code = main(["train", "--data", str(tmp_path / "mx"), "--run-dir", str(tmp_path / "run"),
                 "--runner", "inline"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "mixed categorical+numeric inputs: not supported by this version's model yet" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind,want", [("tokens", ("tokens", 9, None)),
                                       ("scalars", ("features", None, 1)),
                                       ("vectors", ("features", None, 3))])
def test_one_sequence_per_row(tmp_path, kind, want):
    p = tmp_path / "s.parquet"
    t = sequences(60, kind=kind)
    pq.write_table(t, p)
    m = ingest_table(str(tmp_path / "d"), path=str(p), sequence="features", label="label")
    assert (m.kind, m.vocab_size, m.input_size) == want
    assert m.output_size == 2 and m.counts("train")["sequences"] + \
        m.counts("val")["sequences"] == 60
    if kind == "vectors":
        assert m.stats["features"]["columns"] == ["features[0]", "features[1]", "features[2]"]


def test_row_order_and_file_split_do_not_change_the_bytes(tmp_path):
    tab = events(50, shuffle=False)
    a = write_parquet(tab, tmp_path / "a.parquet")
    b = write_parquet(tab.take(pa.array(np.random.default_rng(3).permutation(tab.num_rows))),
                      tmp_path / "b", parts=3)
    kw = dict(group_by=["user"], order_by="ts", categorical=["event"], numeric=["amount"],
              label="churn", max_len=5, val_fraction=0.2)
    ingest_table(str(tmp_path / "da"), path=a, **kw)
    ingest_table(str(tmp_path / "db"), path=b, format="parquet", **kw)
    sa, sb = snapshot(tmp_path / "da"), snapshot(tmp_path / "db")
    man_a, man_b = json.loads(sa.pop("manifest.json")), json.loads(sb.pop("manifest.json"))
    assert sa == sb
    man_a.pop("sources"), man_b.pop("sources")
    assert man_a == man_b


def test_csv_and_json_paths(tmp_path):
    tab = events(20)
    csv = tmp_path / "e.csv"
    import pyarrow.csv as pacsv
    pacsv.write_csv(tab, csv)
    js = tmp_path / "e.json"
    js.write_text("".join(json.dumps(r) + "\n" for r in tab.to_pylist()))
    kw = dict(group_by=["user"], order_by="ts", categorical=["event"], numeric=["amount"],
              label="churn")
    mc = ingest_table(str(tmp_path / "c"), path=str(csv), **kw)
    mj = ingest_table(str(tmp_path / "j"), path=str(js), **kw)
    assert mc.counts("train") == mj.counts("train")
    assert mc.stats["features"]["mean"] == mj.stats["features"]["mean"]
    assert mc.steps.target.classes == ("0", "1") and mj.steps.target.classes is None


def test_string_order_column_reads_as_time(tmp_path):
    t = pa.table({"g": ["a"] * 4, "when": ["2024-01-01T10:00:00", "2024-01-01T10:10:00",
                                           "2024-01-01T12:00:00", "2024-01-01T12:05:00"],
                  "e": ["x", "y", "x", "y"], "l": [0, 1, 0, 1]})
    p = tmp_path / "w.csv"
    import pyarrow.csv as pacsv
    pacsv.write_csv(t, p)
    m = ingest_table(str(tmp_path / "d"), path=str(p), group_by=["g"], order_by="when",
                     session_gap="30m", categorical=["e"], label="l", val_fraction=0)
    assert m.counts("train") == {"sequences": 2, "tokens": 4}
