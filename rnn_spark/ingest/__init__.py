"""Ingest: raw text, time series and labelled sequences -> Parquet shards + manifest.json.

The shard format itself (schema, manifest, reader, minibatches) is :mod:`rnn_spark.data`; this
package only writes it. Public API::

    ingest_text(sources, out, *, seq_len, vocab="char"|"byte", ...)  -> Manifest
    ingest_series(sources, out, *, window, horizon=1, ...)           -> Manifest
    ingest_labelled(sources, out, *, task="classify"|"regress", ...)  -> Manifest

Modules: sources (which files are inputs: one rule for directories and globs, one name per
file, copies found), job (the three steps every kind implements), text / series / labelled
(the kinds; tables reads CSV/Parquet/JSONL, stats and vocab build what the manifest records),
chunks (byte ranges of big text files), plans (shard plans, routing, the manifest's content),
local and spark (the two engines; spark_progress prints a running job's progress), pipeline
(``run_ingest``: checks, guard, staging, engine), stop (SIGTERM and Ctrl-C unwind cleanly).
"""

from rnn_spark.ingest.labelled import ingest_labelled
from rnn_spark.ingest.series import ingest_series
from rnn_spark.ingest.text import ingest_text

__all__ = ["ingest_text", "ingest_series", "ingest_labelled"]
