"""Tools for the fault tests: hold a task (rnn_spark/runners/faults.py), find real processes in
/proc, SIGKILL them from outside, compare final weights bit for bit, look for half-written files.

Used by tests/training/test_faults_*.py and tests/e2e/test_faults_*.py (which put this directory
on sys.path).
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from rnn_spark import fs

REPO = Path(__file__).resolve().parents[2]
TRAIN_JOB = REPO / "jobs" / "train.py"


# -- holding a task -----------------------------------------------------------------------------
def fault_env(fault_dir, rnd: int, worker: int = 0, wait: float = 600) -> dict[str, str]:
    """Environment that makes worker `worker` of round `rnd` wait in rnn_spark.runners.faults."""
    Path(fault_dir).mkdir(parents=True, exist_ok=True)
    return {"RNN_SPARK_FAULT_DIR": str(fault_dir), "RNN_SPARK_FAULT_ROUND": str(rnd),
            "RNN_SPARK_FAULT_WORKER": str(worker), "RNN_SPARK_FAULT_WAIT": str(wait)}


def wait_held(fault_dir, proc: subprocess.Popen | None = None, timeout: float = 300) -> dict:
    """The held task's paused.json (pid, ppid, round, worker); fails if `proc` ends first."""
    f = Path(fault_dir) / "paused.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f.exists():
            try:
                return json.loads(f.read_text())
            except ValueError:
                pass  # being written
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the job ended (exit {proc.returncode}) before the task was "
                                 f"held:\n{output(proc)[-4000:]}")
        time.sleep(0.1)
    raise AssertionError(f"no task was held within {timeout:.0f}s ({f})")


def release(fault_dir) -> None:
    (Path(fault_dir) / "release").touch()


# -- processes ----------------------------------------------------------------------------------
def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def ancestors(pid: int) -> list[int]:
    out = []
    while pid > 1:
        pid = ppid(pid)
        if pid:
            out.append(pid)
    return out


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            children.setdefault(ppid(int(d.name)), []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def find_processes(*needles: str) -> list[int]:
    """Pids whose command line contains every needle."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and int(d.name) != os.getpid():
            c = cmdline(int(d.name))
            if c and all(n in c for n in needles):
                out.append(int(d.name))
    return sorted(out)


def sigkill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_gone(pids, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    assert not left, f"still running after {timeout}s: {left}"


# -- jobs ---------------------------------------------------------------------------------------
def start_job(argv: list[str], env: dict, log: Path) -> subprocess.Popen:
    """A job in its own session (so a test can clean up its whole process group), output to log."""
    out = open(log, "ab")
    proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    proc.log = log  # type: ignore[attr-defined]
    out.close()
    return proc


def output(proc: subprocess.Popen) -> str:
    log = getattr(proc, "log", None)
    return Path(log).read_text(errors="replace") if log else ""


def finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    """Wait for the job; fail with its log tail unless it exits 0."""
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        raise AssertionError(f"job timed out after {timeout}s:\n{output(proc)[-4000:]}")
    assert proc.returncode == 0, f"job exited {proc.returncode}:\n{output(proc)[-6000:]}"
    return output(proc)


def interrupt(argv: list[str], env: dict, fault_dir, log: Path, timeout: float = 120) -> str:
    """Start a job, Ctrl-C it while its held task waits (SIGINT to its whole process group, as a
    terminal does) and return its output; it must exit 130."""
    proc = start_job(argv, env, log)
    try:
        wait_held(fault_dir, proc)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=timeout) == 130, output(proc)
    finally:
        release(fault_dir)
        kill_group(proc)
    return output(proc)


def kill_group(proc: subprocess.Popen) -> None:
    """Clean-up: SIGKILL whatever is left of the job's process group."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass


def train_argv(*args: str) -> list[str]:
    """`rnn-spark train ARGS` with this interpreter and this checkout's package."""
    return [sys.executable, str(TRAIN_JOB), *args]


def job_env(base: dict | None = None, **extra: str) -> dict:
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


# -- results ------------------------------------------------------------------------------------
def weights(model_dir: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(fs.read_bytes(fs.join(str(model_dir), "weights.npz"))),
                 allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def assert_same_weights(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    differ = [k for k in got if got[k].dtype != want[k].dtype or got[k].tobytes() != want[k].tobytes()]
    assert not differ, f"weights differ from the undisturbed run's: {differ}"


def checkpoint_names(run_dir) -> list[str]:
    from rnn_spark.training import checkpoint as ckpt
    from rnn_spark.training.rundir import RunDir
    return [c.rstrip("/").rsplit("/", 1)[-1] for c in ckpt.list_checkpoints(RunDir(str(run_dir)))]


def half_written(run_dir: str) -> list[str]:
    """Names under a run directory left by an interrupted write (fs temp/old siblings)."""
    found = []
    todo = [str(run_dir)]
    while todo:
        d = todo.pop()
        for uri in fs.ls(d):
            name = uri.rstrip("/").rsplit("/", 1)[-1]
            if "__tmp-" in name or "__old-" in name:
                found.append(uri)
            elif fs.isdir(uri):
                todo.append(uri)
    return sorted(found)
