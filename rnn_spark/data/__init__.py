"""The shard format: schema, manifest, shard files, the one shard reader, streaming minibatches.

Public API::

    read_manifest(uri) -> Manifest; Manifest.work_units(split) -> [WorkUnit]
    ShardReader(cache_row_groups=4, verify_sha256=False).read_row_group(unit) -> pyarrow.Table
    iter_minibatches(units, batch_size, *, manifest, seed, ...) -> Iterator[Minibatch]
    table_minibatches(table, manifest, batch_size, dtype, bucket, rng=None) -> Iterator[Minibatch]
    count_minibatches(units, batch_size, drop_last) -> int

Writing datasets is :mod:`rnn_spark.ingest` (``ingest_text``, ``ingest_series``,
``ingest_labelled``); nothing here imports it.
"""

from rnn_spark.data.batching import (Minibatch, count_minibatches, iter_minibatches,
                                     table_minibatches)
from rnn_spark.data.manifest import Manifest, WorkUnit, read_manifest
from rnn_spark.data.reader import ShardReader
from rnn_spark.data.vocab import Vocab

__all__ = ["Minibatch", "Manifest", "WorkUnit", "Vocab", "ShardReader", "count_minibatches",
           "iter_minibatches", "table_minibatches", "read_manifest"]
