"""Where the cluster keeps its state, and which ports it uses.

Everything lives in one directory (default ``<repo>/.cluster``, or
``$RNN_SPARK_CLUSTER_DIR``)::

    classpath.txt   jars resolved by Maven (cached; keyed by the pom's hash)
    conf/           HADOOP_CONF_DIR for clients (Spark, the hdfs package, hadoop CLI)
    server-conf/    extra files on the daemon JVM's classpath (capacity-scheduler.xml)
    work/           DFS and NodeManager data (wiped by start and stop)
    logs/           cluster.log (daemon output), kept after stop
    cluster.pid     pid of the daemon JVM while it runs
    cluster.json    ports, URIs, start time; written once the cluster is ready
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

# name -> (default port, what it is). All bound on 127.0.0.1.
PORTS: dict[str, tuple[int, str]] = {
    "namenode_rpc": (8020, "NameNode RPC, fs.defaultFS"),
    "namenode_http": (9870, "NameNode HTTP / WebHDFS"),
    "rm": (8032, "ResourceManager client RPC"),
    "rm_scheduler": (8030, "ResourceManager scheduler RPC"),
    "rm_tracker": (8031, "ResourceManager resource tracker"),
    "rm_admin": (8033, "ResourceManager admin RPC"),
    "rm_web": (8088, "ResourceManager web UI / REST"),
    "jhs": (10020, "MapReduce JobHistory RPC"),
    "jhs_admin": (10033, "MapReduce JobHistory admin"),
    "jhs_web": (19888, "MapReduce JobHistory web UI"),
}


def port_offset() -> int:
    raw = os.environ.get("RNN_SPARK_CLUSTER_PORT_OFFSET", "0") or "0"
    try:
        return int(raw)
    except ValueError:
        from . import ClusterError
        raise ClusterError(f"RNN_SPARK_CLUSTER_PORT_OFFSET={raw!r} is not an integer; "
                           "unset it or give a number such as 100")


def ports() -> dict[str, int]:
    off = port_offset()
    out = {name: p + off for name, (p, _) in PORTS.items()}
    if not all(1024 <= p <= 65535 for p in out.values()):
        from . import ClusterError
        raise ClusterError(f"RNN_SPARK_CLUSTER_PORT_OFFSET={off} moves ports outside 1024-65535 "
                           f"({min(out.values())}-{max(out.values())}); pick a smaller offset")
    return out


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def from_env(cls, override: str | None = None) -> "Layout":
        raw = override or os.environ.get("RNN_SPARK_CLUSTER_DIR") or str(REPO / ".cluster")
        return cls(Path(raw).expanduser().resolve())

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def server_conf(self) -> Path:
        return self.root / "server-conf"

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def log_file(self) -> Path:
        return self.logs / "cluster.log"

    @property
    def pid_file(self) -> Path:
        return self.root / "cluster.pid"

    @property
    def info_file(self) -> Path:
        return self.root / "cluster.json"

    @property
    def classpath_file(self) -> Path:
        return self.root / "classpath.txt"
