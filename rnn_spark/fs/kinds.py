"""What rnn-spark made a directory into: each kind of output, recognised by its own marker.

    dataset                manifest.json whose "format" is "rnn-spark-shards"   (ingest)
    run directory          .rnn-spark-run                                        (train)
                           -- a first-release one: a config.toml that reads as an rnn-spark
                           configuration, next to nothing but run files
    model                  weights.npz, state.npz or checksums.json beside meta.json or
                           model.json, or a model.json saying "rnn-spark-checkpoint" /
                           "pytorch-state-dict-npz": RUN/model, RUN/best, RUN/checkpoints/round-N
                           (and copies of them)                                  (train)
    export directory       .rnn-spark-export                                     (export)
                           -- an earlier release's: model.json "format" "pytorch-state-dict"
                           beside model.pt, model.npz or model.onnx, and nothing else
    predictions directory  _predictions.json (earlier: predictions.json) whose "format" is
                           "rnn-spark-predictions"                               (predict)

A model.json alone proves nothing: run models, checkpoints and exports all hold one (#21.2).
The names live here, beside fs/guard.py (the --overwrite rule that reads them), so the writers
(ingest, training, serve) and the guard agree on one list. Nothing here writes.
"""

from __future__ import annotations

import json

DATASET = "dataset"
RUN = "run directory"
MODEL = "model"
EXPORT = "export directory"
PREDICTIONS = "predictions directory"

RUN_MARKER = ".rnn-spark-run"
EXPORT_MARKER = ".rnn-spark-export"
DATASET_MANIFEST = "manifest.json"          # rnn_spark.data.manifest.MANIFEST_NAME
# a predictions directory's side file: the leading "_" makes Spark, Arrow (and so pandas) skip
# it when they read the directory as one Parquet table; directories written before #21 hold
# "predictions.json" instead (still a predictions directory rnn-spark made, for --overwrite)
PREDICTIONS_MANIFEST = "_predictions.json"   # rnn_spark.serve.predict.MANIFEST
OLD_PREDICTIONS_MANIFEST = "predictions.json"
DATASET_FORMAT = "rnn-spark-shards"         # rnn_spark.data.schema.FORMAT
PREDICTIONS_FORMAT = "rnn-spark-predictions"

# what proves a kind, for messages: "(one holding ...)"
MARKERS = {DATASET: DATASET_MANIFEST, RUN: RUN_MARKER, EXPORT: EXPORT_MARKER,
           PREDICTIONS: PREDICTIONS_MANIFEST}

_MODEL_FILES = {"weights.npz", "state.npz", "checksums.json"}
_MODEL_FORMATS = {"rnn-spark-checkpoint", "pytorch-state-dict-npz"}
# what a first-release run directory holds (besides hidden temp files of interrupted writes)
_RUN_ENTRIES = {"config.toml", "metrics.jsonl", "checkpoints", "best", "model", "report.html",
                "summary.json", RUN_MARKER}
_OLD_EXPORT_FILES = {"model.json", "model.pt", "model.npz", "rnn_model.py", "model.onnx"}
OLD_EXPORT_FORMAT = "pytorch-state-dict"  # what exports of earlier releases wrote, both formats


def _json_field(uri: str, field: str):
    from rnn_spark import fs
    try:
        d = json.loads(fs.read_text(uri))
    except (fs.FsError, OSError, ValueError):
        return None
    return d.get(field) if isinstance(d, dict) else None


def _old_run_dir(uri: str, names: list[str]) -> bool:
    """A run directory of the first release: no marker, but a config.toml that parses as an
    rnn-spark configuration, and nothing but run files next to it."""
    from rnn_spark import fs
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    if "config.toml" not in names or any(n not in _RUN_ENTRIES and not n.startswith(".")
                                         for n in names):
        return False
    try:
        saved = tomllib.loads(fs.read_text(fs.join(uri, "config.toml")))
    except (fs.FsError, OSError, ValueError):
        return False
    return isinstance(saved.get("train"), dict) and "run_dir" in saved["train"]


def _old_export(uri: str, names: list[str]) -> bool:
    from rnn_spark import fs
    visible = {n for n in names if not n.startswith(".")}
    return ("model.json" in visible and visible <= _OLD_EXPORT_FILES
            and bool(visible & {"model.pt", "model.npz", "model.onnx"})
            and _json_field(fs.join(uri, "model.json"), "format") == OLD_EXPORT_FORMAT)


def kind_of(uri: str, names: list[str] | None = None) -> str | None:
    """The kind of rnn-spark directory ``uri`` is (see the module doc), or None: not a directory,
    or nothing rnn-spark made. ``names``: its entries, when the caller listed them already."""
    from rnn_spark import fs
    if names is None:
        try:
            if not fs.isdir(uri):
                return None
            names = [fs.basename(u.rstrip("/")) for u in fs.ls(uri)]
        except (fs.FsError, OSError):
            return None
    if RUN_MARKER in names:
        return RUN
    if EXPORT_MARKER in names:
        return EXPORT
    for side in (PREDICTIONS_MANIFEST, OLD_PREDICTIONS_MANIFEST):
        if side in names and _json_field(fs.join(uri, side), "format") == PREDICTIONS_FORMAT:
            return PREDICTIONS
    if DATASET_MANIFEST in names and _json_field(
            fs.join(uri, DATASET_MANIFEST), "format") == DATASET_FORMAT:
        return DATASET
    if (_MODEL_FILES & set(names) and {"meta.json", "model.json"} & set(names)) or (
            "model.json" in names
            and _json_field(fs.join(uri, "model.json"), "format") in _MODEL_FORMATS):
        return MODEL
    if _old_run_dir(uri, names):
        return RUN
    if _old_export(uri, names):
        return EXPORT
    return None
