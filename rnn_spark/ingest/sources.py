"""Ingest inputs: paths, globs and directories -> the sorted list of input files, and reading one."""

from __future__ import annotations

import os
from dataclasses import dataclass

from rnn_spark import fs
from rnn_spark.errors import DataError

_GLOB_CHARS = "*?["


@dataclass(frozen=True)
class Inputs:
    """What the sources named: ``files`` (sorted ``{"uri", "bytes"}`` dicts, as the manifest
    records them) and ``paths`` (every file and directory they name or match, for the
    overwrite guard)."""

    files: list[dict]
    paths: list[str]


def _as_list(sources) -> list[str]:
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    return [os.fspath(s) for s in sources]


def find_inputs(sources) -> Inputs:
    """Expand paths, globs and directories (errors name the source that found nothing)."""
    found, named = set(), []
    for src in _as_list(sources):
        if any(c in src for c in _GLOB_CHARS):
            matches = fs.glob(src)
            if not matches:
                raise DataError(f"{src}: no file matches this pattern; check the path")
            named += matches
            found.update(m for m in matches if not fs.isdir(m))
        elif not fs.exists(src):
            raise DataError(f"{src}: input not found; check the path")
        elif fs.isdir(src):
            files = fs.walk_files(src)
            if not files:
                raise DataError(f"{src}: directory holds no input files")
            named.append(src)
            found.update(files)
        else:
            named.append(src)
            found.add(src)
    if not found:
        raise DataError("no input files given")
    files = [{"uri": uri, "bytes": int(fs.info(uri)["size"])} for uri in sorted(found)]
    return Inputs(files, sorted(set(named) | found))


def resolve_sources(sources) -> list[dict]:
    """Expand paths, globs and directories to a sorted list of ``{"uri", "bytes"}``."""
    return find_inputs(sources).files


def read_source(uri: str) -> bytes:
    """Whole input file as bytes (naming it in errors)."""
    try:
        return fs.read_bytes(uri)
    except fs.FsNotFound:
        raise DataError(f"{uri}: input not found (was it removed during the ingest?)") from None
