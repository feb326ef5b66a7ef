"""Find and load a trained model by URI: a run directory, its ``model/`` or ``best/``, or one checkpoint.

``load_model(uri)`` -> :class:`TrainedModel` (engine config, PyTorch-named weights, vocabulary or
normalisation statistics). Local paths and hdfs:// URIs alike; nothing is pickled (.npz + JSON).

Where a URI leads:
* a directory with ``model.json`` + ``weights.npz`` (PyTorch names)       -> that model
* a directory with ``meta.json`` + ``weights.npz`` (flat "global" vector) -> that checkpoint
  (``best/`` and ``checkpoints/round-NNNNNN``); its ``model.json`` when present, else the config in
  meta.json and the vocabulary/statistics of the dataset it names
* a run directory -> its ``best/`` if present, else its ``model/``
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass

import numpy as np

from rnn_spark import fs
from rnn_spark.data.vocab import Vocab
from rnn_spark.engine import Model, ModelConfig
from rnn_spark.errors import UserError

MODEL_FORMAT = "pytorch-state-dict-npz"    # RUN/model: weights.npz holds PyTorch-named arrays
CHECKPOINT_FORMAT = "rnn-spark-checkpoint"  # checkpoints and best/: weights.npz holds flat "global"
FORMAT_VERSION = 1  # the newest model.json / checkpoint layout this rnn-spark reads


@dataclass(frozen=True)
class ModelSource:
    uri: str            # the directory the weights came from
    kind: str           # "model" | "checkpoint"
    round: int | None   # the training round of a checkpoint


class TrainedModel:
    """A model ready to use: ``config`` (ModelConfig), ``state`` (PyTorch-named arrays), ``task``,
    ``vocab`` (a :class:`rnn_spark.data.Vocab` or None), ``stats`` (normalisation statistics or
    None), ``source`` and ``dataset`` (the URI it was trained on, when known)."""

    def __init__(self, config: ModelConfig, state: dict, *, vocab=None, stats=None,
                 dataset: str | None = None, source: ModelSource, steps: dict | None = None):
        self.config, self.state, self.vocab, self.stats = config, state, vocab, stats
        self.steps = steps  # a table dataset's step layout (rnn_spark.data.steps), or None
        self.dataset, self.source = dataset, source
        self._engine: Model | None = None

    @property
    def task(self) -> str:
        return self.config.task

    def engine(self) -> Model:
        """The NumPy model with these weights (built once)."""
        if self._engine is None:
            m = Model(self.config, seed=0)
            m.load_state_dict(self.state)
            self._engine = m
        return self._engine

    def flat(self) -> np.ndarray:
        return self.engine().flat.copy()

    def spec(self):
        """What a worker needs to rebuild the model (a serve.protocol.ModelSpec)."""
        from rnn_spark.serve.protocol import ModelSpec
        return ModelSpec(self.config, self.flat())

    # -- the verbs (each lives in its own module) --------------------------------------------
    def evaluate(self, data: str, split: str = "val", runner=None):
        from rnn_spark.serve.evaluate import evaluate
        return evaluate(self, data, split=split, runner=runner)

    def predict(self, data: str, out: str, **kwargs):
        from rnn_spark.serve.predict import predict
        return predict(self, data, out, **kwargs)

    def generate(self, **kwargs):
        from rnn_spark.serve.generate import generate
        return generate(self, **kwargs)


def _npz(uri: str) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(fs.read_bytes(uri)), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as err:
        raise UserError(f"{uri}: not a readable .npz weights file ({err}); the model is "
                        "damaged, use another checkpoint") from None


def _json(uri: str) -> dict:
    try:
        d = json.loads(fs.read_text(uri))
    except json.JSONDecodeError as err:
        raise UserError(f"{uri}: not valid JSON ({err}); the model is damaged") from None
    if not isinstance(d, dict):
        raise UserError(f"{uri}: expected a JSON object")
    return d


def _check_version(d: dict, where: str) -> None:
    v = d.get("format_version", 1)
    if not isinstance(v, int) or v > FORMAT_VERSION or v < 1:
        raise UserError(f"{where}: format version {v!r} is not supported by this rnn-spark "
                        f"(reads versions 1..{FORMAT_VERSION}); upgrade rnn-spark")


def _config(d: dict, where: str) -> ModelConfig:
    try:
        return ModelConfig.from_dict(d)
    except (ValueError, TypeError) as err:
        raise UserError(f"{where}: model config is not valid ({err})") from None


def resolve(uri: str) -> tuple[str, str]:
    """-> (directory, kind) of the model ``uri`` leads to (see the module doc)."""
    uri = uri.rstrip("/") or uri
    if not fs.exists(uri):
        raise UserError(f"{uri}: does not exist; pass a run directory, its model/ or best/, "
                        "or a checkpoint directory")
    if fs.isdir(uri):
        if fs.exists(fs.join(uri, "weights.npz")):
            if fs.exists(fs.join(uri, "meta.json")):
                return uri, "checkpoint"
            if fs.exists(fs.join(uri, "model.json")):
                return uri, "model"
        for sub in ("best", "model"):
            inner = fs.join(uri, sub)
            if fs.exists(fs.join(inner, "weights.npz")):
                return resolve(inner)
    raise UserError(f"{uri}: holds no model (no model.json or meta.json beside a weights.npz, "
                    "no best/ or model/ inside); pass a run directory, its model/ or best/, or a "
                    "checkpoint directory")


def _from_manifest(meta: dict, where: str) -> dict:
    """Vocabulary/statistics of an old checkpoint (no model.json) from the dataset it names."""
    from rnn_spark.data import read_manifest
    path = ((meta.get("config") or {}).get("data") or {}).get("path")
    try:
        m = read_manifest(path)
    except (UserError, TypeError) as err:
        raise UserError(f"{where}: checkpoint has no model.json and its dataset {path!r} is not "
                        f"readable ({str(err).splitlines()[0]}); load the run's model/ instead, "
                        "or make the dataset reachable") from None
    return {"vocab": m.vocab_info, "stats": m.stats, "dataset": path, "steps": m.steps_info}


def verify_checkpoint(where: str) -> None:
    """A checkpoint (or best/) is checked as resume checks it: every file against its sha256 in
    checksums.json, and that each parses. Damage is one line naming the file."""
    from rnn_spark.training.checkpoint import CheckpointDamaged, load_checkpoint

    try:
        load_checkpoint(where)
    except CheckpointDamaged as err:
        raise UserError(f"{err}; load another checkpoint or the run's model/ "
                        "(rnn-spark inspect RUN lists them)") from None


def load_model(uri: str) -> TrainedModel:
    """Load the model ``uri`` leads to (see the module doc); one-line UserError on bad input."""
    where, kind = resolve(uri)
    if kind == "checkpoint":
        verify_checkpoint(where)
    weights = _npz(fs.join(where, "weights.npz"))
    mj_uri = fs.join(where, "model.json")
    mj = _json(mj_uri) if fs.exists(mj_uri) else None
    if mj is not None:
        _check_version(mj, mj_uri)
        want = CHECKPOINT_FORMAT if kind == "checkpoint" else MODEL_FORMAT
        if mj.get("format", want) not in (want, MODEL_FORMAT):
            raise UserError(f"{mj_uri}: format {mj.get('format')!r} is not supported (reads "
                            f"{want!r}); upgrade rnn-spark")
    rnd = None
    if kind == "checkpoint":
        meta_uri = fs.join(where, "meta.json")
        meta = _json(meta_uri)
        _check_version(meta, meta_uri)
        if "model" not in meta or "global" not in weights:
            raise UserError(f"{where}: not an rnn-spark checkpoint (meta.json lacks 'model' or "
                            "weights.npz lacks 'global')")
        rnd = meta.get("round")
        cfg = _config(mj["model"] if mj else meta["model"], meta_uri)
        extra = mj if mj is not None else _from_manifest(meta, where)
        eng = Model(cfg, seed=0)
        try:
            eng.set_flat(weights["global"].astype(eng.flat.dtype))
        except ValueError as err:
            raise UserError(f"{where}: weights do not fit the model config ({err})") from None
        state = eng.state_dict()
    else:
        if mj is None or "model" not in mj:
            raise UserError(f"{mj_uri}: lacks the 'model' config; the model is damaged")
        cfg, extra, state = _config(mj["model"], mj_uri), mj, weights
    tm = TrainedModel(cfg, state, vocab=Vocab.of(extra.get("vocab")), stats=extra.get("stats"),
                      dataset=extra.get("dataset"), source=ModelSource(where, kind, rnd),
                      steps=extra.get("steps"))
    try:
        tm.engine()
    except ValueError as err:
        raise UserError(f"{where}: weights do not fit the model config ({err})") from None
    return tm
