"""Talking to Docker: the engine, the compose command (v1 ``docker-compose`` or v2
``docker compose``), and the containers of one compose project (found by compose's labels,
which both versions set)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from . import ComposeError

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DEFAULT_PROJECT = "rnn-spark"
# service -> (env var of its host port, default host port, container port, what it serves)
PORTS = {
    "namenode": ("RNN_SPARK_COMPOSE_NN_PORT", 9870, 9870, "NameNode UI + WebHDFS"),
    "resourcemanager": ("RNN_SPARK_COMPOSE_RM_PORT", 8088, 8088, "YARN ResourceManager UI"),
    "spark-history": ("RNN_SPARK_COMPOSE_HISTORY_PORT", 18080, 18080, "Spark history server"),
    "datanode-1": ("RNN_SPARK_COMPOSE_DN1_PORT", 9864, 9864, "DataNode 1 UI"),
    "datanode-2": ("RNN_SPARK_COMPOSE_DN2_PORT", 9865, 9864, "DataNode 2 UI"),
    "client": ("RNN_SPARK_COMPOSE_SPARK_UI_PORT", 4040, 4040, "Spark UI of a client-mode driver"),
}
SERVICES = ("namenode", "datanode-1", "datanode-2", "resourcemanager", "nodemanager-1",
            "nodemanager-2", "client", "spark-history")


def host_port(service: str) -> int:
    var, default, _, _ = PORTS[service]
    raw = os.environ.get(var, str(default))
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ComposeError(f"{var}={raw!r} is not a port number; set it to a free TCP port (1-65535)")
    return int(raw)


def run(cmd: list[str], *, check: bool = True, capture: bool = True, env: dict | None = None,
        timeout: float | None = None, what: str = "") -> subprocess.CompletedProcess:
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE if capture else None,
                           stderr=subprocess.PIPE if capture else None, text=True, env=env,
                           timeout=timeout)
    except FileNotFoundError:
        raise ComposeError(f"{cmd[0]} not found; install Docker (Debian: apt-get install "
                           "docker.io docker-compose)") from None
    except subprocess.TimeoutExpired:
        raise ComposeError(f"{what or cmd[0]} did not finish in {timeout:.0f}s") from None
    if check and r.returncode != 0:
        err = ((r.stderr or "") + (r.stdout or "")).strip().splitlines() if capture else []
        raise ComposeError(f"{what or ' '.join(cmd[:3])} failed (exit {r.returncode})"
                           + (f": {err[-1].strip()}" if err else ""))
    return r


def require_engine() -> None:
    if shutil.which("docker") is None:
        raise ComposeError("docker not found; install Docker (Debian: apt-get install docker.io "
                           "docker-compose) and start dockerd")
    r = run(["docker", "info", "--format", "{{.ServerVersion}}"], check=False, timeout=60)
    if r.returncode != 0 or not r.stdout.strip():
        last = (r.stderr or "").strip().splitlines()
        raise ComposeError("cannot reach the Docker engine ("
                           + (last[-1] if last else "docker info failed")
                           + "); start it (dockerd, or systemctl start docker)")


def compose_cmd() -> list[str]:
    """``RNN_SPARK_COMPOSE_CMD`` if set, else ``docker compose`` (v2) when present, else
    ``docker-compose`` (v1)."""
    override = os.environ.get("RNN_SPARK_COMPOSE_CMD")
    if override:
        return override.split()
    if run(["docker", "compose", "version"], check=False).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    raise ComposeError("neither `docker compose` nor `docker-compose` is installed; "
                       "install one (Debian: apt-get install docker-compose)")


@dataclass(frozen=True)
class Project:
    name: str
    cmd: tuple[str, ...]

    @classmethod
    def from_env(cls) -> "Project":
        name = os.environ.get("RNN_SPARK_COMPOSE_PROJECT", DEFAULT_PROJECT)
        if not name or not all(c.isalnum() or c in "-_" for c in name) or name != name.lower():
            raise ComposeError(f"RNN_SPARK_COMPOSE_PROJECT={name!r} is not a compose project "
                               "name; use lower-case letters, digits, - and _")
        # the engine before the compose command: every command needs a running engine, and a
        # machine with a bare Docker CLI (no compose, no daemon) should hear about the engine first
        require_engine()
        return cls(name, tuple(compose_cmd()))

    def compose(self, *args: str, env: dict | None = None, capture: bool = True,
                timeout: float | None = None, what: str = "") -> subprocess.CompletedProcess:
        cmd = [*self.cmd, "-f", str(COMPOSE_FILE), "-p", self.name, *args]
        return run(cmd, env=env, capture=capture, timeout=timeout,
                   what=what or f"{' '.join(self.cmd)} {args[0]}")

    def containers(self, service: str | None = None, all_states: bool = True) -> list[dict]:
        """One dict per container: id, service, state, health (``docker inspect`` fields)."""
        cmd = ["docker", "ps", "-q", "--no-trunc",
               "--filter", f"label=com.docker.compose.project={self.name}"]
        if all_states:
            cmd.append("-a")
        if service:
            cmd += ["--filter", f"label=com.docker.compose.service={service}"]
        ids = run(cmd).stdout.split()
        if not ids:
            return []
        out = []
        for c in json.loads(run(["docker", "inspect", *ids]).stdout):
            st = c["State"]
            out.append({"id": c["Id"][:12], "service": c["Config"]["Labels"].get(
                "com.docker.compose.service", "?"), "state": st["Status"],
                "health": (st.get("Health") or {}).get("Status", "none"),
                "image": c["Config"]["Image"], "name": c["Name"].lstrip("/")})
        return sorted(out, key=lambda c: SERVICES.index(c["service"])
                      if c["service"] in SERVICES else 99)

    def container_id(self, service: str) -> str:
        running = [c for c in self.containers(service) if c["state"] == "running"]
        if not running:
            raise ComposeError(f"service {service} of compose project {self.name} is not "
                               "running; start the cluster with scripts/compose-cluster up")
        return running[0]["id"]
