"""What every ingest kind (text, series, labelled) implements, and the progress lines it prints.

An ingest is a *job* with three pure steps, each a function of its input file and options:

1. ``scan(i, uri)``    -> small per-file summary (rows/values per split, char counts, stat sums);
2. ``finalize(scans)`` on the driver, in file order -> vocabulary / statistics / sizes;
3. ``block(i, uri)``   -> an Arrow table of finished rows with their hash and split.

The engines (:mod:`rnn_spark.ingest.local`, :mod:`rnn_spark.ingest.spark`) run the steps, route
rows to shards (:mod:`rnn_spark.ingest.plans`) and write them; both produce the same bytes.
"""

from __future__ import annotations

import sys
import time

import pyarrow as pa

from rnn_spark.data.schema import arrow_schema


class Progress:
    """Progress lines on stderr (``ingest [  1.2s] ...``); silent when ``quiet``. Warnings
    (:meth:`warn`) are printed even then: they are about the data, not the progress."""

    def __init__(self, quiet: bool):
        self.quiet, self.t0 = quiet, time.monotonic()
        self.last = -1e9

    def __call__(self, msg: str) -> None:
        if not self.quiet:
            self.last = time.monotonic()
            print(f"ingest [{self.last - self.t0:7.1f}s] {msg}", file=sys.stderr, flush=True)

    def warn(self, msg: str) -> None:
        self.always(f"warning: {msg}")

    def always(self, msg: str) -> None:
        """``ingest: MSG`` on stderr, even when quiet."""
        print(f"ingest: {msg}", file=sys.stderr, flush=True)

    def tick(self, msg: str, last: bool = False) -> None:
        """Like calling, but at most one line every 2 s (and always the ``last`` one)."""
        if last or time.monotonic() - self.last >= 2.0:
            self(msg)


class Job:
    """Base of the three ingest kinds; subclasses set kind/task/head_at and the three steps."""

    type = "?"
    kind = task = head_at = None
    chunkable = False  # True: also has scan_chunk / merge_chunks / block_chunk (Spark engine)

    def scan(self, idx: int, uri: str) -> dict:
        raise NotImplementedError

    def finalize(self, scans: list[dict], sources: list[dict]) -> None:
        raise NotImplementedError

    def block(self, idx: int, uri: str) -> pa.Table:
        raise NotImplementedError

    def files(self) -> dict[str, bytes]:
        """Other files the dataset holds beside manifest.json (name -> bytes)."""
        return {}

    def fields(self) -> dict:
        """vocab_size, input_size, output_size, vocab, stats, options for the manifest."""
        raise NotImplementedError

    def schema(self) -> pa.Schema:
        return arrow_schema(self.kind, self.task)
