"""Fixtures for the e2e test of the docker-compose cluster (scripts/compose-cluster).

Everything under tests/compose/ gets the ``compose`` marker and is SKIPPED unless
``RNN_SPARK_COMPOSE=1``: the normal suite never needs Docker. ``scripts/compose-cluster test``
(and CI through scripts/ci-compose.sh) starts the cluster and sets it; then a cluster that is
not healthy FAILS the tests. The cluster is found by its compose project
(``RNN_SPARK_COMPOSE_PROJECT``, default rnn-spark) and host ports (``RNN_SPARK_COMPOSE_*_PORT``).

``compose`` (session) -> ``ComposeCluster`` with
    webhdfs_url / rm_url / history_url   http://localhost:<host port>
    exec(service, *argv, env=None, timeout=600)  runs argv in the service's container; fails
                 the test with the output tail on a non-zero exit; returns the CompletedProcess
    stop(service) / start(service)       docker stop / docker start of the service
    get_json(url)                        GET and parse JSON
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "scripts"))

from composecluster import ComposeError  # noqa: E402
from composecluster.cluster import health, urls  # noqa: E402
from composecluster.engine import Project  # noqa: E402

ENABLED = os.environ.get("RNN_SPARK_COMPOSE") == "1"


def pytest_configure(config):
    config.addinivalue_line("markers", "compose: needs the docker-compose cluster "
                                       "(scripts/compose-cluster test; RNN_SPARK_COMPOSE=1)")


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="docker-compose cluster test: run scripts/compose-cluster test "
                                   "(or set RNN_SPARK_COMPOSE=1 with the cluster up)")
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.compose)
            if not ENABLED:
                item.add_marker(skip)


def get_json(url: str, timeout: float = 10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


@dataclass(frozen=True)
class ComposeCluster:
    project: Project
    webhdfs_url: str
    rm_url: str
    history_url: str

    get_json = staticmethod(get_json)

    def exec(self, service: str, *argv: str, env: dict | None = None, timeout: float = 600):
        cmd = ["docker", "exec"]
        for k, v in (env or {}).items():
            cmd += ["-e", f"{k}={v}"]
        cmd += [self.project.container_id(service), *argv]
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            pytest.fail(f"{' '.join(argv)[:200]} in {service} timed out after {timeout}s:\n"
                        + out[-4000:], pytrace=False)
        if r.returncode != 0:
            pytest.fail(f"{' '.join(argv)[:200]} in {service} exited {r.returncode}:\n"
                        + r.stdout[-6000:], pytrace=False)
        return r

    def _containers(self, service: str) -> list[str]:
        return [c["id"] for c in self.project.containers(service)]

    def stop(self, service: str) -> None:
        subprocess.run(["docker", "stop", "-t", "10", *self._containers(service)], check=True,
                       stdout=subprocess.DEVNULL)

    def start(self, service: str) -> None:
        subprocess.run(["docker", "start", *self._containers(service)], check=True,
                       stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def compose() -> ComposeCluster:
    try:
        project = Project.from_env()
        code, bad = health(project)
        u = urls()
    except ComposeError as e:
        pytest.fail(f"compose cluster unusable: {e}", pytrace=False)
    if code != 0:
        pytest.fail(f"compose project {project.name} is not healthy ({', '.join(bad)}); "
                    "run scripts/compose-cluster up", pytrace=False)
    return ComposeCluster(project, u["namenode"], u["resourcemanager"], u["spark-history"])
