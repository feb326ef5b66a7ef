"""Processes and ports, read from /proc (Linux): who holds a port, which processes
belong to a cluster directory, and stopping them by pid."""
from __future__ import annotations

import errno
import os
import signal
import socket
import time
from pathlib import Path


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def cmdline(pid: int, limit: int = 160) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    text = raw.replace(b"\0", b" ").decode(errors="replace").strip()
    if " -cp " in text:  # java command lines: hide the 20 kB classpath
        head, _, rest = text.partition(" -cp ")
        rest = rest.split(" ", 1)[1] if " " in rest else ""
        text = f"{head} -cp ... {rest}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def cwd(pid: int) -> Path | None:
    try:
        return Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return None


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def port_free(host: str, port: int) -> bool:
    """True if nothing listens on port (any address). Connections in TIME_WAIT
    left by an earlier run do not count: the daemons bind with SO_REUSEADDR."""
    if _listen_inodes(port):
        return False
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((host, port))
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        raise
    finally:
        s.close()
    return True


def _listen_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            if len(f) > 9 and f[3] == "0A" and int(f[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f[9])
    return inodes


def port_owner(port: int) -> int | None:
    """The pid listening on port, if /proc lets us see it."""
    inodes = _listen_inodes(port)
    if not inodes:
        return None
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            for fd in (d / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return int(d.name)
        except OSError:
            continue
    return None


def under(root: Path) -> list[int]:
    """Pids whose working directory is inside root (the daemon JVM runs in
    root/work; YARN containers run in NodeManager dirs below it)."""
    me = os.getpid()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        c = cwd(int(d.name))
        if c is not None and (c == root or root in c.parents):
            found.append(int(d.name))
    return found


def terminate(pids: list[int], grace: float) -> list[int]:
    """SIGTERM, wait up to grace seconds, SIGKILL the rest. Returns pids that
    were still alive after SIGKILL (should be empty)."""
    for pid in pids:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.2)
    left = [p for p in pids if alive(p)]
    for pid in left:
        _signal(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in left):
        time.sleep(0.1)
    return [p for p in left if alive(p)]


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
