"""The configuration of `rnn-spark train --resume`: the run's own config.toml is the base.

    defaults < RUN/config.toml < --config files (in order) < --set < flags

so ``rnn-spark train --run-dir RUN --resume`` alone continues a run, and whatever is given now is a
change to it (training/resume.py then refuses the changes a resumed run may not make). Without
--resume the run directory is not read here. With --resume and --data, a directory that holds no
run yet starts one (train.resume = yes says so); without --data there is nothing to go on: one line.

Reads only: nothing is created or deleted here, whatever the outcome.
"""

from __future__ import annotations

from typing import Any

from rnn_spark import config, fs
from rnn_spark.config import Config, tomllib
from rnn_spark.errors import ConfigError, UserError
from rnn_spark.fs.kinds import RUN, RUN_MARKER, kind_of
from rnn_spark.training.rundir import RunDir


def resolve(files: list[str], overrides: dict[str, Any], strict: bool = True) -> Config:
    """The configuration of `train` (``strict``: --resume without --data needs a run) or of
    `config` (which shows what it can) for these --config files and overrides."""
    given = config.load(files, overrides, validate=False)
    if given.train.resume == "no":
        return given.validate()
    run = RunDir(given.train.run_dir)
    saved = saved_config(run, needed=strict and not given.data.path)
    if saved is None:
        return given.validate()
    cfg = config.load(files, overrides, base=saved, base_source=run.config, validate=False)
    cfg.train.run_dir = given.train.run_dir  # where it was found, whatever it says (a moved run)
    return cfg.validate()


def saved_config(run: RunDir, needed: bool) -> dict | None:
    """RUN/config.toml as a table, or None when ``run`` holds no run and the configuration given
    stands on its own (``needed`` False). One-line UserError for a damaged one, or for no run
    when it is ``needed``."""
    uri = run.uri
    start_new = "pass --data (and the model's flags) to start a new run there"
    if not fs.isdir(uri):
        if not needed:
            return None
        what = "is a file" if fs.exists(uri) else "does not exist"
        raise UserError(f"{uri}: {what}, so there is no run to resume; check --run-dir, or "
                        f"{start_new}")
    if kind_of(uri) != RUN:  # marked, or a first-release run directory
        if not needed:
            return None
        raise UserError(f"{uri}: not a run directory (no {RUN_MARKER} or config.toml), so there "
                        f"is nothing to resume; check --run-dir, or {start_new}")
    restore = ("restore it (every checkpoint's meta.json holds the run's configuration under "
               "\"config\"), or start a new run (another --run-dir, or --overwrite)")
    try:
        raw = fs.read_bytes(run.config)
    except fs.FsNotFound:
        if not needed:  # made, then stopped before its config.toml: there is no checkpoint either
            return None
        raise ConfigError(f"{run.config}: missing; --resume continues the run from it: "
                          f"{restore}") from None
    try:
        saved = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{run.config}: damaged (not valid TOML: {exc}); --resume continues "
                          f"the run from it: {restore}") from None
    return saved
