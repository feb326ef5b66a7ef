"""Resident tasks: N long-lived Spark tasks that run many rounds' tasks, fed over one socket each.

A Spark job per round costs a fixed ~0.1 s on local[2] (the broadcast's hand-over, the closure,
scheduling, the Python workers' hand-off), a quarter of a small model's round. A resident pool
pays it once: one barrier job of N tasks (gang-scheduled: all N run at once or the stage fails)
whose tasks connect back to the driver and then serve round after round:

    driver -> task   frame 1: cloudpickle of (fn, [(position, task), ...]); frame 2: the shared
                     payload, pickled once per call and sent to every task
    task -> driver   one frame per task, in the order given: the pickled fn(task, shared), or the
                     TaskError of a user error (runners/task_errors.py)
    driver -> task   an empty frame: stop (the task returns; so does its Spark job)

Task i of a call goes to resident i mod N, and the results are put back in task order; a task is
a pure function of (task, shared), so which process runs it changes no bit (the determinism
contract of runners/base.py).

Not used with dynamic allocation (barrier stages need fixed executors), speculation (Spark can
re-run a straggler only as a task of its own job) or Spark's network security on (our socket is
not encrypted: SECURITY_KEYS). Any trouble -- no connection in time, a resident
that dies, errs or is lost with its executor, a barrier stage Spark cannot place -- raises
:class:`ResidentLost`; the Spark runner then stops the pool and runs the same call, and every
later one, as a job per round (runners/spark.py), with Spark's own retries. A retried attempt of a
resident returns at once: after a failure the driver has moved on.

The connection is the task's: it connects to the driver (``spark.driver.host``; 127.0.0.1 on
local[N]); task and driver prove to each other that they hold a 32-byte token that travels inside
the job's closure (an HMAC challenge each way, the token itself never on the wire), before either
side unpickles a byte from the other.
"""

from __future__ import annotations

import functools
import hmac
import logging
import os
import pickle
import secrets
import socket
import struct
import threading
import time
from typing import Any, Callable

from rnn_spark.errors import UserError
from rnn_spark.runners.base import limit_blas_threads
from rnn_spark.runners.faults import maybe_hold
from rnn_spark.runners.task_errors import capture

log = logging.getLogger(__name__)

_LEN = struct.Struct("!Q")
_HELLO = struct.Struct("!I16s")  # partition index, the task's nonce
_NONCE, _MAC = 16, 32
CONNECT_TIMEOUT_S = 600.0  # YARN may take minutes to grant executors; the job's failure ends it early
# any of these on: the cluster wants its traffic authenticated or encrypted, which our plain socket
# would bypass, so no resident pool (a Spark job per round uses Spark's own channels)
SECURITY_KEYS = ("spark.authenticate", "spark.network.crypto.enabled", "spark.ssl.enabled",
                 "spark.ssl.rpc.enabled")
POLL_S = 2.0               # how often a waiting driver checks that the resident job still runs


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


# -- the handshake's proofs (both sides) -------------------------------------------------------
def _mac(token: bytes, role: bytes, index: int, first: bytes, second: bytes) -> bytes:
    return hmac.new(token, role + struct.pack("!I", index) + first + second, "sha256").digest()


