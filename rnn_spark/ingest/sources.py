"""Ingest inputs: paths, globs and directories -> the sorted list of input files, and reading one.

Which files are read (one rule for every ingest kind and for ``predict --input``):

* A name that is a file is read, whatever its name. A glob is expanded first and each match is
  taken as if it had been named.
* A directory is read recursively, skipping *hidden* names (:func:`rnn_spark.fs.is_hidden`):
  names starting with ``.`` and the markers Hadoop and Spark write beside their output
  (``_SUCCESS``, ``_temporary``, ``_metadata``, ...). Every other name is read, ``__init__.py``
  and ``_part-0.csv`` included. A glob's wildcards skip hidden names the same way, unless the
  pattern component starts with ``.`` or ``_``. :class:`Inputs` lists what was skipped.
* One file is read once however many names reach it (twice on the command line, a glob and a
  directory, ``./x`` and ``/abs/x``, a symbolic or hard link): local files are compared by
  device and inode, ``hdfs://`` files by normalised path and the NameNode serving them
  (``hdfs:///p`` = ``hdfs://nn:8020/p``). The name kept is one that is not a symbolic link and
  has no ``//``, ``.`` or ``..`` if there is one, else the first in sorted order.
* An rnn-spark dataset (a directory whose ``manifest.json`` says so) is not raw input: refused.

Different files with the same bytes stay two inputs (a copy may be deliberate);
:func:`identical_content` finds them so the pipeline can warn.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from dataclasses import dataclass

from rnn_spark import fs
from rnn_spark.data.manifest import MANIFEST_NAME
from rnn_spark.data.schema import FORMAT
from rnn_spark.errors import DataError
from rnn_spark.fs.hdfs_config import resolve
from rnn_spark.fs.uri import authority

_GLOB_CHARS = "*?["
_SHARD_RE = re.compile(r"/(?:train|val)/\d{3}/part-\d{5}\.parquet$")  # data/shards.shard_path
_SAMPLE = 1 << 16  # bytes hashed at each end of same-size files before hashing them whole


@dataclass(frozen=True)
class Inputs:
    """What the sources named: ``files`` (sorted ``{"uri", "bytes"}`` dicts, as the manifest
    records them), ``paths`` (every file and directory they name or match, for the overwrite
    guard), ``hidden`` (hidden names skipped, sorted) and ``same_file`` (``(name, kept name)``
    for every name of a file that is read under another name)."""

    files: list[dict]
    paths: list[str]
    hidden: tuple[str, ...] = ()
    same_file: tuple[tuple[str, str], ...] = ()

    def notes(self) -> list[str]:
        """What was skipped or merged, one line each (empty when nothing was)."""
        out = []
        if self.hidden:
            out.append(f"skipped {len(self.hidden)} hidden name(s) {_shown(self.hidden)}: names "
                       "starting with '.' and Hadoop/Spark markers are not read; name a file to "
                       "read it")
        if self.same_file:
            name, kept = self.same_file[0]
            out.append(f"read once: {len(self.same_file)} name(s) are the same file as another "
                       f"input ({name} is {kept}{', ...' if len(self.same_file) > 1 else ''})")
        return out


def _shown(uris) -> str:
    """``(a, b, c, ...) under DIR`` when they share a directory, else the first URIs."""
    more = ", ..." if len(uris) > 3 else ""
    parents = {fs.parent(u) for u in uris}
    if len(parents) == 1:
        return f"({', '.join(fs.basename(u) for u in uris[:3])}{more}) under {parents.pop()}"
    return f"({', '.join(uris[:3])}{more})"


def _hidden_hint(hidden) -> str:
    n, names = len(hidden), ", ".join(fs.basename(h) for h in hidden[:3])
    return (f"{n} hidden name{'s' if n != 1 else ''} skipped: {names}"
            f"{', ...' if n > 3 else ''}; name a hidden file to read it")


def _as_list(sources) -> list[str]:
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    return [os.fspath(s) for s in sources]


def _expand(src: str, hidden: list) -> tuple[list[str], list[str]]:
    """(names, files) of one source: the matches of a glob or the source itself, and the files
    they hold (directories walked); raises when the source holds no file."""
    skipped: list[str] = []
    if any(c in src for c in _GLOB_CHARS):
        names = fs.glob(src, skipped=skipped)
    elif not fs.exists(src):
        raise DataError(f"{src}: input not found; check the path")
    else:
        names = [src]
    files, walked = [], set()
    for name in names:
        if not fs.isdir(name):
            files.append(name)
        elif not _inside(name, walked):  # a glob's match below a directory walked already
            walked.add(name)
            files += fs.walk_files(name, skipped=skipped)
    hidden += skipped
    if not files:
        hint = f" ({_hidden_hint(sorted(set(skipped)))})" if skipped else ""
        if names == [src]:
            raise DataError(f"{src}: directory holds no input files{hint}")
        raise DataError(f"{src}: no file matches this pattern{hint or '; check the path'}")
    return names, files


def _inside(uri: str, dirs: set) -> bool:
    """``uri`` is one of ``dirs`` or lies below one (same spelling)."""
    while uri not in dirs:
        up = fs.parent(uri)
        if up == uri:
            return False
        uri = up
    return True


def _identity(uri: str) -> tuple:
    """What makes two names one file: (device, inode) locally; on HDFS the NameNode's WebHDFS
    address (so ``hdfs:///p``, ``hdfs://nn:8020/p`` and ``webhdfs://nn:9870/p`` agree) and
    the normalised path."""
    sch, _, path = fs.split(uri)
    if sch == "file":
        try:
            st = os.stat(path)
            return ("file", st.st_dev, st.st_ino)
        except OSError:
            return ("file", os.path.realpath(path))
    try:
        ep = resolve(uri)
        where = tuple(sorted(ep.urls)) or (ep.alias,)
    except fs.FsError:
        where = (authority(uri).rpartition("@")[2].partition(":")[0].lower(),)
    return ("hdfs", where, posixpath.normpath(path))


def _preference(uri: str) -> tuple:
    """Which name of a file to keep: not a symbolic link, then written plainly (no ``//``,
    ``.`` or ``..``), then the first in sorted order."""
    sch, _, path = fs.split(uri)
    link = sch == "file" and os.path.realpath(path) != os.path.abspath(path)
    return link, posixpath.normpath(path) != path, uri


def _one_name_each(uris: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """Sorted ``uris`` with one name per file or directory; ``(other name, kept name)`` pairs."""
    groups: dict[tuple, list[str]] = {}
    for u in uris:
        groups.setdefault(_identity(u), []).append(u)
    kept, same = [], []
    for names in groups.values():
        keep = names[0] if len(names) == 1 else min(names, key=_preference)
        kept.append(keep)
        same += [(u, keep) for u in names if u != keep]
    return sorted(kept), sorted(same)


def _is_dataset(root: str) -> bool:
    try:
        data = json.loads(fs.read_bytes(fs.join(root, MANIFEST_NAME)))
    except (fs.FsError, ValueError):
        return False
    return isinstance(data, dict) and data.get("format") == FORMAT


def _refuse_datasets(uris: list[str]) -> None:
    """An input file that is a dataset's manifest or shard: the user gave a dataset."""
    roots = set()
    for u in uris:
        if fs.basename(u) == MANIFEST_NAME:
            roots.add(fs.parent(u))
        elif _SHARD_RE.search(fs.split(u)[2]):
            roots.add(fs.parent(fs.parent(fs.parent(u))))
    for root in sorted(roots):
        if _is_dataset(root):
            raise DataError(f"{root}: is an rnn-spark dataset (holds {MANIFEST_NAME}), not raw "
                            f"input; use it as --data {root} (train, evaluate, predict), or give "
                            "the raw files it was made from")


def find_inputs(sources) -> Inputs:
    """Expand paths, globs and directories (errors name the source that found nothing)."""
    found, named, hidden = set(), [], []
    for src in _as_list(sources):
        names, files = _expand(src, hidden)
        named += names
        found.update(files)
    if not found:
        raise DataError("no input files given")
    uris, same = _one_name_each(sorted(found))
    _refuse_datasets(uris)
    files = [{"uri": uri, "bytes": int(fs.info(uri)["size"])} for uri in uris]
    hidden = _one_name_each(sorted(set(hidden)))[0]
    return Inputs(files, sorted(set(named) | found), tuple(hidden), tuple(same))


def resolve_sources(sources) -> list[dict]:
    """Expand paths, globs and directories to a sorted list of ``{"uri", "bytes"}``."""
    return find_inputs(sources).files


def _digest(uri: str, size: int, whole: bool) -> bytes:
    """sha256 of the file, or of its first and last ``_SAMPLE`` bytes."""
    h = hashlib.sha256()
    try:
        with fs.open_read(uri) as f:
            if whole or size <= 2 * _SAMPLE:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            else:
                h.update(f.read(_SAMPLE))
                f.seek(size - _SAMPLE)
                h.update(f.read(_SAMPLE))
    except fs.FsNotFound:
        raise DataError(f"{uri}: input not found (was it removed during the ingest?)") from None
    return h.digest()


def _split_by(uris: list[str], key) -> list[list[str]]:
    groups: dict = {}
    for u in uris:
        groups.setdefault(key(u), []).append(u)
    return [g for g in groups.values() if len(g) > 1]


def identical_content(files: list[dict]) -> list[tuple[str, str]]:
    """``(copy, first)`` for every non-empty input whose bytes equal an earlier input's.

    Only files of equal size are read: first their ends, then, if those agree, the whole file.
    """
    by_size: dict[int, list[str]] = {}
    for f in files:
        if f["bytes"] > 0:
            by_size.setdefault(f["bytes"], []).append(f["uri"])
    order = {f["uri"]: i for i, f in enumerate(files)}
    pairs = []
    for size, uris in by_size.items():
        for g in _split_by(uris, lambda u: _digest(u, size, False)) if len(uris) > 1 else ():
            if size > 2 * _SAMPLE:
                groups = _split_by(g, lambda u: _digest(u, size, True))
            else:
                groups = [g]
            pairs += [(u, grp[0]) for grp in groups for u in grp[1:]]
    return sorted(pairs, key=lambda p: order[p[0]])


def read_source(uri: str) -> bytes:
    """Whole input file as bytes (naming it in errors)."""
    try:
        return fs.read_bytes(uri)
    except fs.FsNotFound:
        raise DataError(f"{uri}: input not found (was it removed during the ingest?)") from None
