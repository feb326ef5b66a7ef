"""The resident channel's TLS (runners/channel.py), over real TCP connections, no Spark: a task
talks only to the driver whose certificate it pinned, the driver admits only a task that proves the
token inside TLS, every frame is checked (a byte altered or injected on the wire is refused, never
unpickled), and the private key is never on disk unencrypted."""

import os
import pickle
import socket
import ssl
import stat
import tempfile
import threading

import pytest
from mitm import Mitm, forged_frame

from rnn_spark.runners.channel import DriverTLS, admit, prove, recv_frame, send_frame, task_wrap

pytest.importorskip("cryptography", reason="the channel's TLS needs rnn-spark[tls]")


@pytest.fixture(scope="module")
def tls():
    return DriverTLS()


def connect(server: socket.socket, token: bytes, tls: DriverTLS | None, pin,
            task_token: bytes | None = None, via: tuple | None = None):
    """(what admit says, the task's socket or the error it met), one connection: the task side in
    a thread, as serve does it (TLS to `pin` if given, then the proof of `task_token`, by default
    the driver's `token`)."""
    out = {}

    def task():
        raw = socket.create_connection(via or server.getsockname(), timeout=30)
        try:
            sock = task_wrap(raw, pin) if pin is not None else raw
            out["task"] = sock if prove(sock, task_token or token, 0) else "not proven"
        except OSError as exc:
            out["task"] = exc
            raw.close()

    t = threading.Thread(target=task)
    t.start()
    conn, _ = server.accept()
    admitted = admit(conn, token, [None, None], tls)
    t.join(timeout=30)
    return admitted, out["task"]


@pytest.fixture()
def server():
    s = socket.create_server(("127.0.0.1", 0))
    yield s
    s.close()


def test_pinned_tls_then_the_token_proof_then_frames(server, tls):
    token = os.urandom(32)
    admitted, task = connect(server, token, tls, tls.pin)
    assert admitted is not None and admitted[0] == 0
    driver = admitted[1]
    assert isinstance(driver, ssl.SSLSocket) and isinstance(task, ssl.SSLSocket)
    assert task.getpeercert(binary_form=True) == tls.pin.der()
    send_frame(driver, b"x" * 100_000)
    assert recv_frame(task) == b"x" * 100_000
    send_frame(task, b"back")
    assert recv_frame(driver) == b"back"
    for s in (driver, task):
        s.close()


def test_a_task_refuses_a_driver_without_the_pinned_certificate(server, tls):
    """Another key and certificate (a driver in the middle), or no TLS at all: the task stops at
    the handshake, before it sends its hello."""
    token = os.urandom(32)
    admitted, task = connect(server, token, DriverTLS(), tls.pin)
    assert admitted is None and isinstance(task, ssl.SSLError)
    admitted, task = connect(server, token, None, tls.pin)  # a plain server
    assert admitted is None and isinstance(task, OSError)


def test_the_driver_admits_no_plain_client_and_no_stranger_inside_tls(server, tls):
    token = os.urandom(32)
    admitted, task = connect(server, token, tls, None)  # no TLS: the hello is not a ClientHello
    assert admitted is None and task == "not proven"
    admitted, task = connect(server, token, tls, tls.pin, task_token=os.urandom(32))  # a stranger
    assert admitted is None and task == "not proven"


@pytest.mark.parametrize("direction", ["to_task", "to_driver"])
@pytest.mark.parametrize("how", ["alter", "inject"])
def test_a_frame_altered_or_injected_on_the_wire_is_refused(server, tls, tmp_path, direction, how):
    """After the handshake, one bit flipped in a frame, or a well-formed plaintext frame put in
    the stream (a pickle that would make a directory if unpickled): the receiver's TLS refuses
    it (ssl.SSLError), and nothing of it is unpickled."""
    token = os.urandom(32)
    forged = tmp_path / "forged-frame-was-unpickled"
    proxy = Mitm(server.getsockname(), direction, how, after=4000,
                 payload=forged_frame(str(forged)))
    try:
        admitted, task = connect(server, token, tls, tls.pin, via=proxy.address)
        assert admitted is not None and isinstance(task, ssl.SSLSocket)
        driver = admitted[1]
        sender, receiver = (driver, task) if direction == "to_task" else (task, driver)
        receiver.settimeout(30)
        send_frame(sender, b"y" * 50_000)  # past `after`: the proxy tampers with it
        with pytest.raises(ssl.SSLError):
            pickle.loads(recv_frame(receiver))
        assert proxy.tampered.is_set() and not forged.exists()
    finally:
        proxy.close()


def test_the_key_is_on_disk_only_encrypted_in_a_private_directory_and_briefly(tmp_path,
                                                                                monkeypatch):
    seen = []
    load = ssl.SSLContext.load_cert_chain

    def spy(self, certfile, keyfile=None, password=None):
        seen.append((stat.S_IMODE(os.stat(os.path.dirname(keyfile)).st_mode),
                     open(keyfile).read().splitlines()[0]))
        return load(self, certfile, keyfile, password)

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    DriverTLS()
    assert seen == [(0o700, "-----BEGIN ENCRYPTED PRIVATE KEY-----")]
    assert list(tmp_path.iterdir()) == []  # deleted once loaded


def test_a_packed_environment_ships_cryptography_for_a_cluster_mode_driver():
    """`rnn-spark submit --deploy-mode cluster` runs the driver from the packed env: it needs the
    tls extra there when installed here (executors do not: Python's ssl is enough)."""
    pytest.importorskip("packaging", reason="packing needs rnn-spark[submit]")
    from importlib.metadata import version

    from rnn_spark.submit import pack

    reqs = dict(r.split("==") for r in pack.pinned_requirements())
    assert reqs["cryptography"] == version("cryptography") and "cffi" in reqs
