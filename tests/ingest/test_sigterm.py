"""SIGTERM stops an ingest as Ctrl-C does: no staging directory left beside --out (#21).

Real processes: ``rnn-spark ingest`` runs as a subprocess and is sent SIGTERM from outside. A
named pipe as the input holds the ingest at a known point (reading it blocks until a writer
opens it): the local engine in the driver's scan, the Spark engine in a running scan task.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _start(tmp_path, src, *args):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cli = "import sys; from rnn_spark.cli import main; sys.exit(main())"  # as the rnn-spark script
    return subprocess.Popen([sys.executable, "-c", cli, "ingest", "text", str(src),
                             "--out", str(tmp_path / "out"), "--seq-len", "4", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(cond, proc, what, timeout=180):
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"ingest ended before {what}: {proc.communicate()}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail(f"no {what} after {timeout} s")
        time.sleep(0.05)


def _descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def _gone(pids, timeout=60):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        alive = [p for p in pids if os.path.exists(f"/proc/{p}") and
                 open(f"/proc/{p}/stat").read().split(")")[-1].split()[0] != "Z"]
        if not alive:
            return []
        time.sleep(0.2)
    return alive


def _staging(tmp_path):
    return [n for n in os.listdir(tmp_path) if n.startswith(".out.__tmp-")]


def _reader_open(fifo):
    """True once someone has the pipe open for reading (then keeps a writer open on it)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return False
    _reader_open.fds.append(fd)  # held open, never written: the reader stays blocked
    return True


_reader_open.fds = []


@pytest.fixture()
def fifo(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    p = d / "pipe.txt"
    os.mkfifo(p)
    yield p
    while _reader_open.fds:
        os.close(_reader_open.fds.pop())


def _terminate_and_check(proc, tmp_path, signum=signal.SIGTERM):
    kids = _descendants(proc.pid)
    proc.send_signal(signum)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"the ingest did not stop within 120 s of {signum!r}")
    assert proc.returncode == 128 + signum, err
    assert err.endswith("ingest: stopped by SIGTERM; the unfinished output was removed\n"
                        if signum == signal.SIGTERM else "\naborted\n"), err
    assert "Traceback" not in err and " ERROR " not in err  # nor Spark's log of the stop
    assert sorted(os.listdir(tmp_path)) == ["in"]  # no .out.__tmp-*, no out
    assert _gone(kids) == [], "child processes outlived the ingest"


def test_sigterm_local_engine_removes_the_staging_dir(tmp_path, fifo):
    proc = _start(tmp_path, fifo, "--engine", "local")
    _wait_for(lambda: _staging(tmp_path) and _reader_open(fifo), proc,
              "staging directory and a reader of the input")
    _terminate_and_check(proc, tmp_path)


@pytest.mark.spark
def test_sigterm_spark_engine_while_starting_removes_the_staging_dir(tmp_path):
    """#21's case: killed before any task ran, an empty .out.__tmp-* was left."""
    (tmp_path / "in").mkdir()
    src = tmp_path / "in" / "a.txt"
    src.write_text("alpha beta gamma " * 200)
    proc = _start(tmp_path, src, "--engine", "spark", "--master", "local[1]")
    _wait_for(lambda: _staging(tmp_path), proc, "staging directory")
    _terminate_and_check(proc, tmp_path)


@pytest.mark.spark
def test_sigterm_spark_engine_mid_job_removes_the_staging_dir(tmp_path, fifo):
    proc = _start(tmp_path, fifo, "--engine", "spark", "--master", "local[1]")
    _wait_for(lambda: _staging(tmp_path) and _reader_open(fifo), proc,
              "a Spark task reading the input")
    _terminate_and_check(proc, tmp_path)


@pytest.mark.spark
def test_ctrl_c_mid_spark_job_cancels_it_without_py4j_tracebacks(tmp_path, fifo):
    """Ctrl-C inside a job went through pyspark's handler: cleaned up, but with Py4J tracebacks
    ("reentrant call") on stderr; now the job is cancelled the same way as for SIGTERM."""
    proc = _start(tmp_path, fifo, "--engine", "spark", "--master", "local[1]")
    _wait_for(lambda: _staging(tmp_path) and _reader_open(fifo), proc,
              "a Spark task reading the input")
    _terminate_and_check(proc, tmp_path, signal.SIGINT)
