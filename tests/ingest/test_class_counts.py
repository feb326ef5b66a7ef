"""A classify dataset's manifest counts its rows per label and split (what class_weights = auto
reads); a manifest whose counts do not add up is refused; regress and lm datasets have none."""

import json

import pytest

from rnn_spark import data
from rnn_spark.errors import DataError
from rnn_spark.ingest import ingest_labelled


def test_counts_per_split_match_the_rows(labelled_jsonl, tmp_path):
    m = ingest_labelled([str(labelled_jsonl)], str(tmp_path / "o"), val_fraction=0.3,
                        num_classes=4, quiet=True)
    for split in ("train", "val"):
        units = m.work_units(split)
        batch = next(data.iter_minibatches(units, 1000, manifest=m, shuffle_rows=False))
        want = [int((batch.targets == c).sum()) for c in range(4)]
        assert m.class_counts(split) == want and want[3] == 0  # class 3 declared, never seen


def test_counts_that_do_not_add_up_are_refused(labelled_jsonl, tmp_path):
    out = tmp_path / "o"
    ingest_labelled([str(labelled_jsonl)], str(out), val_fraction=0.2, quiet=True)
    man = json.loads((out / "manifest.json").read_text())
    man["class_counts"]["train"][0] += 1
    (out / "manifest.json").write_text(json.dumps(man))
    with pytest.raises(DataError, match="class_counts do not add up"):
        data.read_manifest(str(out))


def test_no_counts_without_classes(labelled_parquet, tmp_path):
    m = ingest_labelled([str(labelled_parquet)], str(tmp_path / "o"), task="regress", quiet=True)
    assert "class_counts" not in m.data and m.class_counts("train") is None
