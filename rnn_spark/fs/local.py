"""Local filesystem backend (plain paths and file:// URIs)."""

import contextlib
import errno
import io
import os
import shutil
import stat

from .errors import FsError, FsExists, FsNotFound, FsPermission
from .uri import split


class SizedReader(io.BufferedReader):
    """A buffered, seekable binary reader that also knows its total ``size()`` and ``uri``."""

    def __init__(self, raw, uri, buffer_size=io.DEFAULT_BUFFER_SIZE):
        super().__init__(raw, buffer_size=buffer_size)
        self.uri = uri

    def size(self):
        return self.raw.size() if hasattr(self.raw, "size") else os.fstat(self.raw.fileno()).st_size


@contextlib.contextmanager
def oserrors(uri, dst=None):
    """Turn OSError into the FsError family, naming ``uri`` (or ``dst`` for exists-errors)."""
    try:
        yield
    except FsError:
        raise
    except FileNotFoundError:
        raise FsNotFound(uri) from None
    except FileExistsError:
        raise FsExists(dst or uri) from None
    except PermissionError:
        raise FsPermission(uri) from None
    except IsADirectoryError:
        raise FsError(uri, "is a directory, expected a file") from None
    except NotADirectoryError:
        raise FsError(uri, "a component of the path is not a directory") from None
    except OSError as err:
        if err.errno == errno.ENOTEMPTY:
            raise FsError(uri, "directory not empty (use recursive=True)") from None
        if err.errno == errno.ENOSPC:
            raise FsError(uri, "no space left on device") from None
        raise FsError(uri, err.strerror or str(err)) from None


def _p(uri):
    return split(uri)[2]


class LocalFS:
    """Backend for local paths. Every method takes the full URI/path and names it in errors."""

    def open_read(self, uri):
        with oserrors(uri):
            path = _p(uri)
            if os.path.isdir(path):
                raise FsError(uri, "is a directory, expected a file")
            return SizedReader(io.FileIO(path, "rb"), uri, buffer_size=1 << 20)

    def open_write(self, uri, overwrite=False):
        path = _p(uri)
        with oserrors(uri):
            if os.path.isdir(path):
                raise FsError(uri, "is a directory, expected a file")
            parent = os.path.dirname(path)
            if parent:
                os.makedirs(parent, exist_ok=True)
            return open(path, "wb" if overwrite else "xb", buffering=1 << 20)

    def info(self, uri):
        with oserrors(uri):
            st = os.stat(_p(uri))
        kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
        return {"size": st.st_size if kind == "file" else 0, "type": kind, "mtime": st.st_mtime}

    def exists(self, uri):
        return os.path.exists(_p(uri))

    def isdir(self, uri):
        return os.path.isdir(_p(uri))

    def dir_key(self, uri):
        """What makes two names one directory (device, inode); None if it cannot be read."""
        try:
            st = os.stat(_p(uri))
        except OSError:
            return None
        return st.st_dev, st.st_ino

    def list_entries(self, uri):
        """``[(name, is_dir), ...]`` of a directory, unsorted."""
        try:
            with oserrors(uri):
                with os.scandir(_p(uri)) as it:
                    return [(e.name, e.is_dir()) for e in it]
        except FsError as err:
            if os.path.isfile(_p(uri)):
                raise FsError(uri, "not a directory") from None
            raise err

    def mkdirs(self, uri):
        with oserrors(uri):
            os.makedirs(_p(uri), exist_ok=True)

    def rm(self, uri, recursive=False, missing_ok=False):
        path = _p(uri)
        try:
            with oserrors(uri):
                if os.path.isdir(path) and not os.path.islink(path):
                    if recursive:
                        shutil.rmtree(path)
                    else:
                        os.rmdir(path)
                else:
                    os.unlink(path)
        except FsNotFound:
            if not missing_ok:
                raise

    def rename(self, src, dst):
        """Move ``src`` to ``dst``; fails with FsExists if ``dst`` exists.

        Files: hard link + unlink, so the no-replace check is atomic. Directories: check, then
        rename (a concurrent creator of ``dst`` in between loses: rename(2) only replaces an
        empty directory, and then our check already failed for any non-empty one).
        """
        s, d = _p(src), _p(dst)
        with oserrors(src, dst):
            if not os.path.lexists(s):
                raise FsNotFound(src)
            if os.path.lexists(d):
                raise FsExists(dst, "already exists (rename does not replace)")
            parent = os.path.dirname(d)
            if parent and not os.path.isdir(parent):
                raise FsNotFound(dst, "parent directory does not exist")
            if os.path.isdir(s) and not os.path.islink(s):
                os.rename(s, d)
                return
            try:
                os.link(s, d, follow_symlinks=False)
            except OSError as err:
                if err.errno == errno.EEXIST:
                    raise
                os.rename(s, d)  # filesystems without hard links: check-then-rename
                return
            os.unlink(s)

    def replace(self, src, dst):
        """Atomically move file ``src`` onto ``dst``, replacing a file there."""
        with oserrors(src, dst):
            if os.path.isdir(_p(dst)):
                raise FsError(dst, "is a directory, cannot be replaced by a file")
            os.replace(_p(src), _p(dst))
