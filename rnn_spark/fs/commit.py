"""Commit protocols: a file or a whole directory appears under its final name complete, or not at all.

* :func:`atomic_write` -- data goes to a hidden temp file next to the target (``.<name>.__tmp-<hex>``)
  and is renamed onto the target when the ``with`` block ends without error; on error the temp
  file is deleted. Readers see the old file (or none), then the new file -- never a partial one.
* :func:`staging_dir` -- for writers of many files: they write into a hidden temp directory
  (``.<name>.__tmp-<hex>``) which is renamed onto the final name on success and removed on error.
  With ``overwrite=True`` and an existing target the swap is: rename old -> ``.<name>.__old-<hex>``,
  rename new -> final, delete old. Between the two renames (two metadata operations, milliseconds)
  the final name does not exist: a reader then gets "not found", never a mix of old and new files.
"""

import contextlib
import os

from .errors import FsError, FsExists
from .uri import parent, temp_sibling


def _quietly(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception:  # cleanup must not mask the original error
        pass


def _abort(f):
    abort = getattr(f, "abort", None)
    if abort is not None:
        _quietly(abort)
    else:
        _quietly(f.close)


def _fsync(f):
    """Local files: make the bytes durable before they become visible under the final name."""
    try:
        fd = f.fileno()
    except (AttributeError, OSError, ValueError):  # remote writers have no descriptor
        return
    f.flush()
    os.fsync(fd)


@contextlib.contextmanager
def _as_target(tmp, uri):
    """Errors about the hidden temp name are reported against the name the user asked for."""
    try:
        yield
    except FsError as err:
        if err.uri != tmp:
            raise
        raise type(err)(uri, err.cause) from None


@contextlib.contextmanager
def atomic_write(backend, uri, overwrite=False):
    if backend.exists(uri):
        if backend.isdir(uri):
            raise FsError(uri, "is a directory, expected a file")
        if not overwrite:
            raise FsExists(uri)
    tmp = temp_sibling(uri)
    with _as_target(tmp, uri):
        f = backend.open_write(tmp, overwrite=False)
    try:
        with _as_target(tmp, uri):  # remote writers report errors as late as close()
            yield f
            _fsync(f)
            f.close()
            if overwrite:
                backend.replace(tmp, uri)
            else:
                backend.rename(tmp, uri)
    except BaseException:
        _abort(f)
        _quietly(backend.rm, tmp, missing_ok=True)
        raise


@contextlib.contextmanager
def staging_dir(backend, final_uri, overwrite=False):
    if backend.exists(final_uri) and not overwrite:
        raise FsExists(final_uri)
    tmp = temp_sibling(final_uri)
    with _as_target(tmp, final_uri):
        backend.mkdirs(parent(final_uri))
        backend.mkdirs(tmp)
    try:
        yield tmp
        if backend.exists(final_uri):
            if not overwrite:
                raise FsExists(final_uri, "appeared while staging (another writer?); "
                                          "nothing was replaced")
            old = temp_sibling(final_uri, tag="old")
            backend.rename(final_uri, old)
            try:
                backend.rename(tmp, final_uri)
            except BaseException:
                _quietly(backend.rename, old, final_uri)  # put the old one back
                raise
            _quietly(backend.rm, old, recursive=True, missing_ok=True)
        else:
            backend.rename(tmp, final_uri)
    except BaseException:
        _quietly(backend.rm, tmp, recursive=True, missing_ok=True)
        raise