# -- the executor side -------------------------------------------------------------------------
def serve(address: tuple[str, int], token: bytes, blas_threads: int, index: int, _items):
    """One resident (mapPartitionsWithIndex over a barrier RDD): connect, then run what the
    driver sends until it sends stop or goes away. Yields nothing."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is not None and ctx.attemptNumber() > 0:
        return  # a retried stage: the driver has already fallen back to a job per round
    limit_blas_threads(blas_threads)
    with socket.create_connection(address, timeout=60) as sock:
        sock.settimeout(None)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not prove(sock, token, index):
            return  # not our driver: send it nothing, take nothing from it
        while True:
            try:
                head = recv_frame(sock)
            except ConnectionError:
                return  # the driver is gone
            if not head:
                return  # stop
            fn, work = pickle.loads(head)
            shared = pickle.loads(recv_frame(sock))
            for _, task in work:
                maybe_hold(task)  # fault tests only (off unless RNN_SPARK_FAULT_DIR is set)
                try:
                    result = fn(task, shared)
                except UserError as exc:
                    result = capture(exc)  # a transient one raises: the resident fails
                _maybe_fail(index)
                send_frame(sock, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    yield from ()


def prove(sock: socket.socket, token: bytes, index: int) -> bool:
    """The task's half of the handshake: hello, check the driver's answer, answer its nonce.
    False if the peer does not know the token."""
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


def _maybe_fail(index: int) -> None:
    """Fault injection (RNN_SPARK_FAIL_FIRST_ATTEMPT=1, the retry tests): resident 0 fails after
    its first task's work, so the driver must fall back and Spark retry the round's task."""
    if os.environ.get("RNN_SPARK_FAIL_FIRST_ATTEMPT") == "1" and index == 0:
        raise RuntimeError("injected failure (RNN_SPARK_FAIL_FIRST_ATTEMPT=1)")


# -- the driver side ---------------------------------------------------------------------------
def admit(conn: socket.socket, token: bytes, conns: list) -> int | None:
    """The driver's half: a new connection's resident index, if it proves the token and its index
    is free; else the connection is closed (a stranger, or a second copy of a resident) and None
    returned."""
    conn.settimeout(10)
    try:
        index, theirs = _HELLO.unpack(_recv_exact(conn, _HELLO.size))
        if not 0 <= index < len(conns) or conns[index]:
            raise ConnectionError("no such free resident")
        mine = secrets.token_bytes(_NONCE)
        conn.sendall(mine + _mac(token, b"driver", index, theirs, mine))
        ok = hmac.compare_digest(bytes(_recv_exact(conn, _MAC)),
                                 _mac(token, b"task", index, mine, theirs))
    except (OSError, ConnectionError, struct.error):
        ok = False
    if not ok:
        conn.close()
        return None
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    conn.settimeout(POLL_S)
    return index


def driver_address(sc) -> tuple[str, str]:
    """(host the tasks connect to, address to bind): loopback on local[N]; else Spark's own
    driver host and bind address."""
    if sc.master.startswith("local"):
        return "127.0.0.1", "127.0.0.1"
    conf = sc.getConf()
    host = conf.get("spark.driver.host", None) or socket.gethostname()
    return host, conf.get("spark.driver.bindAddress", None) or host


def usable(sc) -> str | None:
    """Why a resident pool cannot run on this context (None: it can)."""
    conf = sc.getConf()
    secured = [k for k in SECURITY_KEYS if conf.get(k, "false").lower() == "true"]
    if secured:
        return (f"Spark's own network security is on ({', '.join(secured)}) and the resident "
                f"tasks' socket is not encrypted: rounds stay on Spark's channels")
    if conf.get("spark.dynamicAllocation.enabled", "false").lower() == "true":
        return "dynamic allocation is on (Spark's barrier stages need a fixed set of executors)"
    if conf.get("spark.speculation", "false").lower() == "true":
        return "speculation is on (Spark re-runs a straggler only as a task of a job per round)"
    return None


class ResidentPool:
    """N resident tasks, connected. ``map`` runs a call on them; ``close`` stops them."""

    def __init__(self, sc, count: int, blas_threads: int, label: str = "",
                 connect_timeout: float = CONNECT_TIMEOUT_S):
        self.sc, self.count = sc, count
        self._conns: list[socket.socket | None] = [None] * count
        self._error: BaseException | None = None
        host, bind = driver_address(sc)
        try:
            family = socket.getaddrinfo(bind, 0, type=socket.SOCK_STREAM)[0][0]
            self._server = socket.create_server((bind, 0), family=family, backlog=max(count, 8))
        except OSError as exc:
            raise ResidentLost(f"cannot listen on {bind}: {exc}") from exc
        token = secrets.token_bytes(32)
        # what the Spark UI shows: one job, from the round it started at (rounds: metrics.jsonl)
        self.description = f"resident tasks from {label or 'the start'}"
        self._group = f"rnn-spark: {self.description}"
        fn = functools.partial(serve, (host, self._server.getsockname()[1]), token, blas_threads)
        self._thread = threading.Thread(target=self._run_job, args=(fn,), daemon=True,
                                        name="rnn-spark-resident-job")
        self._thread.start()
        try:
            self._accept(token, connect_timeout)
        except BaseException:
            self.close(cancel=True)
            raise

    def _run_job(self, fn) -> None:
        try:
            self.sc.setJobGroup(self._group, self.description, interruptOnCancel=True)
            self.sc.parallelize(range(self.count), self.count).barrier() \
                .mapPartitionsWithIndex(fn).collect()
        except Exception as exc:  # the job's failure (Py4J): reported by _accept / map
            self._error = exc

    def alive(self) -> bool:
        return self._thread.is_alive()

    def _accept(self, token: bytes, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        self._server.settimeout(0.2)
        while any(c is None for c in self._conns):
            if not self.alive():
                raise ResidentLost(f"the resident tasks' Spark job ended: {_first_line(self._error)}")
            if time.monotonic() > deadline:
                raise ResidentLost(f"the resident tasks did not connect within {timeout:.0f} s")
            try:
                conn, _ = self._server.accept()
            except socket.timeout:
                continue
            index = admit(conn, token, self._conns)
            if index is not None:
                self._conns[index] = conn

    def map(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any) -> list:
        """fn(task, shared) for every task, in task order (task i on resident i mod N)."""
        from pyspark import cloudpickle  # functions by value, as Spark ships closures

        try:
            shared_bytes = pickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
            work = [list(enumerate(tasks))[r::self.count] for r in range(self.count)]
            for conn, mine in zip(self._conns, work):
                if mine:
                    send_frame(conn, cloudpickle.dumps((fn, mine)))
                    send_frame(conn, shared_bytes)
            results: list = [None] * len(tasks)
            for conn, mine in zip(self._conns, work):
                for pos, _ in mine:
                    results[pos] = pickle.loads(recv_frame(conn, self.alive))
            return results
        except ResidentLost:
            raise
        except (OSError, ConnectionError, pickle.UnpicklingError, EOFError) as exc:
            raise ResidentLost(f"a resident task was lost: {exc}") from exc

    def close(self, cancel: bool = False) -> None:
        """Stop the residents: a stop frame each (cancel: the Spark job is cancelled first, for a
        pool in trouble whose residents may be mid-task)."""
        if cancel:
            self.sc.cancelJobGroup(self._group)
        for conn in self._conns:
            if conn is not None:
                try:
                    conn.settimeout(1)
                    send_frame(conn, b"")
                except OSError:
                    pass
                conn.close()
        self._conns = [None] * self.count
        self._server.close()
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            self.sc.cancelJobGroup(self._group)
            self._thread.join(timeout=30)


def _first_line(exc: BaseException | None) -> str:
    text = str(exc or "no error").strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__

