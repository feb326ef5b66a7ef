"""A man-in-the-middle TCP proxy for the resident channel's tests: it forwards every connection to
the real driver, and once, in one direction, alters a byte of the stream or injects bytes into it.

    proxy = Mitm(upstream, direction="to_task", how="alter", after=8000)

`direction`: to_task (driver -> task) or to_driver. `after`: the bytes of that direction, on one
connection, to pass untouched first (past the handshake's, so the tampering lands inside a TLS
record of a frame). `how`: alter (flip one bit of the byte there) or inject (put `payload` -- a
well-formed plaintext frame -- there). Once, on the first connection to get that far; `tampered`
is set then.
"""

from __future__ import annotations

import os
import pickle
import socket
import struct
import threading


def forged_frame(path: str) -> bytes:
    """A well-formed plaintext frame (8-byte big-endian length, then a pickle) that makes the
    directory `path` if anyone unpickles it: the proof that nobody did."""
    payload = pickle.dumps(_MakeDir(path))
    return struct.pack("!Q", len(payload)) + payload


class _MakeDir:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return os.mkdir, (self.path,)


class Mitm:
    def __init__(self, upstream: tuple[str, int], direction: str, how: str, after: int,
                 payload: bytes = b""):
        assert direction in ("to_task", "to_driver") and how in ("alter", "inject")
        self.upstream, self.direction, self.how, self.after = upstream, direction, how, after
        self.payload = payload
        self.tampered = threading.Event()
        self.carried = {"to_task": 0, "to_driver": 0}  # bytes, all connections
        self._lock = threading.Lock()
        self._socks: list[socket.socket] = []
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = self.server.getsockname()[:2]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                task, _ = self.server.accept()
            except OSError:
                return  # closed
            driver = socket.create_connection(self.upstream)
            self._socks += [task, driver]
            for src, dst, name in ((driver, task, "to_task"), (task, driver, "to_driver")):
                threading.Thread(target=self._pipe, args=(src, dst, name), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, name: str) -> None:
        passed = 0
        try:
            while data := src.recv(1 << 16):
                if name == self.direction and passed + len(data) > self.after:
                    data = self._tamper(data, max(self.after - passed, 0))
                passed += len(data)
                self.carried[name] += len(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _tamper(self, data: bytes, i: int) -> bytes:
        with self._lock:
            if self.tampered.is_set():
                return data
            self.tampered.set()
        if self.how == "inject":
            return data[:i] + self.payload + data[i:]
        return data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1:]

    def close(self) -> None:
        self.server.close()
        for s in self._socks:
            s.close()
