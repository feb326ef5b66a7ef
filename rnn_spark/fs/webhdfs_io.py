"""Seekable reader and streaming writer over WebHDFS.

Reader: ``io.BufferedReader`` over a raw reader that keeps one HTTP stream open (OPEN with
``offset``/``length``). A read at the position where the open stream is continues it (sequential
reads are one request); a read elsewhere (a seek: Parquet footer, row groups) opens a range of at
least ``RANGE_BYTES`` there; reading on past the end of such a range opens the rest of the file.
The file is never downloaded whole unless it is read whole. Broken streams are reopened at the
current offset (``retries`` times); a DataNode that cannot be reached is excluded and the range is
read from another replica (webhdfs_failover.py).

Writer: CREATE is sent when the file is opened (so "exists" / "permission denied" show at once);
data is buffered into ``CHUNK_BYTES`` pieces and streamed (chunked transfer) by a thread through a
bounded queue, so memory stays at a few chunks whatever the file size.
"""

import io
import queue
import threading
import time

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from .errors import FsError
from .local import SizedReader
from .webhdfs_failover import avoid_datanode, open_range
from .uri import split

RANGE_BYTES = 1 << 20       # minimum length of a ranged request after a seek
BUFFER_BYTES = 1 << 20      # BufferedReader read-ahead
CHUNK_BYTES = 4 << 20       # writer chunk
QUEUE_CHUNKS = 4            # writer chunks in flight


class HdfsRawReader(io.RawIOBase):
    def __init__(self, fs, uri, size):
        self._fs, self.uri, self._path, self._size = fs, uri, split(uri)[2], size
        self._pos = 0
        self._res = self._stream = None
        self._spos = self._send = 0  # current stream position and end
        self._avoid: set[str] = set()  # DataNodes found dead (webhdfs_failover)

    def readable(self):
        return True

    def seekable(self):
        return True

    def size(self):
        return self._size

    def tell(self):
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError(22, f"{self.uri}: negative seek position {pos}")
        self._pos = pos
        return pos

    def _close_stream(self):
        if self._res is not None:
            res, self._res, self._stream = self._res, None, None
            try:
                res.close()
            except Exception:
                pass

    def _open_stream(self, want):
        prev_start, prev_end = self._spos, self._send
        self._close_stream()
        remaining = self._size - self._pos
        if self._pos == 0 or self._pos == prev_end:  # sequential: stream the rest of the file
            length = remaining
        elif prev_start == self._pos < prev_end:  # the stream broke: reopen the same range
            length = prev_end - self._pos
        else:  # a seek: a ranged read with modest read-ahead
            length = min(remaining, max(want, RANGE_BYTES))

        self._res = open_range(self._fs, self.uri, self._pos, length, self._avoid)
        self._stream = self._res.raw
        self._spos, self._send = self._pos, self._pos + length

    def readinto(self, b):
        mv = memoryview(b).cast("B")
        want = min(len(mv), max(0, self._size - self._pos))
        done, failures, t0 = 0, 0, time.monotonic()
        while done < want:
            if self._res is None or self._spos != self._pos or self._spos >= self._send:
                self._open_stream(want - done)
            try:
                n = self._stream.readinto(mv[done:want][: self._send - self._spos])
            except (requests.RequestException, Urllib3Error, OSError) as err:
                # the DataNode died mid-stream? read the rest from another replica
                avoid_datanode(self._fs, self.uri, self._pos, getattr(self._res, "url", None),
                               self._avoid)
                self._close_stream()
                failures += 1
                if failures > self._fs.ep.retries:
                    raise self._fs.translate(self.uri, err, time.monotonic() - t0) from None
                time.sleep(0.5 * failures)
                continue
            if not n:  # the server ended the stream early: the file shrank?
                self._close_stream()
                failures += 1
                if failures > self._fs.ep.retries:
                    raise FsError(self.uri, f"unexpected end of data at byte {self._pos} "
                                            f"(expected {self._size}); was it overwritten?")
                continue
            done += n
            self._pos += n
            self._spos += n
        return done

    def readall(self):
        chunks = []
        while True:
            b = bytearray(min(CHUNK_BYTES, max(1, self._size - self._pos)))
            n = self.readinto(b)
            if not n:
                return b"".join(chunks)
            chunks.append(bytes(b[:n]))

    def close(self):
        self._close_stream()
        super().close()


def open_reader(fs, uri):
    info = fs.info(uri)
    if info["type"] != "file":
        raise FsError(uri, "is a directory, expected a file")
    return SizedReader(HdfsRawReader(fs, uri, info["size"]), uri, buffer_size=BUFFER_BYTES)


_END = object()


class HdfsWriter(io.RawIOBase):
    """Streams bytes to a new HDFS file; ``close()`` waits for the upload and reports errors."""

    def __init__(self, fs, uri, overwrite=False):
        self._fs, self.uri = fs, uri
        self._buf = bytearray()
        self._written = 0
        self._queue = queue.Queue(maxsize=QUEUE_CHUNKS)
        self._error = None
        self._t0 = time.monotonic()
        path = split(uri)[2]
        # CREATE on the NameNode (redirect to a DataNode), here, so errors show at open time
        res = fs.call(uri, fs.client._create, path, overwrite=overwrite)
        self._location = res.headers["location"]
        self._thread = threading.Thread(target=self._upload, name=f"hdfs-write {path}",
                                        daemon=True)
        self._thread.start()

    def _chunks(self):
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if item is None:  # abort: break the request so no complete file is committed
                raise IOError("upload aborted")
            yield item

    def _upload(self):
        try:
            res = self._fs.client._request(method="PUT", url=self._location, data=self._chunks())
            if not res:
                from hdfs.client import _to_error
                self._error = _to_error(res)
        except BaseException as err:  # reported by close()
            self._error = err
            while True:  # unblock the producer
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def writable(self):
        return True

    def tell(self):
        return self._written

    def _put(self, item):
        while True:
            if self._error is not None or not self._thread.is_alive():
                self._raise()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise(self):
        err = self._error or IOError("upload thread ended early")
        raise self._fs.translate(self.uri, err, time.monotonic() - self._t0) from None

    def write(self, data):
        if self.closed:
            raise ValueError(f"{self.uri}: write to a closed file")
        mv = memoryview(data).cast("B")
        self._buf += mv
        self._written += len(mv)
        if len(self._buf) >= CHUNK_BYTES:
            self._put(bytes(self._buf))
            self._buf = bytearray()
        return len(mv)

    def flush(self):
        pass  # data is pushed in CHUNK_BYTES pieces; close() sends the rest

    def close(self):
        if self.closed:
            return
        try:
            if self._buf:
                self._put(bytes(self._buf))
                self._buf = bytearray()
            self._put(_END)
            self._thread.join()
            if self._error is not None:
                self._raise()
        finally:
            super().close()

    def abort(self):
        """Stop the upload (the partial file may remain; atomic_write deletes its temp file)."""
        if self.closed:
            return
        try:
            if self._thread.is_alive():
                while True:  # drop what is queued, then tell the uploader to fail
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        break
                try:
                    self._queue.put(None, timeout=1)
                except queue.Full:
                    pass
                self._thread.join(timeout=self._fs.ep.timeout[1])
        finally:
            self._buf = bytearray()
            io.RawIOBase.close(self)

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        else:
            self.close()
