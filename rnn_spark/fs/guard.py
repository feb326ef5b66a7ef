"""The ``--overwrite`` rule: replace only what rnn-spark made, never an input, never user files.

:func:`check_output` is called before anything is created or deleted. It decides, from the
output path, the inputs and the ``--overwrite`` flag, whether the command may go ahead, and
raises a one-line :class:`~rnn_spark.errors.UserError` (exit code 2) when it may not:

1. The output must not equal, contain or lie inside any input (compared as normalised absolute
   URIs: local paths with symlinks resolved; ``hdfs://``, ``webhdfs://`` and ``swebhdfs://`` as
   one namespace per NameNode host, ``hdfs:///path`` matching any host).
2. A filesystem root or the working directory is never an output.
3. The output never lies inside a directory rnn-spark made (:mod:`rnn_spark.fs.kinds`: a
   dataset, a run directory, a model or checkpoint, an export, predictions):
   ``--out RUN/model/x``, ``--out DATASET/train/000`` are refused (:func:`check_not_inside`).
4. An existing output is replaced only when it is an empty directory, or the same kind of
   rnn-spark directory the command writes (an export replaces an export, a dataset a dataset),
   recognised by that kind's own marker -- and then only with ``--overwrite``. A file, a
   directory of the user's, or rnn-spark's directory of another kind (a run's model/, best/ or a
   checkpoint under ``export --out``) is refused with or without ``--overwrite``.

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
from .kinds import DATASET, MARKERS, kind_of
from .uri import authority, split


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


def _ancestors(uri: str) -> list[str]:
    """The directories above ``uri``, nearest first, up to (not including) the root."""
    sch, prefix, _ = split(uri)
    loc = _loc(uri)
    out, path = [], loc.path
    mod = posixpath if loc.remote else os.path
    while True:
        up = mod.dirname(path.rstrip("/"))
        if not up or up == path or up in ("/", "."):
            return out
        out.append(up if sch == "file" else prefix + up)
        path = up


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def check_not_inside(out: str, kind: str, *, what_flag: str = "--out",
                     parent_may_be: str | None = None,
                     error: type[UserError] = UserError) -> None:
    """Refuse an ``out`` that lies inside a directory rnn-spark made (rule 3 of the module doc).
    ``parent_may_be``: the one kind of rnn-spark directory that may hold ``out`` directly (a
    report's page beside its run: RUN/report.html)."""
    for n, up in enumerate(_ancestors(out)):
        found = kind_of(up)
        if found is None or (n == 0 and found == parent_may_be):
            continue
        raise error(f"{out}: {what_flag} lies inside the {found} {up}; rnn-spark writes "
                    f"{_a(kind)} only outside its other outputs (datasets, runs, models, exports, "
                    f"predictions): choose a {what_flag} outside it (nothing was changed)")


def check_output(out: str, inputs: Sequence[str] = (), *, overwrite: bool, kind: str = DATASET,
                 what_flag: str = "--out", error: type[UserError] = UserError) -> bool:
    """Apply the ``--overwrite`` rule (see the module doc) to ``out``; touch nothing.

    ``inputs``: every input path (files and directories: expand globs first). ``kind``: what
    the output is, one of :mod:`rnn_spark.fs.kinds`' kinds (DATASET, RUN, EXPORT, PREDICTIONS):
    an existing ``out`` of that kind, recognised by its marker, is replaced. ``what_flag``: the
    option naming ``out`` ("--out", "--run-dir"). ``error``: the UserError subclass to raise
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
    check_not_inside(out, kind, what_flag=what_flag, error=error)
    try:
        names = _entries(out)
        exists = names is not None or fs.exists(out)
    except FsNotFound:
        return False
    if not exists:
        return False
    if names == []:
        return True  # an empty directory: nothing of the user's is lost
    rule = (f"--overwrite replaces only {_a(kind)} rnn-spark made (one holding "
            f"{MARKERS.get(kind, kind)}) or an empty directory")
    if names is None:
        raise error(f"{out}: is a file, not {_a(kind)}; {rule}; choose another {what_flag} "
                    "(nothing was changed)")
    found = kind_of(out, names)
    if found is None:
        raise error(f"{out}: holds files that are not {_a(kind)} rnn-spark made; {rule}; "
                    f"choose another {what_flag} or empty it yourself (nothing was changed)")
    if found != kind:
        raise error(f"{out}: is {_a(found)} rnn-spark made, not {_a(kind)}; {rule}; choose "
                    f"another {what_flag} (nothing was changed)")
    if not overwrite:
        raise error(f"{out}: output already exists; pass --overwrite to replace it")
    return True
