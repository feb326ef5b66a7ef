"""Extra DataNodes, each its own JVM next to the MiniCluster's (which holds one DataNode in-process).

A fault test kills one with SIGKILL -- a real DataNode process dying -- while the MiniCluster's
DataNode keeps the other replica. New files still get replication 1 (MiniDFSCluster caps
dfs.replication at its own DataNode count, and WebHDFS creates files with the DataNode's setting):
raise it per file or directory tree (WebHDFS SETREPLICATION, `hdfs dfs -setrep -w 2 PATH`). Each extra DataNode is named (dn2, dn3, ...), keeps its storage in
work/<name>/ (so starting a name again restarts that DataNode with its blocks) and binds ephemeral
ports on 127.0.0.1 (the NameNode learns them when it registers). `stop` ends them with the rest:
their working directory is inside the cluster directory.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time

from . import ClusterError, health
from .layout import HOST, Layout, ports

MAIN = "org.apache.hadoop.hdfs.server.datanode.DataNode"


def _pid_file(layout: Layout, name: str):
    return layout.root / f"{name}.pid"


def check_name(name: str | None) -> None:
    if name is not None and not re.fullmatch(r"dn([2-9]|[1-9][0-9]+)", name):
        raise ClusterError(f"--name {name!r} is not a DataNode name; give dn2, dn3, ... "
                           "(`scripts/hadoop-cluster status --json` lists them)")


def _next_name(layout: Layout) -> str:
    i = 2
    while (layout.work / f"dn{i}").exists():
        i += 1
    return f"dn{i}"


def live_datanodes(p: dict[str, int], user: str) -> int:
    snap = health.probe(p, user)
    return (snap["hdfs"] or {}).get("live_datanodes", 0)


def start_one(layout: Layout, java: str, add_opens: list[str], jars: list[str], user: str,
              name: str | None = None, timeout: float = 120) -> dict:
    """Start DataNode `name` (default: a new one) and wait until the NameNode counts it live."""
    from .procs import alive
    check_name(name)
    p = ports()
    name = name or _next_name(layout)
    pid_file = _pid_file(layout, name)
    try:
        old = int(pid_file.read_text())
    except (OSError, ValueError):
        old = None
    if old is not None and alive(old):
        raise ClusterError(f"DataNode {name} is already running (pid {old})")
    before = live_datanodes(p, user)
    home = layout.work / name
    home.mkdir(parents=True, exist_ok=True)
    settings = {
        "fs.defaultFS": f"hdfs://{HOST}:{p['namenode_rpc']}",
        "hadoop.tmp.dir": str(home / "tmp"),
        "dfs.datanode.data.dir": str(home / "data"),
        "dfs.datanode.hostname": HOST,
        "dfs.datanode.address": f"{HOST}:0",
        "dfs.datanode.http.address": f"{HOST}:0",
        "dfs.datanode.ipc.address": f"{HOST}:0",
        "dfs.webhdfs.enabled": "true",
    }
    cmd = [java, "-Xmx256m", "-XX:+UseSerialGC", *add_opens, f"-Dhadoop.log.dir={layout.logs}",
           "-Djava.net.preferIPv4Stack=true", "-cp", os.pathsep.join([str(layout.server_conf), *jars]), MAIN]
    for k, v in settings.items():
        cmd += ["-D", f"{k}={v}"]
    log = layout.logs / f"{name}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=home, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    pid_file.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ClusterError(f"DataNode {name} (pid {proc.pid}) exited during startup; see {log}")
        # a restarted DataNode re-registers under its old identity: the count may not change
        if _registered(log) and live_datanodes(p, user) >= max(before + (old is None), 1):
            return {"name": name, "pid": proc.pid, "log": str(log)}
        time.sleep(0.5)
    proc.kill()
    raise ClusterError(f"DataNode {name} did not register with the NameNode within "
                       f"{timeout:.0f}s; see {log}")


def _registered(log) -> bool:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return False
    last_start = text.rfind("STARTUP_MSG: Starting DataNode")
    return "Successfully sent block report" in text[last_start:]


def describe(layout: Layout) -> list[dict]:
    from .procs import alive
    out = []
    for f in sorted(layout.root.glob("dn*.pid")):
        try:
            pid = int(f.read_text())
        except (OSError, ValueError):
            continue
        out.append({"name": f.stem, "pid": pid, "running": alive(pid)})
    return out


def dumps(info: dict) -> str:
    return json.dumps(info)
