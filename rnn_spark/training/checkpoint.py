"""Checkpoints and the final model, on any filesystem the fs layer speaks (local or hdfs://).

RUN/checkpoints/round-000120/  weights.npz (flat global weights + broadcast weights), state.npz
                                (averager and optimizer state vectors), meta.json (round, config,
                                step count, metrics summary). Written into a staging directory and
                                renamed into place: a reader never sees half a checkpoint.
RUN/model/                      weights.npz (PyTorch state_dict names) + model.json.
RUN/best/                       the checkpoint with the best validation loss so far.

No pickles: arrays are .npz read with allow_pickle=False, everything else JSON.
Where these directories are is training/rundir.py's: functions here take their paths from a RunDir.
"""

from __future__ import annotations

import io
import json

import numpy as np

from rnn_spark import fs
from rnn_spark.training.rundir import RunDir


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _read_npz(uri: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(fs.read_bytes(uri)), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_checkpoint(run: RunDir, rnd: int, weights: dict[str, np.ndarray],
                     state: dict[str, np.ndarray], meta: dict, keep: int) -> str:
    """Write RUN/checkpoints/round-NNNNNN atomically, then drop all but the newest `keep`."""
    fs.mkdirs(run.checkpoints)
    final = write_checkpoint_dir(run.checkpoint(rnd), weights, state, meta)
    for old in list_checkpoints(run)[:-keep]:
        fs.rm(old, recursive=True, missing_ok=True)
    return final


def write_checkpoint_dir(final: str, weights: dict[str, np.ndarray], state: dict[str, np.ndarray],
                         meta: dict) -> str:
    """One checkpoint directory (also used for RUN/best), replaced atomically."""
    with fs.staging_dir(final, overwrite=True) as tmp:
        fs.write_bytes(fs.join(tmp, "weights.npz"), _npz_bytes(weights))
        fs.write_bytes(fs.join(tmp, "state.npz"), _npz_bytes(state))
        fs.write_text(fs.join(tmp, "meta.json"), json.dumps(meta, indent=1, sort_keys=True))
    return final


def list_checkpoints(run: RunDir) -> list[str]:
    """Complete checkpoint directories of a run, oldest first."""
    if not fs.exists(run.checkpoints):
        return []
    found = []
    for uri in fs.ls(run.checkpoints):
        rnd = RunDir.checkpoint_round(uri)
        if rnd is not None and fs.exists(fs.join(uri, "meta.json")):
            found.append((rnd, uri))
    return [uri for _, uri in sorted(found)]


def read_checkpoint(uri: str) -> tuple[dict, dict, dict]:
    """(weights, state, meta) of one checkpoint directory."""
    meta = json.loads(fs.read_text(fs.join(uri, "meta.json")))
    return _read_npz(fs.join(uri, "weights.npz")), _read_npz(fs.join(uri, "state.npz")), meta


def write_model(run: RunDir, state_dict: dict[str, np.ndarray], model_json: dict) -> str:
    """The final model: PyTorch-named weights and everything needed to rebuild and use it."""
    final = run.model
    with fs.staging_dir(final, overwrite=True) as tmp:
        fs.write_bytes(fs.join(tmp, "weights.npz"), _npz_bytes(state_dict))
        fs.write_text(fs.join(tmp, "model.json"), json.dumps(model_json, indent=1, sort_keys=True))
    return final


def read_model(model_dir: str) -> tuple[dict[str, np.ndarray], dict]:
    return (_read_npz(fs.join(model_dir, "weights.npz")),
            json.loads(fs.read_text(fs.join(model_dir, "model.json"))))
