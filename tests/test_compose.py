"""docker-compose.yml and what it builds and mounts, checked without a Docker engine (the fast
suite): `docker-compose config` accepts it, every service runs the one node image built from
docker/Dockerfile, ports are overridable, health checks gate start-up, the Hadoop and Spark
configuration agree, and scripts/compose-cluster rejects bad input with one line and exit 2.
The cluster itself is started and exercised by tests/compose/ (scripts/compose-cluster test)."""
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
SCRIPT = REPO / "scripts" / "compose-cluster"
sys.path.insert(0, str(REPO / "scripts"))
from composecluster.engine import PORTS, SERVICES  # noqa: E402
from composecluster.image import CONTEXT  # noqa: E402


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def _site(name):
    root = ET.parse(REPO / "conf" / "hadoop" / name).getroot()
    assert root.tag == "configuration", name
    return {p.findtext("name"): p.findtext("value") for p in root.iter("property")}


def _spark_defaults():
    out = {}
    for line in (REPO / "conf" / "spark-defaults.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split(None, 1)
            out[key] = value.strip()
    return out


def _mib(v):
    m = re.fullmatch(r"(\d+)([mg])", v)
    return int(m[1]) * (1024 if m[2] == "g" else 1)


@pytest.mark.parametrize("cmd", [["docker-compose"], ["docker", "compose"]])
def test_compose_config_validates(cmd):
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed")
    if len(cmd) == 2 and subprocess.run(cmd + ["version"], capture_output=True).returncode != 0:
        pytest.skip("docker compose v2 plugin not installed")
    r = subprocess.run(cmd + ["-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_every_service_runs_the_node_image(compose):
    services = compose["services"]
    assert set(services) == set(SERVICES)
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=debian:bookworm-slim" in dockerfile.split("FROM", 1)[0]
    assert "ARG EXTRA_CA_CERTS" in dockerfile
    for name, svc in services.items():
        assert svc["image"] == "rnn-spark/node:${RNN_SPARK_COMPOSE_TAG:-dev}", name
        assert svc["build"]["dockerfile"] == "docker/Dockerfile"
        assert set(svc["build"]["args"]) == {"BASE_IMAGE", "EXTRA_CA_CERTS"}
        role = svc["command"]
        assert role[0] == "compose-role", name
        assert f"\n{role[1]})" in (REPO / "docker" / "bin" / "compose-role").read_text(), name


def test_ports_are_overridable_and_match_the_script(compose):
    published = {}
    for name, svc in compose["services"].items():
        for p in svc.get("ports", []):
            m = re.fullmatch(r"\$\{(\w+):-(\d+)\}:(\d+)", str(p))
            assert m, f"{name} publishes {p} without an overridable host port"
            published[name] = (m[1], int(m[2]), int(m[3]))
    assert published == {s: v[:3] for s, v in PORTS.items()}
    defaults = [v[1] for v in published.values()]
    assert len(defaults) == len(set(defaults)), "two services publish the same host port"
    assert published["namenode"][2] == 9870 and published["resourcemanager"][2] == 8088
    assert published["spark-history"][2] == 18080


def test_health_gates_start_up(compose):
    s = compose["services"]
    for name, svc in s.items():
        assert svc["healthcheck"]["test"][0] == "CMD", name
    # The client (where jobs are submitted) starts once every Hadoop daemon is healthy.
    assert s["client"]["depends_on"] == {d: {"condition": "service_healthy"} for d in SERVICES
                                         if d not in ("client", "spark-history")}
    assert s["spark-history"]["depends_on"] == {"namenode": {"condition": "service_healthy"}}
    # Workers start with their master (they retry until it answers): start-up runs in parallel.
    for dn in ("datanode-1", "datanode-2"):
        assert s[dn]["depends_on"] == {"namenode": {"condition": "service_started"}}
    for nm in ("nodemanager-1", "nodemanager-2"):
        assert s[nm]["depends_on"] == {"resourcemanager": {"condition": "service_started"}}


def test_mounts_exist_and_hdfs_lives_on_volumes(compose):
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src, dst = vol.split(":")[:2]
            if src.startswith("."):
                assert (REPO / src).exists(), f"{name} mounts {src}, which is not in the repository"
            else:
                assert src in compose["volumes"] and dst == "/data", (name, vol)
    assert {v.split(":")[0] for s in compose["services"].values() for v in s["volumes"]
            if not v.startswith(".")} == {"namenode", "datanode-1", "datanode-2"}


def test_hadoop_conf_fits_the_services():
    core, hdfs, yarn = _site("core-site.xml"), _site("hdfs-site.xml"), _site("yarn-site.xml")
    assert core["fs.defaultFS"] == "hdfs://namenode:8020"
    assert hdfs["dfs.namenode.rpc-address"] == "namenode:8020"
    assert hdfs["dfs.webhdfs.enabled"] == "true"
    assert int(hdfs["dfs.replication"]) == sum(s.startswith("datanode-") for s in SERVICES) == 2
    assert hdfs["dfs.namenode.avoid.read.stale.datanode"] == "true"
    assert hdfs["dfs.namenode.name.dir"] == "file:///data/name"
    assert yarn["yarn.resourcemanager.hostname"] == "resourcemanager"
    assert yarn["yarn.nodemanager.vmem-check-enabled"] == "false"
    assert _site("capacity-scheduler.xml")["yarn.scheduler.capacity.root.queues"] == "default"
    assert (REPO / "conf" / "hadoop" / "log4j.properties").is_file()


def test_spark_containers_spread_over_both_nodemanagers():
    """An AM and an executor fit on one NodeManager, two executors do not: the two executors
    land on the two NodeManagers, which the e2e test asserts."""
    spark, yarn = _spark_defaults(), _site("yarn-site.xml")
    nm = int(yarn["yarn.nodemanager.resource.memory-mb"])
    step = int(yarn["yarn.scheduler.minimum-allocation-mb"])
    up = lambda mib: -(-mib // step) * step  # noqa: E731  YARN rounds requests up
    executor = up(_mib(spark["spark.executor.memory"]) + _mib(spark["spark.executor.memoryOverhead"]))
    am = up(_mib(spark["spark.yarn.am.memory"]) + _mib(spark["spark.yarn.am.memoryOverhead"]))
    driver = up(_mib(spark["spark.driver.memory"]) + _mib(spark["spark.driver.memoryOverhead"]))
    assert 2 * executor > nm and executor + max(am, driver) <= nm
    assert spark["spark.executor.instances"] == "2" and spark["spark.master"] == "yarn"
    # Spark's jars come from the image on every node, not from an upload per submit.
    assert spark["spark.yarn.jars"] == "local:/opt/spark-jars/*"
    assert "/opt/spark-jars" in (REPO / "docker" / "Dockerfile").read_text()
    py = spark["spark.executorEnv.PYSPARK_PYTHON"]
    assert py == spark["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] == spark["spark.pyspark.python"]
    assert f"PYSPARK_PYTHON={py}" in (REPO / "docker" / "Dockerfile").read_text()


def test_image_inputs():
    allow = [l[1:].split("/**")[0] for l in (REPO / ".dockerignore").read_text().splitlines()
             if l.startswith("!")]
    assert sorted(allow) == sorted(CONTEXT), "keep .dockerignore and composecluster.image.CONTEXT in step"
    pom = (REPO / "docker" / "hadoop" / "pom.xml").read_text()
    assert "<artifactId>hadoop-hdfs-client</artifactId>" in pom
    version = re.compile(r"<hadoop.version>([^<]+)</hadoop.version>")
    assert version.search(pom)[1] == version.search((REPO / "scripts" / "pom.xml").read_text())[1]
    for f in (REPO / "docker" / "bin").iterdir():
        assert f.stat().st_mode & 0o111, f"{f} is not executable"
    assert os.access(SCRIPT, os.X_OK) and os.access(REPO / "scripts" / "ci-compose.sh", os.X_OK)


@pytest.mark.parametrize("args,env,message", [
    (["up"], {"RNN_SPARK_COMPOSE_NN_PORT": "98765"}, "RNN_SPARK_COMPOSE_NN_PORT='98765' is not a port"),
    (["up", "--timeout", "0"], {}, "--timeout 0 must be positive"),
    (["up", "--ca-cert", "/nonexistent/ca.crt"], {}, "CA certificate path /nonexistent/ca.crt does not exist"),
    (["up", "--ca-cert", str(COMPOSE)], {}, "is not a PEM certificate"),
    (["status"], {"RNN_SPARK_COMPOSE_PROJECT": "Bad Name"}, "is not a compose project name"),
    (["status"], {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, "cannot reach the Docker engine"),
    (["build"], {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, "cannot reach the Docker engine"),
    (["build", "--ca-cert", "/nonexistent/ca.crt"], {}, "CA certificate path /nonexistent/ca.crt does not exist"),
])
def test_script_rejects_bad_input_with_one_line(args, env, message, tmp_path, tmp_path_factory):
    env = {**os.environ, **env}
    if "DOCKER_HOST" in env:
        docker = shutil.which("docker")
        if docker is None:
            pytest.skip("docker CLI not installed")
        # as on a fresh machine: a bare Docker CLI, neither docker-compose nor a daemon on PATH
        bare = tmp_path_factory.mktemp("bare-bin")
        (bare / "docker").symlink_to(docker)
        env["PATH"] = str(bare)
    r = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                       env=env, timeout=60, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert r.stdout == "" and list(tmp_path.iterdir()) == []


def test_script_help_has_examples():
    r = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "Examples:" in r.stdout and "compose-cluster up" in r.stdout
