"""Checkpoints and the final model, on any filesystem the fs layer speaks (local or hdfs://).

RUN/checkpoints/round-000120/  weights.npz (flat global weights + broadcast weights), state.npz
                                (averager and optimizer state vectors), meta.json (round, config,
                                step count, metrics summary), model.json (what the weights are: the
                                model config, dataset, task, vocabulary/statistics) and, written
                                last, checksums.json (the sha256 of every other file). Written into
                                a staging directory and renamed into place: a reader never sees half
                                a checkpoint; the checksums catch damage done later (a truncated
                                copy, a disk error, a hand edit).
RUN/model/                      weights.npz (PyTorch state_dict names) + model.json.
RUN/best/                       the checkpoint with the best validation loss so far (same files).

A checkpoint or best/ is also a model: model.json (format "rnn-spark-checkpoint") says the flat
vector `global` of weights.npz holds the stored weights (float64; cast to model.dtype to use them).
Checkpoints of the first release (no model.json, no checksums.json) still read: their files are
checked by parsing them.

No pickles: arrays are .npz read with allow_pickle=False, everything else JSON.
Where these directories are is training/rundir.py's: functions here take their paths from a RunDir.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

import numpy as np

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.training.rundir import RunDir

CHECKSUMS = "checksums.json"
CHECKPOINT_FORMAT = "rnn-spark-checkpoint"  # model.json "format" of a checkpoint or best/
MODEL_FORMAT = "pytorch-state-dict-npz"      # model.json "format" of RUN/model
_NPZ_FILES = ("weights.npz", "state.npz")


class CheckpointDamaged(UserError):
    """A checkpoint directory whose files are missing, altered or unreadable."""

    def __init__(self, uri: str, reason: str):
        self.uri, self.reason = uri, reason
        super().__init__(f"{uri}: damaged checkpoint ({reason})")

    @property
    def name(self) -> str:
        return fs.basename(self.uri.rstrip("/"))


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint, read and verified."""

    uri: str
    weights: dict
    state: dict
    meta: dict
    info: dict | None = None   # model.json: model config, dataset, vocabulary/statistics (or None)

    @property
    def round(self) -> int:
        return int(self.meta["round"])

    @property
    def name(self) -> str:
        return fs.basename(self.uri.rstrip("/"))


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _parse_npz(raw: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def _read_npz(uri: str) -> dict[str, np.ndarray]:
    return _parse_npz(fs.read_bytes(uri))


def _sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def checkpoint_model_json(model_json: dict) -> dict:
    """RUN/model's model.json, re-labelled for a directory holding the flat `global` vector."""
    return {**model_json, "format": CHECKPOINT_FORMAT, "weights": "global"}


def write_checkpoint(run: RunDir, rnd: int, weights: dict[str, np.ndarray],
                     state: dict[str, np.ndarray], meta: dict, keep: int,
                     model_json: dict | None = None) -> str:
    """Write RUN/checkpoints/round-NNNNNN atomically, then drop all but the newest `keep` up to
    this round. Newer ones (damaged ones a resume skipped) do not count: they are replaced when the
    run reaches their round, so the intact checkpoints kept are never fewer than `keep`."""
    fs.mkdirs(run.checkpoints)
    final = write_checkpoint_dir(run.checkpoint(rnd), weights, state, meta, model_json)
    upto = [uri for uri in list_checkpoints(run) if RunDir.checkpoint_round(uri) <= rnd]
    for old in upto[:-keep]:
        fs.rm(old, recursive=True, missing_ok=True)
    return final


def write_checkpoint_dir(final: str, weights: dict[str, np.ndarray], state: dict[str, np.ndarray],
                         meta: dict, model_json: dict | None = None) -> str:
    """One checkpoint directory (also used for RUN/best), replaced atomically, checksums last."""
    files = {"weights.npz": _npz_bytes(weights), "state.npz": _npz_bytes(state),
             "meta.json": json.dumps(meta, indent=1, sort_keys=True).encode()}
    if model_json is not None:
        files["model.json"] = json.dumps(checkpoint_model_json(model_json), indent=1,
                                         sort_keys=True).encode()
    sums = {"sha256": {name: _sha256(raw) for name, raw in files.items()}}
    with fs.staging_dir(final, overwrite=True) as tmp:
        for name, raw in files.items():
            fs.write_bytes(fs.join(tmp, name), raw)
        fs.write_text(fs.join(tmp, CHECKSUMS), json.dumps(sums, indent=1, sort_keys=True))
    return final


def list_checkpoints(run: RunDir) -> list[str]:
    """Checkpoint directories of a run (named round-NNNNNN), oldest first; they may be damaged
    (read_checkpoint says so). Staging directories are hidden names and never listed."""
    if not fs.exists(run.checkpoints):
        return []
    found = []
    for uri in fs.ls(run.checkpoints):
        rnd = RunDir.checkpoint_round(uri)
        if rnd is not None:
            found.append((rnd, uri))
    return [uri for _, uri in sorted(found)]


def _read_file(uri: str, name: str) -> bytes:
    try:
        return fs.read_bytes(fs.join(uri, name))
    except fs.FsNotFound:
        raise CheckpointDamaged(uri, f"{name}: missing") from None


def read_checkpoint(uri: str) -> tuple[dict, dict, dict]:
    """(weights, state, meta) of one checkpoint directory, verified (CheckpointDamaged if not)."""
    ck = load_checkpoint(uri)
    return ck.weights, ck.state, ck.meta


def load_checkpoint(uri: str) -> Checkpoint:
    """Read one checkpoint and check it: the sha256 of every file against checksums.json (when
    there is one), then that every file parses as what it should be."""
    expected = None
    try:
        raw = fs.read_bytes(fs.join(uri, CHECKSUMS))
    except fs.FsNotFound:
        raw = None  # a checkpoint of the first release
    if raw is not None:
        try:
            expected = json.loads(raw)["sha256"]
            if not isinstance(expected, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            raise CheckpointDamaged(uri, f"{CHECKSUMS}: not valid") from None
    names = sorted(set(expected or ()) | {*_NPZ_FILES, "meta.json"})
    blobs = {name: _read_file(uri, name) for name in names}
    for name, raw in blobs.items():
        if expected is not None and expected.get(name) != _sha256(raw):
            why = "not in checksums" if name not in expected else "sha256 mismatch"
            raise CheckpointDamaged(uri, f"{name}: {why}")
    arrays = {}
    for name in _NPZ_FILES:
        try:
            arrays[name] = _parse_npz(blobs[name])
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            reason = "holds pickled objects" if "pickle" in str(exc) else "not a readable .npz"
            raise CheckpointDamaged(uri, f"{name}: {reason}") from None
    try:
        meta = json.loads(blobs["meta.json"])
        int(meta["round"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointDamaged(uri, "meta.json: not valid") from None
    weights = arrays["weights.npz"]
    for key in ("global", "broadcast"):
        vec = weights.get(key)
        if vec is None or vec.ndim != 1 or vec.dtype.kind != "f":
            raise CheckpointDamaged(uri, f"weights.npz: no flat float vector {key!r}")
    info = None
    if "model.json" in blobs:
        try:
            info = json.loads(blobs["model.json"])
            if not isinstance(info, dict):
                raise TypeError
        except (ValueError, TypeError):
            raise CheckpointDamaged(uri, "model.json: not valid") from None
    return Checkpoint(uri, weights, arrays["state.npz"], meta, info)


def newest_intact(run: RunDir) -> tuple[Checkpoint | None, list[CheckpointDamaged]]:
    """The newest checkpoint that verifies, and the damaged ones newer than it (newest first).
    (None, [...]) when there are checkpoints but none is intact; (None, []) when there are none."""
    damaged = []
    for uri in reversed(list_checkpoints(run)):
        try:
            return load_checkpoint(uri), damaged
        except CheckpointDamaged as exc:
            damaged.append(exc)
    return None, damaged


def write_model(run: RunDir, state_dict: dict[str, np.ndarray], model_json: dict) -> str:
    """The final model: PyTorch-named weights and everything needed to rebuild and use it."""
    final = run.model
    with fs.staging_dir(final, overwrite=True) as tmp:
        fs.write_bytes(fs.join(tmp, "weights.npz"), _npz_bytes(state_dict))
        fs.write_text(fs.join(tmp, "model.json"),
                      json.dumps({**model_json, "format": MODEL_FORMAT}, indent=1, sort_keys=True))
    return final


def read_model(model_dir: str) -> tuple[dict[str, np.ndarray], dict]:
    return (_read_npz(fs.join(model_dir, "weights.npz")),
            json.loads(fs.read_text(fs.join(model_dir, "model.json"))))
