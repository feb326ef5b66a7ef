"""docker-compose.yml cannot be started here (no Docker engine), so check it statically: the
services, images, published ports, that every bind-mounted file exists, and that the Hadoop and
Spark configuration it mounts is well-formed and agrees with itself."""
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

REPO = Path(__file__).resolve().parents[1]
COMPOSE = REPO / "docker-compose.yml"
HADOOP_IMAGE = re.compile(r"^apache/hadoop:3(\.\d+){0,2}$")
NODE_IMAGE = "rnn-spark/node:0.1.0"

# service -> (image kind, published "host:container" ports)
EXPECTED = {
    "namenode": ("hadoop", {"8020:8020", "9870:9870"}),
    "datanode": ("hadoop", {"9864:9864"}),
    "resourcemanager": ("hadoop", {"8088:8088"}),
    "nodemanager-1": ("node", {"8042:8042"}),
    "nodemanager-2": ("node", {"8043:8042"}),
    "spark-history": ("node", {"18080:18080"}),
    "client": ("node", {"4040:4040"}),
}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())


def _site(path):
    root = ET.parse(path).getroot()
    assert root.tag == "configuration", path
    return {p.findtext("name"): p.findtext("value") for p in root.iter("property")}


def test_services_images_and_ports(compose):
    services = compose["services"]
    assert set(services) == set(EXPECTED)
    for name, (kind, ports) in EXPECTED.items():
        svc = services[name]
        if kind == "hadoop":
            assert HADOOP_IMAGE.match(svc["image"]), (name, svc["image"])
            assert "build" not in svc
        else:
            assert svc["image"] == NODE_IMAGE, name
            assert svc["build"]["dockerfile"] == "docker/Dockerfile"
            assert (REPO / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
        assert set(map(str, svc.get("ports", []))) == ports, name
    host_ports = [p.split(":")[0] for s in services.values() for p in s.get("ports", [])]
    assert len(host_ports) == len(set(host_ports)), "two services publish the same host port"


def test_commands(compose):
    s = compose["services"]
    assert s["namenode"]["command"] == ["hdfs", "namenode"]
    assert s["datanode"]["command"] == ["hdfs", "datanode"]
    assert s["resourcemanager"]["command"] == ["yarn", "resourcemanager"]
    assert s["nodemanager-1"]["command"] == s["nodemanager-2"]["command"] == ["yarn", "nodemanager"]
    assert s["spark-history"]["command"][-1] == "org.apache.spark.deploy.history.HistoryServer"
    assert s["client"]["command"] == ["client-init.sh"]


def test_every_bind_mount_exists(compose):
    mounted = set()
    for name, svc in compose["services"].items():
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0] if isinstance(vol, str) else vol["source"]
            if src.startswith((".", "/")):
                path = (REPO / src).resolve()
                assert path.exists(), f"{name} mounts {src}, which is not in the repository"
                mounted.add(path)
    conf = REPO / "conf" / "hadoop"
    assert {conf / n for n in ("core-site.xml", "hdfs-site.xml", "yarn-site.xml")} <= mounted


def test_hadoop_services_share_the_conf(compose):
    s = compose["services"]
    ref = sorted(s["namenode"]["volumes"])
    for name in ("datanode", "resourcemanager", "nodemanager-1", "nodemanager-2"):
        assert sorted(s[name]["volumes"]) == ref, name


def test_hadoop_conf_is_consistent():
    conf = REPO / "conf" / "hadoop"
    sites = {f.name: _site(f) for f in conf.glob("*.xml")}
    assert sites["core-site.xml"]["fs.defaultFS"] == "hdfs://namenode:8020"
    assert sites["hdfs-site.xml"]["dfs.namenode.rpc-address"] == "namenode:8020"
    assert sites["hdfs-site.xml"]["dfs.webhdfs.enabled"] == "true"
    yarn = sites["yarn-site.xml"]
    assert yarn["yarn.resourcemanager.hostname"] == "resourcemanager"
    assert yarn["yarn.nodemanager.vmem-check-enabled"] == "false"
    assert float(yarn["yarn.nodemanager.disk-health-checker."
                      "max-disk-utilization-per-disk-percentage"]) >= 95
    assert sites["capacity-scheduler.xml"]["yarn.scheduler.capacity.root.queues"] == "default"


def test_spark_defaults_and_dockerfile_agree(compose):
    spark = {}
    for line in (REPO / "conf" / "spark-defaults.conf").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, value = line.split(None, 1)
            spark[key] = value.strip()
    assert spark["spark.master"] == "yarn"
    assert spark["spark.eventLog.dir"].startswith("hdfs://namenode:8020/")
    assert spark["spark.yarn.archive"].startswith("hdfs://namenode:8020/")
    dockerfile = (REPO / "docker" / "Dockerfile").read_text()
    py = spark["spark.executorEnv.PYSPARK_PYTHON"]
    assert py == spark["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] == spark["spark.pyspark.python"]
    assert f"PYSPARK_PYTHON={py}" in dockerfile
    assert "openjdk-17" in dockerfile and "pip install" in dockerfile
    # The node image takes Hadoop from the same apache/hadoop tag the HDFS/YARN services run.
    hadoop_images = {s["image"] for s in compose["services"].values() if "build" not in s}
    build_args = {s["build"]["args"]["HADOOP_IMAGE"] for s in compose["services"].values()
                  if "build" in s}
    assert len(hadoop_images) == 1 and build_args == hadoop_images
    assert f"ARG HADOOP_IMAGE={hadoop_images.pop()}" in dockerfile
    init = REPO / "docker" / "client-init.sh"
    assert init.is_file() and init.stat().st_mode & 0o111
    assert "/spark-logs" in init.read_text() and "spark-jars.zip" in init.read_text()
