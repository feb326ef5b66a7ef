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

Not used with dynamic allocation (barrier stages need fixed executors) or speculation (Spark can
re-run a straggler only as a task of its own job). Any trouble -- no connection in time, a resident
that dies, errs or is lost with its executor, a barrier stage Spark cannot place, a frame that
fails TLS's check -- raises :class:`ResidentLost`; the Spark runner then stops the pool and runs
the same call, and every later one, as a job per round (runners/spark.py), with Spark's own
retries. A retried attempt of a resident returns at once: after a failure the driver has moved on.

The connection is the task's: it connects to the driver (``spark.driver.host``; 127.0.0.1 on
local[N]); task and driver prove to each other that they hold a 32-byte token that travels inside
the job's closure (an HMAC challenge each way, the token itself never on the wire), before either
side unpickles a byte from the other. With Spark's network security on (any of SECURITY_KEYS), the
connection is TLS to a per-pool certificate the tasks pin, the proof runs inside it and TLS
authenticates every frame (runners/channel.py); without it, the socket is plain, as Spark's own
traffic is then.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import secrets
import socket
import ssl
import threading
import time
from typing import Any, Callable

from rnn_spark.errors import UserError
from rnn_spark.runners.base import limit_blas_threads
from rnn_spark.runners.channel import (TLS_EXTRA, DriverTLS, Pin, ResidentLost, admit, prove,
                                       recv_frame, send_frame, task_wrap, tls_available)
from rnn_spark.runners.faults import maybe_hold
from rnn_spark.runners.task_errors import capture

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 600.0  # YARN may take minutes to grant executors; the job's failure ends it early
HANDSHAKE_S = 60.0         # a task's connect, TLS handshake and proof
# any of these on: the cluster wants its traffic authenticated or encrypted, so the pool's channel
# is TLS (channel.py), or there is no pool when the driver cannot make TLS's certificate
SECURITY_KEYS = ("spark.authenticate", "spark.network.crypto.enabled", "spark.ssl.enabled",
                 "spark.ssl.rpc.enabled")

__all__ = ["ResidentLost", "ResidentPool", "lacking_tls", "secured", "serve", "usable"]


# -- the executor side -------------------------------------------------------------------------
def serve(address: tuple[str, int], token: bytes, pin: Pin | None, blas_threads: int, index: int,
          _items):
    """One resident (mapPartitionsWithIndex over a barrier RDD): connect (TLS to the pinned
    certificate when `pin`), prove the token, then run what the driver sends until it sends stop
    or goes away. Yields nothing."""
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is not None and ctx.attemptNumber() > 0:
        return  # a retried stage: the driver has already fallen back to a job per round
    limit_blas_threads(blas_threads)
    with socket.create_connection(address, timeout=HANDSHAKE_S) as raw:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock = task_wrap(raw, pin) if pin is not None else raw
        except OSError:  # ssl.SSLError: not the pinned certificate, or no TLS at all
            return  # not our driver: send it nothing, take nothing from it
        with sock:
            if not prove(sock, token, index):
                return
            sock.settimeout(None)
            _serve_calls(sock, index)
    yield from ()


def _serve_calls(sock: socket.socket, index: int) -> None:
    """Call after call until stop. A frame that fails TLS's check (ssl.SSLError) raises: the
    resident fails, visibly, and the driver falls back."""
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


def _maybe_fail(index: int) -> None:
    """Fault injection (RNN_SPARK_FAIL_FIRST_ATTEMPT=1, the retry tests): resident 0 fails after
    its first task's work, so the driver must fall back and Spark retry the round's task."""
    if os.environ.get("RNN_SPARK_FAIL_FIRST_ATTEMPT") == "1" and index == 0:
        raise RuntimeError("injected failure (RNN_SPARK_FAIL_FIRST_ATTEMPT=1)")


# -- the driver side ---------------------------------------------------------------------------
def driver_address(sc) -> tuple[str, str]:
    """(host the tasks connect to, address to bind): loopback on local[N]; else Spark's own
    driver host and bind address."""
    if sc.master.startswith("local"):
        return "127.0.0.1", "127.0.0.1"
    conf = sc.getConf()
    host = conf.get("spark.driver.host", None) or socket.gethostname()
    return host, conf.get("spark.driver.bindAddress", None) or host


def secured(sc) -> list[str]:
    """The SECURITY_KEYS that are on: the pool's channel is TLS if any."""
    conf = sc.getConf()
    return [k for k in SECURITY_KEYS if conf.get(k, "false").lower() == "true"]


def usable(sc) -> str | None:
    """Why a resident pool cannot run on this context (None: it can)."""
    conf = sc.getConf()
    if conf.get("spark.dynamicAllocation.enabled", "false").lower() == "true":
        return "dynamic allocation is on (Spark's barrier stages need a fixed set of executors)"
    if conf.get("spark.speculation", "false").lower() == "true":
        return "speculation is on (Spark re-runs a straggler only as a task of a job per round)"
    return None


def lacking_tls(sc) -> str | None:
    """Why the pool's channel cannot be secured as this context's traffic is (None: it can)."""
    if secured(sc) and not tls_available():
        return (f"Spark's own network security is on ({', '.join(secured(sc))}) and the resident "
                f"tasks' TLS needs the cryptography package on the driver: pip install "
                f"'{TLS_EXTRA}' (until then, a Spark job per round)")
    return None


class ResidentPool:
    """N resident tasks, connected. ``map`` runs a call on them; ``close`` stops them. ``tls``:
    the channel's TLS (None: a plain socket), on when Spark's network security is."""

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
        self.tls = DriverTLS() if secured(sc) else None
        # what the Spark UI shows: one job, from the round it started at (rounds: metrics.jsonl)
        self.description = f"resident tasks from {label or 'the start'}"
        self._group = f"rnn-spark: {self.description}"
        pin = self.tls.pin if self.tls is not None else None
        fn = functools.partial(serve, self._task_address(host), token, pin, blas_threads)
        self._thread = threading.Thread(target=self._run_job, args=(fn,), daemon=True,
                                        name="rnn-spark-resident-job")
        self._thread.start()
        try:
            self._accept(token, connect_timeout)
        except BaseException:
            self.close(cancel=True)
            raise

    def _task_address(self, host: str) -> tuple[str, int]:
        """Where the tasks connect: this pool's socket (a test puts a man-in-the-middle here)."""
        return host, self._server.getsockname()[1]

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
            admitted = admit(conn, token, self._conns, self.tls)
            if admitted is not None:
                index, sock = admitted
                self._conns[index] = sock
        log.info("rnn-spark: %d resident tasks connected (%s channel)", self.count, self.channel)

    @property
    def channel(self) -> str:
        """The connections' kind: "tls" or "plain"."""
        return "tls" if self.tls is not None else "plain"

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
        except ssl.SSLError as exc:
            if isinstance(exc, ssl.SSLEOFError):  # the task closed without a word
                raise ResidentLost(f"a resident task was lost: {exc}") from exc
            # a record that fails its MAC (altered or injected on the wire), or the task's alert
            # that one of ours did
            raise ResidentLost(f"a resident task's channel failed TLS's check: {exc}") from exc
        except (OSError, pickle.UnpicklingError, EOFError) as exc:
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

