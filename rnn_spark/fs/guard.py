"""The ``--overwrite`` rule: replace only what rnn-spark made, never an input, never user files.

:func:`check_output` is called before anything is created or deleted. It decides, from the
output path, the inputs and the ``--overwrite`` flag, whether the command may go ahead, and
raises a one-line :class:`~rnn_spark.errors.UserError` (exit code 2) when it may not:

1. The output must not equal, contain or lie inside any input (compared as normalised absolute
   URIs: local paths with symlinks resolved; ``hdfs://``, ``webhdfs://`` and ``swebhdfs://`` as
   one namespace per NameNode host, ``hdfs:///path`` matching any host).
2. A filesystem root or the working directory is never an output.
3. An existing output that is not an empty directory needs ``--overwrite``.
4. ``--overwrite`` replaces only an empty directory or a directory rnn-spark made, recognised by
   one of its ``marker_files`` directly inside it (a dataset: ``manifest.json``; a run
   directory: ``config.toml`` and/or ``checkpoints/`` -- callers may add a dedicated marker file
   to the tuple they pass). A file, or a directory without a marker, is refused.

Nothing is touched here; the caller then writes through :func:`rnn_spark.fs.staging_dir` with
``overwrite=check_output(...)`` so the old output is swapped out only when the new one is complete.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass

from rnn_spark.errors import UserError

from .errors import FsNotFound
from .uri import authority, split

DATASET_MARKERS: tuple[str, ...] = ("manifest.json",)
RUN_DIR_MARKERS: tuple[str, ...] = ("config.toml", "checkpoints")


@dataclass(frozen=True)
class _Loc:
    remote: bool
    host: str     # NameNode host ('' = the configured default, matches any host)
    path: str     # normalised absolute path


def _loc(uri: str) -> _Loc:
    sch, _, path = split(uri)
    if sch == "file":
        return _Loc(False, "", os.path.realpath(path))
    host = authority(uri).rpartition("@")[2].partition(":")[0].lower()
    return _Loc(True, host, posixpath.normpath(path) or "/")


def _inside(a: _Loc, b: _Loc) -> bool:
    """``a`` is ``b`` or lies below it (on a filesystem they may share)."""
    if a.remote != b.remote or (a.host and b.host and a.host != b.host):
        return False
    base = b.path.rstrip("/")
    return a.path == b.path or a.path.startswith(base + "/")


def _entries(uri: str) -> list[str] | None:
    """Names directly inside directory ``uri``; None if it is not a directory."""
    from rnn_spark import fs
    if not fs.isdir(uri):
        return None
    return [fs.basename(u) for u in fs.ls(uri)]


def check_output(out: str, inputs: Sequence[str] = (), *, overwrite: bool, kind: str = "dataset",
                 what_flag: str = "--out",
                 marker_files: Sequence[str] = DATASET_MARKERS,
                 error: type[UserError] = UserError) -> bool:
    """Apply the ``--overwrite`` rule (see the module doc) to ``out``; touch nothing.

    ``inputs``: every input path (files and directories: expand globs first). ``kind``: what
    the output is, for messages ("dataset", "run directory"). ``what_flag``: the option naming
    ``out`` ("--out", "--run-dir"). ``marker_files``: names whose presence directly inside an
    existing ``out`` proves rnn-spark made it. ``error``: the UserError subclass to raise
    (ingest raises DataError, as it always has for an existing output).

    Returns True when ``out`` exists and is to be replaced (pass it as ``overwrite`` to
    :func:`rnn_spark.fs.staging_dir`), False when ``out`` does not exist yet.
    Raises :class:`~rnn_spark.errors.UserError` (one line) when the command must not run.
    """
    from rnn_spark import fs

    target = _loc(out)
    if target.path in ("/", "") or (not target.remote and target.path == os.path.realpath(".")):
        raise error(f"{out}: {what_flag} is a filesystem root or the working directory; "
                        f"name a new directory for the {kind}")
    for inp in inputs:
        src = _loc(inp)
        if _inside(target, src) and target.path == src.path:
            raise error(f"{out}: {what_flag} is the input {inp}; choose a {what_flag} that "
                            "is not an input (nothing was changed)")
        if _inside(target, src):
            raise error(f"{out}: {what_flag} lies inside the input {inp}; choose a "
                            f"{what_flag} outside the inputs (nothing was changed)")
        if _inside(src, target):
            raise error(f"{out}: {what_flag} contains the input {inp}; choose a "
                            f"{what_flag} outside the inputs (nothing was changed)")
    try:
        names = _entries(out)
        exists = names is not None or fs.exists(out)
    except FsNotFound:
        return False
    if not exists:
        return False
    if names == []:
        return True  # an empty directory: nothing of the user's is lost
    if not overwrite:
        raise error(f"{out}: output already exists; pass --overwrite to replace it")
    rule = (f"--overwrite replaces only a {kind} rnn-spark made (one holding "
            f"{' or '.join(marker_files)}) or an empty directory")
    if names is None:
        raise error(f"{out}: is a file, not a {kind}; {rule}; choose another {what_flag} "
                        "(nothing was changed)")
    if not any(m in names for m in marker_files):
        raise error(f"{out}: holds files that are not a {kind} rnn-spark made; {rule}; "
                        f"choose another {what_flag} or empty it yourself (nothing was changed)")
    return True
