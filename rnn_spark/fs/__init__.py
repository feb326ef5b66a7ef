"""One filesystem API over local paths / ``file://`` and ``hdfs://`` (WebHDFS) URIs.

Every function takes a path or URI and dispatches on its scheme. Results keep the style of the
argument (a plain relative path lists as plain relative paths, ``hdfs:///d`` as ``hdfs:///d/x``).
Errors are :class:`FsError` (a ``UserError``) with the message ``"<uri>: <cause>"``.

HDFS: see :mod:`rnn_spark.fs.hdfs_config` for how a URI finds its NameNode (``configure()``,
``RNN_SPARK_WEBHDFS_URL``, ``HADOOP_CONF_DIR``, ``~/.hdfscli.cfg``, or ``host:9870``) and with
which credentials (a YARN container's delegation token, Kerberos, simple).
"""

import io

from . import commit as _commit
from . import globbing as _globbing
from .errors import FsAuthError, FsError, FsExists, FsNotFound, FsPermission, FsUnreachable
from .globbing import is_hidden
from .local import LocalFS
from .uri import basename, is_remote, join, parent, scheme, split, to_spark_path

__all__ = [
    "FsError", "FsExists", "FsNotFound", "FsPermission", "FsUnreachable", "FsAuthError",
    "open_read", "open_write", "atomic_write", "staging_dir", "read_bytes", "write_bytes",
    "read_text", "write_text", "exists", "isdir", "info", "ls", "glob", "walk_files", "is_hidden",
    "mkdirs", "rm", "rename", "join", "parent", "basename", "scheme", "is_remote", "to_spark_path",
    "configure",
]

_LOCAL = LocalFS()


def _backend(uri):
    if split(uri)[0] == "file":
        return _LOCAL
    from .webhdfs import backend_for
    return backend_for(uri)


def configure(**options):
    """Set HDFS client options for this process (see :func:`rnn_spark.fs.hdfs_config.configure`)."""
    from .hdfs_config import configure as _configure
    return _configure(**options)


def open_read(uri):
    """Open a file for binary reading: buffered, seekable (range reads), with ``size()``.

    Remote files are read with ranged requests and a read-ahead buffer, never downloaded whole, so
    ``pyarrow.parquet.ParquetFile(open_read(uri))`` reads only the footer and the row groups used.
    Use it as a context manager (``with open_read(u) as f``).
    """
    return _backend(uri).open_read(uri)


def open_write(uri, overwrite=False):
    """Open a file for streaming binary writing (NOT atomic; parents are created).

    Fails with FsExists if the file exists and not ``overwrite``. Prefer :func:`atomic_write`
    for anything a reader might look at while it is being written.
    """
    return _backend(uri).open_write(uri, overwrite=overwrite)


def atomic_write(uri, overwrite=False):
    """Context manager yielding a binary writer; the file appears under ``uri`` only on success."""
    return _commit.atomic_write(_backend(uri), uri, overwrite=overwrite)


def staging_dir(final_uri, overwrite=False):
    """Context manager yielding a temp directory URI that becomes ``final_uri`` on success."""
    return _commit.staging_dir(_backend(final_uri), final_uri, overwrite=overwrite)


def read_bytes(uri):
    with open_read(uri) as f:
        return f.read()


def write_bytes(uri, data, overwrite=False):
    """Write ``data`` atomically (temp + rename)."""
    with atomic_write(uri, overwrite=overwrite) as f:
        f.write(data)


def read_text(uri, encoding="utf-8"):
    data = read_bytes(uri)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        raise FsError(uri, f"not valid {encoding} text at byte {err.start}") from None


def write_text(uri, text, overwrite=False, encoding="utf-8"):
    """Write ``text`` atomically (temp + rename)."""
    write_bytes(uri, text.encode(encoding), overwrite=overwrite)


def exists(uri):
    return _backend(uri).exists(uri)


def isdir(uri):
    return _backend(uri).isdir(uri)


def info(uri):
    """``{"size": bytes, "type": "file" | "directory", "mtime": seconds since the epoch}``."""
    return _backend(uri).info(uri)


def ls(uri):
    """Sorted list of the full URIs of the entries of directory ``uri`` (hidden ones included)."""
    b = _backend(uri)
    return sorted(join(uri, name) for name, _ in b.list_entries(uri))


def glob(pattern, skipped=None):
    """Sorted URIs matching ``pattern``: ``* ? [..]`` in any component, ``**`` recursive.

    Wildcards do not match hidden names (:func:`is_hidden`) unless the pattern component starts
    with the same character; ``skipped`` (a list) receives the hidden names left out."""
    return _globbing.glob(_backend(pattern), pattern, skipped=skipped)


def walk_files(uri, include_hidden=False, skipped=None):
    """Sorted URIs of all files below ``uri``; hidden names (:func:`is_hidden`) are skipped
    unless ``include_hidden``, and appended to ``skipped`` (a list) if given."""
    return _globbing.walk_files(_backend(uri), uri, include_hidden=include_hidden,
                                skipped=skipped)


def mkdirs(uri):
    """Create a directory and its parents; no error if it exists."""
    _backend(uri).mkdirs(uri)


def rm(uri, recursive=False, missing_ok=False):
    """Delete a file or directory (a non-empty directory needs ``recursive=True``)."""
    path = split(uri)[2]
    if path.strip("/") in ("", "."):
        raise FsError(uri, "refusing to delete a filesystem root or the working directory")
    _backend(uri).rm(uri, recursive=recursive, missing_ok=missing_ok)


def rename(src, dst):
    """Move ``src`` to ``dst`` on the same filesystem; FsExists if ``dst`` exists."""
    bs, bd = _backend(src), _backend(dst)
    if bs is not bd:
        raise FsError(dst, f"cannot rename across filesystems (from {src})")
    bs.rename(src, dst)


def as_text(f, encoding="utf-8", newline=None):
    """Wrap a binary reader/writer from this module for text streaming."""
    return io.TextIOWrapper(f, encoding=encoding, newline=newline)
