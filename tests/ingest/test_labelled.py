"""Labelled sequences: formats, kinds, tasks, and every bad-input message."""

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rnn_spark.data import iter_minibatches
from rnn_spark.ingest import ingest_labelled
from rnn_spark.errors import DataError


def _batch(m, B=1000):
    return next(iter_minibatches(m.work_units("train"), B, manifest=m, shuffle_rows=False))


def test_jsonl_tokens_classify(labelled_jsonl, tmp_path):
    m = ingest_labelled([str(labelled_jsonl)], str(tmp_path / "o"), val_fraction=0)
    src = [json.loads(line) for line in labelled_jsonl.read_text().splitlines()]
    assert m.kind == "tokens" and m.vocab_size == 1 + max(max(r["sequence"]) for r in src)
    assert m.output_size == 1 + max(r["label"] for r in src)
    assert m.counts("train") == {"sequences": 120, "tokens": sum(len(r["sequence"]) for r in src)}
    b = _batch(m)
    got = sorted((tuple(x[:n]), int(y)) for x, y, n in zip(b.inputs.tolist(), b.targets,
                                                          b.lengths))
    assert got == sorted((tuple(r["sequence"]), r["label"]) for r in src)


def test_csv_features_regress_multistep(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text('sequence,label\n"1 2; 3 4; 5 6",0.5\n"7,8;9,10",1.5\n"1 1;2 2;3 3;4 4",-1\n')
    m = ingest_labelled([str(p)], str(tmp_path / "o"), task="regress", normalize=False,
                        val_fraction=0)
    assert m.kind == "features" and m.input_size == 2 and m.output_size == 1
    b = _batch(m)
    assert b.inputs.shape == (3, 4, 2) and sorted(b.targets[:, 0].tolist()) == [-1, 0.5, 1.5]


def test_csv_token_sequences_and_num_classes(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("sequence,label\n1 2 3,0\n4 5,1\n")
    m = ingest_labelled([str(p)], str(tmp_path / "o"), num_classes=5, val_fraction=0)
    assert m.kind == "tokens" and m.output_size == 5 and m.vocab_size == 6


def test_parquet_features_normalised_on_train(labelled_parquet, tmp_path):
    m = ingest_labelled([str(labelled_parquet)], str(tmp_path / "o"), task="regress",
                        val_fraction=0.25, seed=3)
    assert m.stats["normalized"] and len(m.stats["features"]["mean"]) == 3
    b = _batch(m)
    steps = b.inputs[b.mask == 1]
    np.testing.assert_allclose(steps.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(steps.std(0), 1, atol=1e-4)
    yb = b.targets[:, 0]
    assert abs(yb.mean()) < 1e-5


def _jsonl(tmp_path, rows):
    p = tmp_path / "x.jsonl"
    p.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return p


@pytest.mark.parametrize("bad,msg", [
    ({"sequence": [1], "label": 0}, "line 2: field 'sequence' has 1 step"),
    ({"sequence": [1, 2], "label": 1.5}, "line 2: label '1.5' is not an integer class"),
    ({"sequence": [1, 2], "label": "cat"}, "line 2: label 'cat' is not an integer class"),
    ({"sequence": [1, 2], "label": -1}, r"line 2: label -1 is out of range"),
    ({"sequence": [1, 2]}, "line 2: field 'label' is missing"),
    ({"sequence": [1, "a"], "label": 0}, "line 2: field 'sequence' is not a sequence"),
    ({"sequence": [[1, 2], [3]], "label": 0}, "line 2: field 'sequence' has steps of different"),
    ("{oops", "line 2: not valid JSON"),
])
def test_bad_rows(tmp_path, bad, msg):
    p = _jsonl(tmp_path, [{"sequence": [1, 2, 3], "label": 0}, bad])
    with pytest.raises(DataError, match=msg):
        ingest_labelled([str(p)], str(tmp_path / "o"))
    assert not (tmp_path / "o").exists()


def test_label_out_of_declared_range(tmp_path):
    p = _jsonl(tmp_path, [{"sequence": [1, 2, 3], "label": 0}, {"sequence": [1, 2], "label": 3}])
    with pytest.raises(DataError, match=r"line 2: label 3 is out of range \[0, 3\)"):
        ingest_labelled([str(p)], str(tmp_path / "o"), num_classes=3)


def test_nan_in_features_and_targets(tmp_path):
    p = tmp_path / "l.csv"
    p.write_text("sequence,label\n1.5 2.5,1\n1.0 nan,2\n")
    with pytest.raises(DataError, match=r"l\.csv: line 3: field 'sequence' holds NaN/Inf"):
        ingest_labelled([str(p)], str(tmp_path / "o"), task="regress")
    p.write_text("sequence,label\n1.5 2.5,1\n1.0 2.0,inf\n")
    with pytest.raises(DataError, match=r"line 3: target 'inf' must be finite"):
        ingest_labelled([str(p)], str(tmp_path / "o"), task="regress")


def test_corrupt_parquet_and_empty_file(labelled_parquet, tmp_path):
    data = labelled_parquet.read_bytes()
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError, match=r"bad\.parquet: not a readable Parquet file"):
        ingest_labelled([str(bad)], str(tmp_path / "o"))
    (tmp_path / "e.jsonl").write_text("")
    with pytest.raises(DataError, match=r"e\.jsonl: the file is empty"):
        ingest_labelled([str(tmp_path / "e.jsonl")], str(tmp_path / "o"))


def test_tokens_kind_requires_integers(tmp_path):
    p = _jsonl(tmp_path, [{"sequence": [1.5, 2], "label": 0}])
    with pytest.raises(DataError, match="kind tokens needs one non-negative integer"):
        ingest_labelled([str(p)], str(tmp_path / "o"), kind="tokens", val_fraction=0)


def test_parquet_int_lists_are_tokens(tmp_path):
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"seq": pa.array([[1, 2, 3], [4, 5]], pa.list_(pa.int32())),
                             "y": [0, 1]}), p)
    m = ingest_labelled([str(p)], str(tmp_path / "o"), sequence_column="seq", label_column="y",
                        val_fraction=0)
    assert m.kind == "tokens" and m.vocab_size == 6 and m.output_size == 2


def test_jsonl_wrong_column_names_the_columns_as_csv_does(tmp_path, capsys):
    """#21: a wrong --label-column in JSONL said "line 1: field 'target' is missing"."""
    from rnn_spark.cli import main
    p = _jsonl(tmp_path, [{"sequence": [1, 2, 3], "label": 0}, {"sequence": [2, 3], "label": 1}])
    for opt, name in (("--label-column", "target"), ("--sequence-column", "seq")):
        code = main(["ingest", "labelled", str(p), "--out", str(tmp_path / "o"), opt, name, "-q"])
        assert code == 2 and capsys.readouterr().err == (
            f"error: {p}: no column {name!r} (columns: sequence, label); check the column "
            "options\n")
        assert not (tmp_path / "o").exists()
    c = tmp_path / "x.csv"
    c.write_text("sequence,label\n1 2 3,0\n")
    with pytest.raises(DataError) as ei:
        ingest_labelled([str(c)], str(tmp_path / "o"), label_column="target")
    assert str(ei.value) == (f"{c}: no column 'target' (columns: sequence, label); check the "
                             "column options")
