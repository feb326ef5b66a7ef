"""The run directory: the one module that knows where a run's files live.

    RUN/                     a local path, file:// or hdfs:// URI
      config.toml            the resolved configuration of the run
      metrics.jsonl          one JSON object per round and per validation (training/metrics.py)
      checkpoints/           round-000120/ ... the newest train.keep_checkpoints kept
                             (weights.npz, state.npz, meta.json: training/checkpoint.py)
      best/                  the checkpoint with the best validation loss so far
      model/                 the final model: weights.npz + model.json
      summary.json           what `train` printed last when the run ended (training/summary.py)
      report.html            written by `rnn-spark report`

Everything else (the trainer, checkpoints, metrics, commands that inspect a run) takes its paths from
a :class:`RunDir`; what goes *inside* a checkpoint or the model directory is training/checkpoint.py's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rnn_spark import fs

_CHECKPOINT_NAME = re.compile(r"round-(\d{6,})$")


@dataclass(frozen=True)
class RunDir:
    uri: str

    @property
    def config(self) -> str:
        return fs.join(self.uri, "config.toml")

    @property
    def metrics(self) -> str:
        return fs.join(self.uri, "metrics.jsonl")

    @property
    def checkpoints(self) -> str:
        return fs.join(self.uri, "checkpoints")

    def checkpoint(self, rnd: int) -> str:
        """The directory of the checkpoint taken after round `rnd`."""
        return fs.join(self.checkpoints, f"round-{rnd:06d}")

    @staticmethod
    def checkpoint_round(uri: str) -> int | None:
        """The round a checkpoint directory's name says, or None if it is not named like one."""
        m = _CHECKPOINT_NAME.search(uri.rstrip("/"))
        return int(m.group(1)) if m else None

    @property
    def best(self) -> str:
        return fs.join(self.uri, "best")

    @property
    def model(self) -> str:
        return fs.join(self.uri, "model")

    @property
    def summary(self) -> str:
        return fs.join(self.uri, "summary.json")

    @property
    def report(self) -> str:
        return fs.join(self.uri, "report.html")

    @property
    def remote(self) -> bool:
        """On a remote filesystem (HDFS): writes are costly, so metrics are flushed less often."""
        return fs.is_remote(self.uri)

    def create(self) -> None:
        fs.mkdirs(self.uri)

    def __str__(self) -> str:
        return self.uri
