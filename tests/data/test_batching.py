"""Streaming minibatches: shapes per task, masks, determinism, counts, bucketing, bad shards."""

import os

import numpy as np
import pytest

from rnn_spark.data import count_minibatches, iter_minibatches, read_manifest
from rnn_spark.ingest import ingest_labelled, ingest_series, ingest_text
from rnn_spark.errors import DataError


@pytest.fixture()
def lm(text_files, tmp_path):
    return ingest_text([str(p) for p in text_files], str(tmp_path / "lm"), seq_len=10,
                       rows_per_group=25, shard_bytes=3000)


def _all(units, B, m, **kw):
    return list(iter_minibatches(units, B, manifest=m, **kw))


@pytest.mark.parametrize("bucket", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_counts_match_plan(lm, bucket, drop_last):
    units = lm.work_units("train")
    bs = _all(units, 7, lm, seed=1, bucket=bucket, drop_last=drop_last)
    assert len(bs) == count_minibatches(units, 7, drop_last)
    rows = sum(b.rows for b in bs)
    total = sum(u.rows for u in units)
    assert rows == (total // 7 * 7 if drop_last else total)


def test_lm_batches_cover_every_target_once(lm):
    units = lm.work_units("train")
    seen = 0
    for b in _all(units, 8, lm, seed=3):
        assert b.inputs.dtype == np.int32 and b.targets.dtype == np.int32
        assert b.mask.dtype == np.float32 and b.inputs.shape == b.mask.shape == b.targets.shape
        np.testing.assert_array_equal(b.inputs[:, 1:] * b.mask[:, 1:],
                                      b.targets[:, :-1] * b.mask[:, 1:])
        assert b.n_targets == int(b.mask.sum())
        assert np.all(b.inputs[b.mask == 0] == 0)
        seen += b.n_targets
    assert seen == lm.counts("train")["tokens"]


def test_deterministic_and_seeded(lm):
    units = lm.work_units("train")
    a = _all(units, 8, lm, seed=1, bucket=True)
    b = _all(units, 8, lm, seed=1, bucket=True)
    c = _all(units, 8, lm, seed=2, bucket=True)
    assert all(np.array_equal(x.inputs, y.inputs) for x, y in zip(a, b))
    assert not all(np.array_equal(x.inputs, y.inputs) for x, y in zip(a, c))
    plain = _all(units, 8, lm, shuffle_rows=False)
    assert plain[0].rows == 8


def test_bucketing_reduces_padding(labelled_jsonl, tmp_path):
    m = ingest_labelled([str(labelled_jsonl)], str(tmp_path / "o"), rows_per_group=30)
    units = m.work_units("train")
    pad = lambda bs: sum(b.mask.size - b.mask.sum() for b in bs)  # noqa: E731
    assert pad(_all(units, 8, m, seed=0, bucket=True)) < pad(_all(units, 8, m, seed=0))


def test_classify_batches(labelled_jsonl, tmp_path):
    m = ingest_labelled([str(labelled_jsonl)], str(tmp_path / "o"))
    b = _all(m.work_units("train"), 16, m, seed=0)[0]
    assert m.kind == "tokens" and m.task == "classify" and m.head_at == "last"
    assert b.targets.shape == (16,) and b.n_targets == 16 and b.inputs.ndim == 2
    assert np.all(b.mask.sum(1) == b.lengths) and b.mask.shape[1] == b.lengths.max()


def test_regress_last_and_float64(labelled_parquet, tmp_path):
    m = ingest_labelled([str(labelled_parquet)], str(tmp_path / "o"), task="regress")
    b = _all(m.work_units("train"), 5, m, seed=0, dtype="float64")[0]
    assert b.inputs.shape[0] == 5 and b.inputs.shape[2] == 3 and b.inputs.dtype == np.float64
    assert b.targets.shape == (5, 1) and b.mask.dtype == np.float64


def test_regress_every_and_max_len(series_csv, tmp_path):
    m = ingest_series([str(series_csv)], str(tmp_path / "o"), window=6, horizon=2,
                      time_column="t", group_column="ent", target_columns=["a"], head_at="every")
    b = _all(m.work_units("train"), 4, m, seed=0)[0]
    assert b.inputs.shape == (4, 6, 2) and b.targets.shape == (4, 6, 1) and b.n_targets == 24
    b = _all(m.work_units("train"), 4, m, seed=0, max_len=3)[0]
    assert b.inputs.shape == (4, 3, 2) and b.targets.shape == (4, 3, 1)


def test_lm_max_len_truncates(lm):
    b = _all(lm.work_units("train"), 4, lm, seed=0, max_len=5)[0]
    assert b.inputs.shape == (4, 5) and b.n_targets == 20


def test_corrupt_and_mismatched_shards(lm):
    units = lm.work_units("train")
    path = units[0].shard
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])  # truncated
    with pytest.raises(DataError, match="not a readable Parquet file .*re-run the ingest"):
        _all(units[:1], 4, lm)
    os.remove(path)
    with pytest.raises(DataError, match="missing"):
        _all(units[:1], 4, lm)
    other = units[-1].shard
    os.replace(other, path)  # a different shard under the expected name
    bad = [u for u in units if u.shard == path]
    with pytest.raises(DataError, match="does not match the manifest"):
        _all(bad, 4, lm)


def test_units_from_dicts(lm):
    units = [u.to_dict() for u in read_manifest(lm.root).work_units("val")]
    assert count_minibatches(units, 3) == -(-lm.counts("val")["sequences"] // 3)
    assert lm.tokenizer().decode(lm.tokenizer().encode("alpha")) == "alpha"
    assert sum(b.rows for b in _all(units, 3, lm)) == lm.counts("val")["sequences"]
