"""Ingest's Spark jobs are named (job group + description) for the Spark UI (issue #14)."""

import pytest

from rnn_spark.ingest import ingest_text

pytestmark = pytest.mark.spark


def test_ingest_jobs_carry_group_and_description(spark, text_files, tmp_path):
    ingest_text([str(p) for p in text_files], str(tmp_path / "out"), seq_len=12, rows_per_group=16, engine="spark", quiet=True)
    tracker = spark.sparkContext.statusTracker()
    assert tracker.getJobIdsForGroup("rnn-spark: ingest: scan")
    assert tracker.getJobIdsForGroup("rnn-spark: ingest: write")
