"""URI parsing and joining, independent of any backend.

Accepted forms: plain local paths (``data/x``, ``/abs/x``), ``file:///abs`` (also ``file:/abs`` and
``file://localhost/abs``), ``hdfs://host:port/path``, ``hdfs:///path`` (name node from the Hadoop
configuration), ``webhdfs://host:http-port/path`` and ``swebhdfs://host:https-port/path``.
Paths are taken literally (no percent-decoding), like Hadoop's ``Path``.
"""

import os
import re
import posixpath
import secrets

from .errors import FsError

_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+")

REMOTE_SCHEMES = ("hdfs", "webhdfs", "swebhdfs")
SCHEMES = ("file",) + REMOTE_SCHEMES


def split(uri):
    """``uri`` -> ``(scheme, prefix, path)``.

    ``scheme`` is ``"file"`` for local paths; ``prefix`` is what goes back in front of ``path`` when
    building URIs of the same style (``""`` for plain paths, ``"file://"``, ``"hdfs://nn:8020"``,
    ``"hdfs://"``); ``path`` is the path part (absolute for URIs).
    """
    if not isinstance(uri, (str, os.PathLike)):
        raise FsError(repr(uri), "not a path or URI (expected a string)")
    uri = os.fspath(uri)
    if not uri:
        raise FsError("''", "empty path")
    head, sep, rest = uri.partition(":")
    if not (sep and rest.startswith("/") and _SCHEME_RE.fullmatch(head)):
        return "file", "", uri  # a plain local path (may contain ':' elsewhere)
    scheme = head.lower()
    if scheme not in SCHEMES:
        raise FsError(uri, f"unsupported scheme {scheme!r} (supported: local paths, "
                           "file://, hdfs://, webhdfs://, swebhdfs://)")
    if rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        path = "/" + path
    else:
        authority, path = "", rest
        if not path.startswith("/"):
            raise FsError(uri, "relative path in a URI; write an absolute path after the scheme")
    if scheme == "file":
        if authority not in ("", "localhost"):
            raise FsError(uri, f"file:// URI with host {authority!r}; use file:///absolute/path")
        return "file", "file://", path
    if scheme != "hdfs" and not authority:
        raise FsError(uri, f"{scheme}:// needs host:port (e.g. {scheme}://namenode:9870/path)")
    return scheme, f"{scheme}://{authority}", path


def scheme(uri):
    """``"file"`` for local paths and file:// URIs, else ``"hdfs"``, ``"webhdfs"``, ``"swebhdfs"``."""
    return split(uri)[0]


def is_remote(uri):
    """True for hdfs://, webhdfs:// and swebhdfs:// URIs."""
    return scheme(uri) in REMOTE_SCHEMES


def authority(uri):
    """``"host:port"`` part of a remote URI (``""`` for ``hdfs:///path`` and local paths)."""
    prefix = split(uri)[1]
    return prefix.partition("://")[2]


def path_of(uri):
    """The path part (a plain local path for local URIs)."""
    return split(uri)[2]


def join(base, *parts):
    """Join path parts onto ``base``, keeping its scheme and authority.

    Parts are always relative (a leading ``/`` in a part is ignored), so ``join("hdfs:///a", "/b")``
    is ``hdfs:///a/b``.
    """
    sch, prefix, path = split(base)
    for part in parts:
        part = os.fspath(part).strip("/")
        if part:
            path = posixpath.join(path, part) if path else part
    return prefix + path


def parent(uri):
    """The directory containing ``uri`` (same style)."""
    sch, prefix, path = split(uri)
    stripped = path.rstrip("/") or "/"
    head = posixpath.dirname(stripped)
    if not head:
        head = "."
    return prefix + head


def basename(uri):
    """Last path component."""
    return posixpath.basename(split(uri)[2].rstrip("/"))


def temp_sibling(uri, tag="tmp"):
    """A hidden, unique name next to ``uri``: ``<dir>/.<name>.__<tag>-<hex>``.

    Hidden (leading dot) so that Hadoop/Spark input formats, :func:`glob` and :func:`walk_files`
    skip it while it is being written.
    """
    name = basename(uri)
    if not name or name in (".", ".."):
        raise FsError(uri, "names no file or directory (a root, '.' or '..'); "
                           "give a path that ends in a name")
    return join(parent(uri), f".{name}.__{tag}-{secrets.token_hex(6)}")


def to_spark_path(uri):
    """The path string Spark's readers accept: local -> ``file:///abs/path``; remote unchanged."""
    sch, prefix, path = split(uri)
    if sch == "file":
        return "file://" + os.path.abspath(path)
    return os.fspath(uri)
