"""The typed messages between serve's drivers and their tasks (what training/protocol.py is for
training): a runner calls ``fn(task, shared)`` for every task; these cross to Spark executors
pickled, so they are plain frozen dataclasses of numbers, strings, NumPy arrays and the data
layer's own types (Manifest, WorkUnit, Vocab). Nothing here is written to disk.

    ModelSpec        the weights and config a worker rebuilds the engine from
    EvalShared / EvalTask                    evaluate: the broadcast, one task's work units
    PredictShared / PredictTask              predict --data
    RawShared / RawTask                      predict --input (raw files)
    PartResult       what a predict task returns: one part file's entry in _predictions.json
    SortRun / MergeTask / MergeShared        forecasts of a dataset, put in order (serve/ordered.py)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from rnn_spark.data import Manifest, WorkUnit
from rnn_spark.data.compat import IdMap
from rnn_spark.engine import Model, ModelConfig


@dataclass(frozen=True)
class ModelSpec:
    config: ModelConfig
    flat: np.ndarray

    def engine(self) -> Model:
        model = Model(self.config, seed=0)
        model.set_flat(self.flat)
        return model


@dataclass(frozen=True)
class EvalShared:
    model: ModelSpec
    manifest: Manifest
    batch_size: int
    season: int = 0                  # regress: the seasonal naive forecast's season (0: none)
    ids: IdMap | None = None         # --remap-vocab: the dataset's token ids -> the model's
    chars: np.ndarray | None = None  # lm: characters per token id (bits per character)


@dataclass(frozen=True)
class EvalTask:
    units: tuple[WorkUnit, ...]


@dataclass(frozen=True)
class PredictShared:
    model: ModelSpec
    manifest: Manifest
    batch_size: int
    top_k: int
    tokens: tuple[str, ...] | None   # lm: the vocabulary's token strings
    series: tuple | None = None      # series datasets: one serve.series.SeriesIndex per source
    part_rows: int = 0               # series datasets: window numbers per output part (ordered.py)
    ids: IdMap | None = None         # --remap-vocab: the dataset's token ids -> the model's


@dataclass(frozen=True)
class PredictTask:
    path: str                        # the part file to write
    split: str
    source: str                      # the input shard (relative to the dataset)
    units: tuple[WorkUnit, ...]


@dataclass(frozen=True)
class RawShared:
    model: ModelSpec
    manifest: Manifest               # the model's sizes, task and statistics (no shards)
    batch_size: int
    top_k: int
    vocab: object | None             # lm: rnn_spark.data.vocab.Vocab
    options: object                  # serve.raw_parse: TextOptions | LabelledOptions | SeriesOptions


@dataclass(frozen=True)
class RawTask:
    path: str
    uri: str                         # the raw input file
    idx: int                         # its index in _predictions.json's "inputs" (= src_file)


@dataclass(frozen=True)
class PartResult:
    path: str
    split: str                       # an ordered forecast part: the splits it holds, "train,val"
    source: str | None               # the input shard or raw file (None: an ordered forecast part)
    rows: int
    bytes: int
    sha256: str
    unknown_tokens: int = 0

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SortRun:
    """A scoring task's forecasts, sorted, with one row group per output part they fall in."""
    path: str
    parts: tuple[int, ...]           # the output part of each row group, ascending


@dataclass(frozen=True)
class MergeShared:
    offsets: tuple[int, ...]         # per source file: window numbers of the files before it
    row_group_rows: int


@dataclass(frozen=True)
class MergeTask:
    path: str                        # the part file to write
    pieces: tuple[tuple[str, int], ...]  # (run file, row group) holding this part's rows
