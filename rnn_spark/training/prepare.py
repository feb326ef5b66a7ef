"""Checks a run makes before it creates anything, and the run directory's own marker.

* `check_run_dir`: the run directory must not be, contain or lie inside the dataset; an existing
  one is used (or, with --overwrite, replaced) only if rnn-spark made it -- it holds the marker
  RUN/.rnn-spark-run, or is a first-release run directory (a config.toml that reads as an rnn-spark
  configuration, next to nothing but run files) -- or if it is empty; never inside another
  rnn-spark directory (RUN/model, a dataset, an export). Uses fs/guard.py's rule (fs/kinds.py).
* `val_units`: which validation split a run uses (an unknown --val-split is refused; the default
  "val" missing just means no validation, said in one line).
* `check_rows`: enough training rows for the workers.
* `check_model`: the model keys against the dataset (bidirectional: not for a language model,
  and whole sequences -- k1 at least the longest training sequence; embedding dropout: tokens).
* `check_result`: a worker's loss or weights turned NaN/Inf -> stop (error naming round and worker)
  or skip_worker (drop the result, warn), per train.on_nonfinite.

Nothing here writes, except `create_run_dir` (which runs after every check has passed).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Callable

import numpy as np

from rnn_spark import __version__, fs
from rnn_spark.config import Config, key_name
from rnn_spark.data.reader import ShardReader
from rnn_spark.errors import ConfigError, UserError
from rnn_spark.fs.guard import check_output
from rnn_spark.fs.kinds import RUN, RUN_MARKER
from rnn_spark.training.protocol import TaskResult
from rnn_spark.training.rundir import RunDir


def check_run_dir(run: RunDir, cfg: Config, overwrite: bool) -> bool:
    """Whether the run directory is to be replaced (True) or used as it is (False); one-line
    UserError when it may be neither. Touches nothing."""
    if overwrite and cfg.train.resume != "no":
        raise UserError(f"--overwrite and --resume contradict each other: --overwrite deletes "
                        f"{run}'s checkpoints, --resume continues from them; give one")
    try:
        return check_output(run.uri, [cfg.data.path], overwrite=True, kind=RUN,
                            what_flag="--run-dir") and overwrite
    except UserError as exc:
        if overwrite:
            raise
        # without --overwrite an existing run directory is continued, never replaced: say that
        msg = str(exc).replace("--overwrite replaces only", "training writes only into")
        raise UserError(msg) from None


def create_run_dir(run: RunDir, replace: bool) -> None:
    """Make the run directory (after every check has passed); with `replace`, delete the old one."""
    if replace:
        fs.rm(run.uri, recursive=True, missing_ok=True)
    run.create()
    marker = fs.join(run.uri, RUN_MARKER)
    if not fs.exists(marker):
        fs.write_text(marker, json.dumps({"rnn_spark_run": 1, "version": __version__}) + "\n")


def val_units(cfg: Config, manifest, say: Callable[[str], None]) -> list:
    """The validation work units: [] when validation is off."""
    split = cfg.data.val_split
    if not split:
        return []
    if split not in manifest.splits:
        if split == "val":  # the default: a dataset without a validation split trains without it
            say(f"no validation: {cfg.data.path} has no 'val' split")
            return []
        raise ConfigError(f"data.val_split (--val-split) {split!r}: {cfg.data.path} has no such "
                          f"split (has: {', '.join(manifest.splits)}; \"\" = no validation)")
    return manifest.work_units(split)


def check_rows(cfg: Config, rows: int, warn: Callable[[str], None]) -> None:
    """Refuse more workers than there are minibatches of rows; say so when a round is not full."""
    t = cfg.train
    split = cfg.data.train_split
    if rows < t.workers * t.batch_size:
        raise ConfigError(f"train.workers (--workers) = {t.workers}: the {split!r} split has "
                          f"{rows} rows, fewer than one minibatch ({t.batch_size} rows) per worker; "
                          f"use at most --workers {max(1, rows // t.batch_size)} or a smaller "
                          f"--batch-size")
    full = t.workers * t.steps_per_round * t.batch_size
    if rows < full:
        warn(f"the {split!r} split has {rows} rows, fewer than one full round ({t.workers} workers "
             f"x {t.steps_per_round} minibatches x {t.batch_size} rows = {full}): every round "
             f"trains on all rows, about {rows // t.workers} per worker")


def longest_sequence(units: list) -> int:
    """The most input time steps of any row of the units (reads only their length column)."""
    with ShardReader(cache_row_groups=0) as reader:
        return max((int(reader.read_lengths(u).max()) for u in units if u.rows), default=0)


def check_model(cfg: Config, manifest, units: list) -> None:
    """The model keys that depend on the dataset; one-line ConfigError, nothing touched."""
    m, where = cfg.model, cfg.data.path
    if m.embedding_dropout and manifest.kind != "tokens":
        raise ConfigError(f"{key_name('model.embedding_dropout')} drops token embeddings, but "
                          f"{where} holds dense features; use {key_name('model.dropout')}")
    if not m.bidirectional:
        return
    if manifest.task == "lm":
        raise ConfigError(f"{key_name('model.bidirectional')} cannot train a language model "
                          f"({where} has task lm): its reverse direction would read the tokens "
                          f"it must predict; leave it off")
    longest = longest_sequence(units)
    if longest > cfg.train.k1:
        raise ConfigError(f"{key_name('model.bidirectional')} needs whole sequences, but "
                          f"{key_name('train.k1')} = {cfg.train.k1} would cut the longest "
                          f"{cfg.data.train_split!r} sequence of {where} ({longest} steps); "
                          f"set --k1 {longest}")


def nonfinite(res) -> str | None:
    """What in a task's result turned NaN/Inf (its loss, its weights), or None."""
    bad = []
    if not np.isfinite(float(res.loss_sum)):
        bad.append(f"loss {float(res.loss_sum)}")
    w = res.weights
    if w is not None and not np.all(np.isfinite(w)):
        bad.append("weights hold NaN/Inf")
    return ", ".join(bad) or None


def neutral_result(res: TaskResult, start_weights: np.ndarray) -> TaskResult:
    """A stand-in for a dropped result that trained on nothing: it adds exact zeros to the sums."""
    opt = {k: np.zeros_like(v) for k, v in res.opt_state.items()} if res.opt_state else None
    return dataclasses.replace(res, n=0, loss_sum=0.0, updates=0, rows=0,
                              weights=start_weights, opt_state=opt)


def report_nonfinite(worker: int, what: str, rnd: int, policy: str, run: RunDir,
                     warn: Callable[[str], None]) -> None:
    """Worker `worker`'s result held NaN/Inf (`what`): warn (skip_worker) or stop (UserError)."""
    who = f"round {rnd}, worker {worker}"
    if policy == "skip_worker":
        warn(f"{who}: result dropped ({what}; train.on_nonfinite = skip_worker)")
        return
    raise UserError(f"{who}: training diverged ({what}); stopped, the checkpoints in "
                    f"{run.checkpoints} are intact; lower --lr, set --clip-norm, or pass "
                    f"--on-nonfinite skip_worker to drop such results")


def check_result(res: TaskResult, rnd: int, policy: str, run: RunDir,
                 warn: Callable[[str], None], start_weights: np.ndarray) -> TaskResult:
    """The result to fold in: `res` itself, or (skip_worker) a neutral stand-in that trained on
    nothing -- the round's sums still get one part per worker, in their fixed order."""
    what = nonfinite(res)
    if what is None:
        return res
    report_nonfinite(res.worker, what, rnd, policy, run, warn)
    return neutral_result(res, start_weights)
