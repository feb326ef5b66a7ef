"""SIGTERM unwinds an ingest as Ctrl-C does, so the staging directory is removed (#21).

Python's default for SIGTERM ends the process at once: no ``finally`` runs, and the hidden
``.NAME.__tmp-*`` staging directory (and the local engine's spill directory) stays behind.
Within :func:`sigterm_unwinds` the first SIGTERM raises :class:`Terminated` (a ``SystemExit``
with code 143 = 128 + SIGTERM, as a shell reports a process killed by it) in the main thread
wherever it is, so every clean-up runs on the way out. A second SIGTERM ends the process at once.

A Spark job is not interrupted that way: raising inside the driver's wait for a Py4J answer
leaves that answer unread and the JVM thread busy, and the next call (``spark.stop()``) hangs
behind it (pyspark's own Ctrl-C handler runs into the same wall and logs Py4J tracebacks).
Around a job, :func:`stop_with` names how to end it (cancel its job group, from another
thread): SIGTERM or Ctrl-C then runs that, the job fails as cancelled, and leaving the block
raises :class:`Terminated` or ``KeyboardInterrupt`` instead of the job's error. A second
Ctrl-C raises at once.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_requested: set = set()   # signals received, not yet raised
_stoppers: list = []


class Terminated(SystemExit):
    """The process got SIGTERM; raised to unwind (exit code 143, no traceback)."""

    def __init__(self):
        super().__init__(128 + signal.SIGTERM)


def _run_quietly(fn):
    try:
        fn()
    except Exception:  # noqa: BLE001 - the job then ends by itself or with the process
        pass


def _raise(signum):
    _requested.discard(signum)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _on_signal(signum, frame):
    if signum == signal.SIGTERM:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
    if not _stoppers or signum in _requested:  # no job to cancel, or asked twice
        _raise(signum)
    _requested.add(signum)
    for fn in list(_stoppers):
        threading.Thread(target=_run_quietly, args=(fn,), daemon=True).start()


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_unwinds():
    """Within the block, SIGTERM raises :class:`Terminated`. Nothing changes outside the main
    thread or when the program has its own SIGTERM handler (or ignores the signal)."""
    if not _main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return
    _requested.clear()
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _requested.clear()


@contextlib.contextmanager
def stop_with(stop):
    """Within the block, SIGTERM (under :func:`sigterm_unwinds`) and Ctrl-C call ``stop()`` in a
    new thread instead of raising; leaving the block then raises what they would have."""
    prev_int = signal.getsignal(signal.SIGINT) if _main_thread() else None
    if prev_int not in (None, signal.SIG_IGN):
        signal.signal(signal.SIGINT, _on_signal)
    _stoppers.append(stop)
    try:
        yield
    finally:
        _stoppers.remove(stop)
        if prev_int not in (None, signal.SIG_IGN):
            signal.signal(signal.SIGINT, prev_int)
        for signum in (signal.SIGTERM, signal.SIGINT):
            if signum in _requested:
                _raise(signum)
