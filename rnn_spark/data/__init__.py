"""Sequence data: shard format and manifest, ingest (text, series, labelled), streaming minibatches.

Public API::

    ingest_text(sources, out, *, seq_len, vocab="char"|"byte", ...)  -> Manifest
    ingest_series(sources, out, *, window, horizon=1, ...)           -> Manifest
    ingest_labelled(sources, out, *, task="classify"|"regress", ...)  -> Manifest
    read_manifest(uri) -> Manifest; Manifest.work_units(split) -> [WorkUnit]
    iter_minibatches(units, batch_size, *, manifest, seed, ...) -> Iterator[Minibatch]
    count_minibatches(units, batch_size, drop_last) -> int
"""

from rnn_spark.data.batching import (Minibatch, count_minibatches, iter_minibatches,
                                     table_minibatches)
from rnn_spark.data.manifest import Manifest, WorkUnit, read_manifest
from rnn_spark.data.reader import ShardReader
from rnn_spark.data.vocab import Vocab


def ingest_text(*args, **kwargs):
    from rnn_spark.data.text import ingest_text as _f
    return _f(*args, **kwargs)


def ingest_series(*args, **kwargs):
    from rnn_spark.data.series import ingest_series as _f
    return _f(*args, **kwargs)


def ingest_labelled(*args, **kwargs):
    from rnn_spark.data.labelled import ingest_labelled as _f
    return _f(*args, **kwargs)


__all__ = ["Minibatch", "Manifest", "WorkUnit", "Vocab", "ShardReader", "count_minibatches",
           "iter_minibatches", "table_minibatches", "read_manifest", "ingest_text", "ingest_series", "ingest_labelled"]
