"""The Spark engine (local[2]) writes byte-identical shards and manifests to the local engine."""

import pytest

from rnn_spark.ingest import ingest_labelled, ingest_series, ingest_text
from rnn_spark.errors import DataError
from shard_snapshot import snapshot

pytestmark = pytest.mark.spark


def _same(tmp_path, fn, srcs, **kw):
    fn(srcs, str(tmp_path / "local"), engine="local", **kw)
    fn(srcs, str(tmp_path / "spark"), engine="spark", **kw)
    a, b = snapshot(tmp_path / "local"), snapshot(tmp_path / "spark")
    assert len(a) > 2 and a == b


def test_text_char(spark, text_files, tmp_path):
    _same(tmp_path, ingest_text, [str(p) for p in text_files], seq_len=12, rows_per_group=16,
          shard_bytes=3000, seed=4)


def test_text_bpe_and_word(spark, text_files, tmp_path):
    """The tokenizer is trained once on the driver and shipped to the block tasks."""
    pytest.importorskip("tokenizers", reason="the text extra (tokenizers) is not installed")
    srcs = [str(p) for p in text_files]
    _same(tmp_path / "b", ingest_text, srcs, seq_len=6, vocab="bpe", vocab_size=280,
          rows_per_group=16, shard_bytes=2000, seed=4)
    _same(tmp_path / "w", ingest_text, srcs, seq_len=6, vocab="word", vocab_size=40,
          rows_per_group=16, shard_bytes=2000, seed=4, vocab_sample=700)


def test_series(spark, series_csv, tmp_path):
    _same(tmp_path, ingest_series, [str(series_csv)], window=5, horizon=2, time_column="t",
          group_column="ent", rows_per_group=10, shard_bytes=2000)


def test_labelled(spark, labelled_jsonl, labelled_parquet, tmp_path):
    _same(tmp_path / "j", ingest_labelled, [str(labelled_jsonl)], rows_per_group=10,
          shard_bytes=1000)
    _same(tmp_path / "p", ingest_labelled, [str(labelled_parquet)], task="regress",
          rows_per_group=10, shard_bytes=1000)


def test_task_errors_come_back_as_one_line(spark, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"abc\n\xfe")
    with pytest.raises(DataError) as ei:
        ingest_text([str(bad)], str(tmp_path / "o"), seq_len=4, engine="spark")
    assert str(ei.value) == (f"{bad}: line 2 (byte 4): not valid UTF-8; pass --on-decode-error "
                             "replace to substitute U+FFFD, or use --vocab byte")
    assert not (tmp_path / "o").exists()
