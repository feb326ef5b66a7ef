"""Glob and recursive listing on top of any backend's ``list_entries``.

Pattern syntax (per path component, like POSIX glob): ``*`` ``?`` ``[abc]`` ``[!abc]``, and a whole
component ``**`` matching zero or more directories.

One rule of *hidden* names for both (:func:`is_hidden`): a name starting with ``.`` (temp files of
:func:`atomic_write`, staging directories, ``.git``) or one of the bookkeeping names Hadoop and
Spark write beside their output (``_SUCCESS``, ``_temporary``, ``_metadata``, ...). Other names
starting with ``_`` (``__init__.py``) are ordinary names. A wildcard does not match a hidden name
unless the pattern component starts with the same character (``.*``, ``_*``), a recursive
listing skips hidden names, and both can report what they skipped (``skipped``: a list to
append the skipped URIs to).
"""

import fnmatch
import re

from .errors import FsError, FsNotFound
from .uri import join, split

_MAGIC = re.compile(r"[*?\[]")

# What Hadoop's output committers and Spark's writers leave beside the data files.
HADOOP_MARKERS = ("_SUCCESS", "_temporary", "_metadata", "_common_metadata",
                  "_spark_metadata")
_MARKER_PREFIXES = ("_committed_", "_started_")


def is_hidden(name):
    """True for names a listing skips: ``.name`` and Hadoop/Spark markers (``_SUCCESS``, ...)."""
    return name.startswith(".") or name in HADOOP_MARKERS or name.startswith(_MARKER_PREFIXES)


def has_magic(s):
    return _MAGIC.search(s) is not None


def _match(name, pat, skipped=None, uri=None):
    if is_hidden(name) and not pat.startswith(name[0]):
        if skipped is not None and fnmatch.fnmatchcase(name, pat):
            skipped.append(join(uri, name))
        return False
    return fnmatch.fnmatchcase(name, pat)


def _entries(backend, uri):
    try:
        return backend.list_entries(uri)
    except FsNotFound:
        return []
    except FsError:
        if not backend.isdir(uri):  # a file where the pattern wanted a directory
            return []
        raise


def _first_visit(backend, uri, seen):
    """False for a directory already walked under another name (a symlink to it, a loop)."""
    key = backend.dir_key(uri) if hasattr(backend, "dir_key") else None
    if key is None:
        return True
    if key in seen:
        return False
    seen.add(key)
    return True


def _all_dirs(backend, uri, seen=None):
    """``uri`` and every directory below it (hidden ones excluded), depth first, each directory
    once (under its first name in sorted order)."""
    seen = set() if seen is None else seen
    if not _first_visit(backend, uri, seen):
        return []
    out = [uri]
    for name, is_dir in sorted(_entries(backend, uri)):
        if is_dir and not is_hidden(name):
            out.extend(_all_dirs(backend, join(uri, name), seen))
    return out


def glob(backend, pattern, skipped=None):
    """Sorted list of existing URIs matching ``pattern`` (same style as the pattern).

    ``skipped``: a list; the hidden names the last component's wildcard would have matched (and,
    for a trailing ``**``, the hidden names below it) are appended to it."""
    sch, prefix, path = split(pattern)
    absolute = path.startswith("/")
    comps = [c for c in path.split("/") if c]
    if not any(has_magic(c) for c in comps):
        return [pattern] if backend.exists(pattern) else []
    i = 0
    while not has_magic(comps[i]):
        i += 1
    start = "/".join(comps[:i])
    base = prefix + ("/" if absolute else "") + start if (start or absolute) else prefix + "."
    # (name, is_dir or None for "unknown") candidates, walked component by component
    current = [(base, True)]
    for k, comp in enumerate(comps[i:]):
        last = k == len(comps) - i - 1
        nxt = []
        if comp == "**":
            for uri, is_dir in current:
                if is_dir is False:
                    continue
                dirs = _all_dirs(backend, uri)
                if not last:
                    nxt.extend((d, True) for d in dirs)
                    continue
                # a trailing "**" matches everything below (dirs and files), not the dir itself
                nxt.extend((d, True) for d in dirs[1:])
                for d in dirs:
                    for n, dd in _entries(backend, d):
                        if is_hidden(n):
                            if skipped is not None:
                                skipped.append(join(d, n))
                        elif not dd:
                            nxt.append((join(d, n), False))
        elif has_magic(comp):
            for uri, is_dir in current:
                if is_dir is False:
                    continue
                nxt.extend((join(uri, n), d) for n, d in _entries(backend, uri)
                           if _match(n, comp, skipped if last else None, uri))
        else:
            nxt = [(join(uri, comp), None) for uri, is_dir in current if is_dir is not False]
        current = nxt
    out = set()
    for uri, is_dir in current:
        if is_dir is None and not backend.exists(uri):
            continue
        out.add(_strip_dot(uri, base, start, absolute, prefix))
    return sorted(out)


def _strip_dot(uri, base, start, absolute, prefix):
    """Relative patterns without a literal head start at '.'; drop that './' again."""
    if not start and not absolute and not prefix and uri.startswith("./"):
        return uri[2:]
    return uri


def walk_files(backend, uri, include_hidden=False, skipped=None):
    """Sorted URIs of every file below directory ``uri`` (recursively).

    Hidden names (:func:`is_hidden`: ``.name``, ``_SUCCESS``, ``_temporary``, ...) are skipped
    unless ``include_hidden``; their URIs are appended to ``skipped`` if given (a hidden
    directory once, not its files). A directory reached twice (a symlink to it, a loop) is
    walked once, under its first name in sorted order. A file ``uri`` gives ``[uri]``.
    """
    info = backend.info(uri)
    if info["type"] == "file":
        return [uri]
    out, seen = [], set()
    stack = [uri]
    while stack:
        d = stack.pop()
        if not _first_visit(backend, d, seen):
            continue
        dirs = []
        for name, is_dir in sorted(backend.list_entries(d)):
            if not include_hidden and is_hidden(name):
                if skipped is not None:
                    skipped.append(join(d, name))
                continue
            child = join(d, name)
            (dirs.append if is_dir else out.append)(child)
        stack.extend(reversed(dirs))  # depth first in sorted order: the first name wins
    return sorted(out)
