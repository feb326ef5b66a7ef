"""up / down / status of the compose cluster, and what a host needs to use it."""
from __future__ import annotations

import os
import socket
import sys
import time

from . import ComposeError
from .engine import PORTS, SERVICES, Project, host_port, require_engine
from .image import IMAGE_REPO, BuildOptions, build, image_exists, tag


def compose_env(image_tag: str | None, opts: BuildOptions | None) -> dict:
    env = dict(os.environ)
    if image_tag:
        env["RNN_SPARK_COMPOSE_TAG"] = image_tag
    if opts:
        env["RNN_SPARK_COMPOSE_BASE_IMAGE"] = opts.base_image
        env["RNN_SPARK_COMPOSE_CA_CERTS"] = opts.ca_certs
    return env


def _check_ports_free() -> None:
    for service, (var, _, _, what) in PORTS.items():
        port = host_port(service)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("0.0.0.0", port))
            except OSError:
                raise ComposeError(f"host port {port} ({what}) is in use; set {var} to a free "
                                   "port and run again") from None


def build_image(opts: BuildOptions, rebuild: bool = False) -> str:
    """Build the node image when its inputs changed (or ``rebuild``). Returns its tag."""
    require_engine()
    image_tag = tag(opts)
    ref = f"{IMAGE_REPO}:{image_tag}"
    t0 = time.monotonic()
    if rebuild or not image_exists(ref):
        build(opts, ref)
        print(f"compose-cluster: built {ref} in {time.monotonic() - t0:.0f}s", file=sys.stderr)
    else:
        print(f"compose-cluster: image {ref} is up to date", file=sys.stderr)
    return image_tag


def up(opts: BuildOptions, timeout: float, rebuild: bool = False) -> str:
    """Build the image if missing, start every service, wait until all are healthy. Returns the tag."""
    for s in PORTS:
        host_port(s)  # validate every port variable before doing anything
    project = Project.from_env()
    image_tag = build_image(opts, rebuild)
    running = {c["service"] for c in project.containers() if c["state"] == "running"}
    if not running:
        _check_ports_free()
    t1 = time.monotonic()
    project.compose("up", "-d", "--no-build", env=compose_env(image_tag, opts), capture=False,
                    timeout=timeout, what="compose up")
    wait_healthy(project, timeout - (time.monotonic() - t1))
    print(f"compose-cluster: all {len(SERVICES)} services healthy in "
          f"{time.monotonic() - t1:.0f}s", file=sys.stderr)
    return image_tag


def wait_healthy(project: Project, timeout: float) -> None:
    deadline = time.monotonic() + max(timeout, 5)
    while True:
        code, bad = health(project)
        if code == 0:
            return
        exited = [c for c in project.containers() if c["state"] in ("exited", "dead")]
        if exited:
            c = exited[0]
            raise ComposeError(f"service {c['service']} stopped during start-up; see "
                               f"`docker logs {c['name']}`")
        if time.monotonic() > deadline:
            raise ComposeError(f"not healthy after {timeout:.0f}s: {', '.join(bad)}; "
                               "see scripts/compose-cluster status and docker logs")
        time.sleep(3)


def health(project: Project) -> tuple[int, list[str]]:
    """(0 all healthy | 1 nothing running | 3 some service missing or unhealthy, problems)."""
    cs = {c["service"]: c for c in project.containers()}
    if not any(c["state"] == "running" for c in cs.values()):
        return 1, ["not running"]
    bad = []
    for s in SERVICES:
        c = cs.get(s)
        if c is None:
            bad.append(f"{s} missing")
        elif c["state"] != "running" or c["health"] not in ("healthy", "none"):
            bad.append(f"{s} {c['state']}/{c['health']}")
    return (3 if bad else 0), bad


def down(volumes: bool) -> None:
    project = Project.from_env()
    args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
    project.compose(*args, env=compose_env(None, None), capture=False, timeout=300,
                    what="compose down")


def urls() -> dict[str, str]:
    return {s: f"http://localhost:{host_port(s)}" for s in PORTS}


def export_lines() -> list[str]:
    """What a host-side rnn-spark needs: every hdfs://namenode:8020/... URI goes to WebHDFS."""
    return [f"export RNN_SPARK_WEBHDFS_URL={urls()['namenode']} HADOOP_USER_NAME=root",
            f"export RNN_SPARK_COMPOSE_PROJECT={Project.from_env().name}"]


def describe(project: Project) -> str:
    code, bad = health(project)
    lines = [{0: "healthy", 1: "not running", 3: "UNHEALTHY"}[code]
             + f": compose project {project.name} ({' '.join(project.cmd)})"]
    for c in project.containers():
        lines.append(f"  {c['service']:16s} {c['state']:8s} {c['health']:10s} {c['image']}")
    if code != 1:
        for s, (_, _, _, what) in PORTS.items():
            lines.append(f"  {what:34s} {urls()[s]}")
    lines += [f"  problem: {b}" for b in bad if code == 3]
    return "\n".join(lines)
