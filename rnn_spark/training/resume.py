"""Where a run starts: from scratch, or from the newest intact checkpoint of the same configuration.

`resume_point()` applies train.resume (no | yes | auto) to what the run directory holds:

* no checkpoints: start at round 0 (yes says "nothing to resume", auto notes it);
* checkpoints and resume = no: refused (pass --resume, or --overwrite to start over);
* damaged checkpoints (checksums, unreadable files): said in one line, and the newest intact one
  is used; none intact: refused;
* the checkpoint's saved configuration is compared with this one: keys that may safely change
  (SAFE_KEYS: run length, cadences, runner, Spark settings, progress and trackers) are allowed,
  the others are listed in one line and refused; a change that moves the learning-rate schedule
  (cosine spanning the planned run) is allowed with a warning. (The configuration itself starts
  from the run's config.toml under --resume: training/runconfig.py.)

`interrupted_line()` is what a Ctrl-C says: where the run stands, the command that continues it.
`app_attempt()` tells a YARN application re-attempt (its driver then resumes by itself).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
from dataclasses import dataclass
from typing import Any

from rnn_spark import fs
from rnn_spark.config import Config, key_name
from rnn_spark.data.compat import mismatch
from rnn_spark.errors import ConfigError, UserError
from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.rundir import RunDir

# Keys a resumed run may change: how long it runs, how often it reports, where it runs, what it
# shows and logs. Everything else defines the model, the data, the plan of rounds or the
# arithmetic, and must stay the same.
SAFE_KEYS = frozenset({
    "train.epochs", "train.max_rounds", "train.validate_every", "train.checkpoint_every",
    "train.keep_checkpoints", "train.resume", "train.runner", "train.run_dir",
    "train.on_nonfinite", "train.verify_data", "train.reduce",
    "train.progress_seconds", "train.metrics_flush_seconds", "train.tensorboard_dir",
    "train.mlflow", "train.mlflow_uri", "train.mlflow_experiment",
    "data.path",         # the dataset itself is compared by content (dataset_fingerprint)
    "optim.total_steps",  # compared as the schedule length it gives (warning, not refusal)
})
SAFE_SECTIONS = frozenset({"spark"})


@dataclass(frozen=True)
class ResumePoint:
    """What the run starts from: a verified checkpoint (or None = round 0) and the lines to say."""

    checkpoint: ckpt.Checkpoint | None
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def start(self) -> int:
        return 0 if self.checkpoint is None else self.checkpoint.round + 1


def dataset_fingerprint(manifest) -> str:
    """The identity of a dataset's content (training shards' hashes, vocabulary, statistics,
    model-facing fields), whatever path it is read from."""
    ident = {"fields": manifest.model_fields(), "vocab": manifest.vocab_info,
             "stats": manifest.stats,
             "train": [[s["path"], s["sha256"]] for s in manifest.data["splits"]["train"]["shards"]]
             if "train" in manifest.data.get("splits", {}) else []}
    if manifest.steps_info is not None:  # a table dataset: its categorical vocabularies too
        ident["steps"] = manifest.steps_info
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()


def _flat(d: dict) -> dict[str, Any]:
    return {f"{s}.{k}": v for s, values in d.items() if isinstance(values, dict)
            for k, v in values.items()}


def _normalised(saved: dict) -> dict[str, Any]:
    """A saved configuration as this release reads it (old spellings coerced, e.g. resume=true)."""
    cfg, raw = Config(), _flat(saved)
    for key, value in raw.items():
        try:
            cfg.set(key, value, source="checkpoint")
        except ConfigError:
            pass  # a key this release does not know: kept as saved, compared below
    return {**raw, **_flat(cfg.to_dict())}


def config_changes(saved: dict, cfg: Config) -> list[tuple[str, Any, Any]]:
    """(key, saved value, new value) of every key that differs and may not change on resume."""
    old, new = _normalised(saved), _flat(cfg.to_dict())
    out = []
    for key in sorted(set(old) | set(new)):
        if key in SAFE_KEYS or key.split(".")[0] in SAFE_SECTIONS:
            continue
        if old.get(key) != new.get(key):
            out.append((key, old.get(key), new.get(key)))
    return out


def _show(v: Any) -> str:
    if isinstance(v, list):
        return ",".join(map(str, v))
    return "(unset)" if v is None else str(v)


def _saved_total_steps(meta: dict) -> int | None:
    if "total_steps" in meta:
        return int(meta["total_steps"])
    try:  # first-release checkpoints: derive it the way that release did
        t = meta["config"]["train"]
        steps = int(meta["config"]["optim"].get("total_steps", 0))
        rounds = int(t["epochs"]) * int(meta["rounds_per_epoch"])
        if int(t.get("max_rounds", 0)):
            rounds = min(rounds, int(t["max_rounds"]))
        return steps or rounds * int(t["steps_per_round"])
    except (KeyError, TypeError, ValueError):
        return None


def _dataset_change(ck: ckpt.Checkpoint, manifest, path: str) -> str:
    """How the dataset at ``path`` differs from the one the checkpoint was trained on, as far as
    its model.json tells (vocabulary, statistics), else "other content"."""
    info = ck.info or {}
    differs = mismatch(info.get("vocab"), info.get("stats"), manifest.vocab_info, manifest.stats,
                       "this dataset", model_name="the run", model_steps=info.get("steps"),
                       data_steps=manifest.steps_info)
    return f"{path} ({differs or 'other content'})"


def check_same_run(ck: ckpt.Checkpoint, cfg: Config, manifest,
                   total_steps: int) -> tuple[str, ...]:
    """Refuse (one line) a resume whose configuration or dataset differs where it matters;
    return warnings."""
    meta = ck.meta
    changes = config_changes(meta.get("config", {}), cfg)
    saved_fp = meta.get("dataset_fingerprint")
    if saved_fp is not None and saved_fp != dataset_fingerprint(manifest):
        changes.insert(0, ("dataset", meta.get("config", {}).get("data", {}).get("path"),
                           _dataset_change(ck, manifest, cfg.data.path)))
    elif saved_fp is None:  # first-release checkpoint: all we know is the path
        old_path = meta.get("config", {}).get("data", {}).get("path")
        if old_path is not None and old_path != cfg.data.path:
            changes.insert(0, ("data.path", old_path, cfg.data.path))
    if changes:
        listed = "; ".join(f"{key_name(k) if '.' in k else k} {_show(a)} -> {_show(b)}"
                           for k, a, b in changes)
        raise UserError(f"{ck.uri}: cannot resume, the configuration differs from the "
                        f"checkpoint's: {listed}; undo these changes, or start a new run "
                        f"(another --run-dir, or --overwrite)")
    warnings = []
    old_steps = _saved_total_steps(meta)
    if cfg.optim.schedule == "cosine" and old_steps is not None and old_steps != total_steps:
        why = " (optim.total_steps = 0 follows the planned run)" if not cfg.optim.total_steps else ""
        warnings.append(f"the cosine learning-rate schedule now spans {total_steps} local steps "
                        f"instead of {old_steps}{why}; pass --total-steps {old_steps} to keep "
                        f"the old schedule")
    return tuple(warnings)


def resume_point(run: RunDir, cfg: Config, manifest, total_steps: int) -> ResumePoint:
    mode = cfg.train.resume
    found = ckpt.list_checkpoints(run)
    if not found:
        if mode == "yes":
            return ResumePoint(None, notes=(f"nothing to resume in {run} (no checkpoints): "
                                            f"starting a new run",))
        if mode == "auto":
            return ResumePoint(None, notes=(f"no checkpoints in {run} yet: starting a new run",))
        return ResumePoint(None)
    if mode == "no":
        raise UserError(f"{run}: holds checkpoints of an earlier run; pass --resume to continue "
                        f"it or --overwrite to start over")
    ck, damaged = ckpt.newest_intact(run)
    reasons = "; ".join(f"{d.name}: {d.reason}" for d in damaged)
    if ck is None:
        raise UserError(f"{run.checkpoints}: no intact checkpoint to resume from ({reasons}); "
                        f"start over with --overwrite or another --run-dir")
    notes = []
    if damaged:
        names = ", ".join(d.name for d in damaged)
        verb = "is" if len(damaged) == 1 else "are"
        why = "; ".join(d.reason for d in damaged) if len(damaged) == 1 else reasons
        notes.append(f"{names} {verb} damaged ({why}); resuming from {ck.name}")
    warnings = check_same_run(ck, cfg, manifest, total_steps)
    return ResumePoint(ck, tuple(notes), warnings)


def interrupted_line(run_dir: str, total: int, round_now: int | None, checkpoint: int | None,
                     rounds_done: bool, created: bool) -> str:
    """What a Ctrl-C says: where the run stands and the command that continues it."""
    again = f"rnn-spark train --run-dir {shlex.quote(run_dir)} --resume"
    if not created:
        return f"interrupted before the first round; {run_dir} was not changed"
    if rounds_done:
        where = f"after round {total}/{total}, while the model was written"
    elif round_now is None:
        where = "before the first round"
    else:
        where = f"in round {round_now + 1}/{total}"
    if checkpoint is None:
        return f"interrupted {where}, before the first checkpoint; start it again with: {again}"
    name = fs.basename(RunDir(run_dir).checkpoint(checkpoint))
    return (f"interrupted {where}; the newest checkpoint is {name} (rounds 1..{checkpoint + 1}); "
            f"continue with: {again}")


_CONTAINER = re.compile(r"container_(?:e\d+_)?\d+_\d+_(\d+)_\d+$")


def app_attempt(environ=None) -> int:
    """The YARN application attempt this process runs in (1 outside YARN): the NodeManager sets
    CONTAINER_ID=container_[eEPOCH_]CLUSTERTS_APPID_ATTEMPT_CONTAINER in every container, and a
    cluster-mode driver runs in the application master's container."""
    env = os.environ if environ is None else environ
    m = _CONTAINER.match(env.get("CONTAINER_ID", "").strip())
    return int(m.group(1)) if m else 1


def reattempt_args(argv: list[str]) -> list[str]:
    """`rnn-spark train` arguments for a re-attempt of the same application: the first attempt
    made (or replaced) the run directory, so this one continues it -- without --overwrite, with
    --resume auto (which starts fresh if the first attempt died before its first checkpoint)."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--resume" and i + 1 < len(argv) and argv[i + 1] in ("yes", "no", "auto"):
            i += 2
            continue
        if arg in ("--overwrite", "--resume", "--no-resume") or arg.startswith("--resume="):
            i += 1
            continue
        out.append(arg)
        i += 1
    return [*out, "--resume", "auto"]
