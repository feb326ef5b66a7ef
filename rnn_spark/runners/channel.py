"""The resident tasks' channel (runners/resident.py): one TCP connection per task, framed, proven
both ways, and on a cluster whose own traffic is secured, TLS.

Framing: a frame is an 8-byte big-endian length, then that many bytes.

The handshake (both sides, before either unpickles a byte from the other): the task sends its
partition index and a nonce; the driver answers its own nonce and an HMAC-SHA256, under the 32-byte
token that travels inside the job's closure, of both nonces and the index; the task checks it and
answers the HMAC of the same with its role swapped. The token itself is never on the wire.

TLS (``DriverTLS``, made per pool when Spark's network security is on: runners/resident.py): the
driver makes a self-signed certificate and an EC P-256 key for this pool alone (``cryptography``,
the ``tls`` extra; needed by the driver only); the certificate (public) travels to the tasks in the
closure (``Pin``), and a task accepts a driver whose certificate is exactly that one (it is the
only trust anchor; no host name check). The HMAC handshake then runs inside TLS, so the driver
still knows the task holds the token (the task holds no key). After that, TLS's record MAC
authenticates every frame: a byte altered, dropped or injected on the wire fails the record's
check, the connection ends, and the pool falls back to a Spark job per round. The private key is
written to disk only encrypted (PKCS#8, a random password held in memory), in a private temporary
directory (0700) that is deleted as soon as ``ssl`` has loaded it.
"""

from __future__ import annotations

import datetime
import hmac
import os
import secrets
import shutil
import socket
import ssl
import struct
import tempfile
from dataclasses import dataclass
from typing import Callable

_LEN = struct.Struct("!Q")
_HELLO = struct.Struct("!I16s")  # partition index, the task's nonce
_NONCE, _MAC = 16, 32
POLL_S = 2.0  # how often a waiting driver checks that the resident job still runs
TLS_EXTRA = "rnn-spark[tls]"


class ResidentLost(Exception):
    """The pool cannot serve this call: the caller runs it as a Spark job instead."""


# -- framing -----------------------------------------------------------------------------------
def send_frame(sock: socket.socket, payload: bytes | memoryview) -> None:
    sock.sendall(_LEN.pack(len(payload)))
    if len(payload):
        sock.sendall(payload)


def _recv_exact(sock: socket.socket, n: int, alive: Callable[[], bool] | None = None) -> bytearray:
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        try:
            k = sock.recv_into(view[got:])
        except socket.timeout:
            if alive is None:
                raise  # a plain deadline (the handshake's)
            if not alive():
                raise ResidentLost("the resident tasks' Spark job ended") from None
            continue  # a poll: the job still runs, keep waiting
        if k == 0:
            raise ConnectionError("connection closed")
        got += k
    return buf


def recv_frame(sock: socket.socket, alive: Callable[[], bool] | None = None) -> bytearray:
    (n,) = _LEN.unpack(_recv_exact(sock, _LEN.size, alive))
    return _recv_exact(sock, n, alive)


# -- TLS ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pin:
    """What a task knows of its driver's TLS: the one certificate it accepts (PEM)."""

    cert_pem: str

    def der(self) -> bytes:
        return ssl.PEM_cert_to_DER_cert(self.cert_pem)


def tls_available() -> bool:
    try:
        import cryptography.x509  # noqa: F401
    except ImportError:
        return False
    return True


class DriverTLS:
    """The driver's side of a pool's TLS: a fresh key and self-signed certificate, and the server
    context that holds them. ``pin`` goes to the tasks; ``wrap`` runs the server handshake."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rnn-spark resident tasks")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                # valid from a day ago: an executor's clock may lag the driver's; the tasks check
                # it once, when they connect (within CONNECT_TIMEOUT_S of now)
                .not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(key, hashes.SHA256()))
        password = secrets.token_bytes(32)
        key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(password))
        self.pin = Pin(cert.public_bytes(serialization.Encoding.PEM).decode("ascii"))
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.minimum_version = ssl.TLSVersion.TLSv1_2
        # ssl loads a key from files only: the key file is encrypted, in a 0700 directory,
        # deleted right after loading
        tmp = tempfile.mkdtemp(prefix="rnn-spark-tls-")
        try:
            cert_file, key_file = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            for path, data in ((cert_file, self.pin.cert_pem.encode()), (key_file, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
            self._context.load_cert_chain(cert_file, key_file, password=password)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def wrap(self, conn: socket.socket) -> ssl.SSLSocket:
        """The server handshake on an accepted connection (its timeout bounds it)."""
        return self._context.wrap_socket(conn, server_side=True)


def task_wrap(sock: socket.socket, pin: Pin) -> ssl.SSLSocket:
    """The task's TLS handshake: the driver must present exactly the pinned certificate
    (ssl.SSLError otherwise)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False  # the pin names the driver, not a host name
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cadata=pin.cert_pem)
    tls = context.wrap_socket(sock)
    if tls.getpeercert(binary_form=True) != pin.der():
        tls.close()
        raise ssl.SSLError("the driver's certificate is not the pinned one")
    return tls


# -- the handshake's proofs --------------------------------------------------------------------
def _mac(token: bytes, role: bytes, index: int, first: bytes, second: bytes) -> bytes:
    return hmac.new(token, role + struct.pack("!I", index) + first + second, "sha256").digest()


def prove(sock: socket.socket, token: bytes, index: int) -> bool:
    """The task's half: hello, check the driver's answer, answer its nonce. False if the peer
    does not know the token."""
    mine = secrets.token_bytes(_NONCE)
    try:
        sock.sendall(_HELLO.pack(index, mine))
        reply = _recv_exact(sock, _NONCE + _MAC)
        theirs, mac = bytes(reply[:_NONCE]), bytes(reply[_NONCE:])
        if not hmac.compare_digest(mac, _mac(token, b"driver", index, mine, theirs)):
            return False
        sock.sendall(_mac(token, b"task", index, theirs, mine))
    except OSError:  # reset, closed, refused mid-way (ConnectionError is one): not proven
        return False
    return True


def admit(conn: socket.socket, token: bytes, conns: list,
          tls: DriverTLS | None = None) -> tuple[int, socket.socket] | None:
    """The driver's half, on a new connection: (its resident index, the socket to use: TLS's when
    `tls`), if it completes the TLS handshake, proves the token and its index is free; else the
    connection is closed (a stranger, or a second copy of a resident) and None returned."""
    conn.settimeout(10)
    sock = conn
    try:
        if tls is not None:
            sock = tls.wrap(conn)
        index, theirs = _HELLO.unpack(_recv_exact(sock, _HELLO.size))
        if not 0 <= index < len(conns) or conns[index]:
            raise ConnectionError("no such free resident")
        mine = secrets.token_bytes(_NONCE)
        sock.sendall(mine + _mac(token, b"driver", index, theirs, mine))
        ok = hmac.compare_digest(bytes(_recv_exact(sock, _MAC)),
                                 _mac(token, b"task", index, mine, theirs))
    except (OSError, struct.error):  # ssl.SSLError and ConnectionError are OSErrors
        ok = False
    if not ok:
        sock.close()
        conn.close()
        return None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.settimeout(POLL_S)
    return index, sock
