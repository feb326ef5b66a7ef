"""Glob and recursive listing on top of any backend's ``list_entries``.

Pattern syntax (per path component, like POSIX glob): ``*`` ``?`` ``[abc]`` ``[!abc]``, and a whole
component ``**`` matching zero or more directories. Wildcards do not match a leading ``.`` unless the
pattern component starts with ``.`` (so in-progress temp files of :func:`atomic_write` are skipped).
"""

import fnmatch
import re

from .errors import FsError, FsNotFound
from .uri import join, split

_MAGIC = re.compile(r"[*?\[]")


def has_magic(s):
    return _MAGIC.search(s) is not None


def _match(name, pat):
    if name.startswith(".") and not pat.startswith("."):
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


def _all_dirs(backend, uri):
    """``uri`` and every directory below it (hidden ones excluded), depth first."""
    out = [uri]
    for name, is_dir in sorted(_entries(backend, uri)):
        if is_dir and not name.startswith("."):
            out.extend(_all_dirs(backend, join(uri, name)))
    return out


def glob(backend, pattern):
    """Sorted list of existing URIs matching ``pattern`` (same style as the pattern)."""
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
                    nxt.extend((join(d, n), False) for n, dd in _entries(backend, d)
                               if not dd and not n.startswith("."))
        elif has_magic(comp):
            for uri, is_dir in current:
                if is_dir is False:
                    continue
                nxt.extend((join(uri, n), d) for n, d in _entries(backend, uri) if _match(n, comp))
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


def walk_files(backend, uri, include_hidden=False):
    """Sorted URIs of every file below directory ``uri`` (recursively).

    Names starting with ``.`` or ``_`` (temp files, ``_SUCCESS`` markers; Hadoop's hidden-file rule)
    are skipped unless ``include_hidden``. A file ``uri`` gives ``[uri]``.
    """
    info = backend.info(uri)
    if info["type"] == "file":
        return [uri]
    out = []
    stack = [uri]
    while stack:
        d = stack.pop()
        for name, is_dir in backend.list_entries(d):
            if not include_hidden and name[:1] in (".", "_"):
                continue
            child = join(d, name)
            (stack.append if is_dir else out.append)(child)
    return sorted(out)
