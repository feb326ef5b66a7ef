"""Fixtures for tests against the real Hadoop test cluster (HDFS + YARN).

Start the cluster first::

    eval "$(scripts/hadoop-cluster start)"     # prints export HADOOP_CONF_DIR=...
    python3 -m pytest tests/e2e -q
    scripts/hadoop-cluster stop

or let CI do all three: ``scripts/ci-cluster.sh python3 -m pytest tests/e2e``.

Everything under tests/e2e/ gets the ``e2e`` marker. When no cluster answers, tests that use
``hadoop_cluster`` are SKIPPED, unless ``RNN_SPARK_E2E=1`` (CI sets it): then they FAIL with
the reason. The cluster is found through ``HADOOP_CONF_DIR`` (if it was written by
scripts/hadoop-cluster, or RNN_SPARK_E2E=1 says to trust it), else through the state
directory ``$RNN_SPARK_CLUSTER_DIR`` (default ``<repo>/.cluster``).

Fixture API
-----------
``hadoop_cluster`` (session) -> ``HadoopCluster`` with
    conf_dir       Path, the HADOOP_CONF_DIR (core-site, hdfs-site, yarn-site, mapred-site)
    namenode_uri   "hdfs://127.0.0.1:8020"
    webhdfs_url    "http://127.0.0.1:9870"
    rm_url         "http://127.0.0.1:8088"  (ResourceManager REST: /ws/v1/cluster/...)
    user           HDFS/YARN user name
    python         the containers' default Python: the cluster's bare venv (no numpy, pyarrow,
                   hdfs, click, rnn_spark), as on a real cluster's nodes
    env            dict for subprocesses: os.environ + HADOOP_CONF_DIR, YARN_CONF_DIR,
                   SPARK_LOCAL_IP=127.0.0.1, PYSPARK_PYTHON, PYSPARK_DRIVER_PYTHON
    env_archive()  hdfs:// URI of the packed rnn-spark environment (rnn_spark.submit: built once
                   per content into ~/.cache/rnn-spark/envs, uploaded once per cluster)
    uri(path)      "/a/b" -> "hdfs://127.0.0.1:8020/a/b"
    client()       an ``hdfs.InsecureClient`` (WebHDFS) for the cluster
    spark_conf(deploy_mode="client", ship_env=True, **extra) -> dict of --conf settings for
                   YARN (small containers, a spark.yarn.archive of pyspark's jars staged on HDFS
                   once per cluster so a submit does not upload ~400 MB -- pass
                   spark_yarn_archive=None to skip --, and with ship_env the packed environment
                   as ./environment with PYSPARK_PYTHON=./environment/bin/python for AM and
                   executors; without it containers run their bare default Python)
    spark_submit_cmd(script, *args, deploy_mode="client", conf=None, ship_env=True) -> argv
    spark_submit_env(deploy_mode="client", ship_env=True) -> env dict for that spark-submit
    rnn_spark_submit(*args, deploy_mode="client", conf=None, timeout=900, check=True)
                   runs ``rnn-spark submit`` with the small-container settings above
    spark_submit(script, *args, deploy_mode="client", conf=None, timeout=600, ship_env=True,
                 check=True)
                   runs it; returns CompletedProcess (text, stdout+stderr merged in .stdout);
                   with check, fails the test with the log tail on a non-zero exit.
    yarn_apps()    list of application dicts from the RM REST API
``hdfs_client`` (session) -> ``hdfs.InsecureClient``
``hdfs_tmp`` (function) -> str, a fresh HDFS directory path (e.g. "/tmp/e2e/test_x-1a2b3c4d"),
    created before and deleted after the test; ``hadoop_cluster.uri(hdfs_tmp)`` for hdfs://.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
REPO = E2E_DIR.parents[1]
GENERATED_MARK = "Written by scripts/hadoop-cluster"
ENV_PYTHON = "./environment/bin/python"  # the packed environment in every container


def pytest_collection_modifyitems(config, items):
    for item in items:
        if E2E_DIR in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _site(conf_dir: Path, name: str) -> dict[str, str]:
    f = conf_dir / name
    if not f.exists():
        return {}
    out = {}
    for prop in ET.parse(f).getroot().iter("property"):
        n, v = prop.findtext("name"), prop.findtext("value")
        if n:
            out[n.strip()] = (v or "").strip()
    return out


def _http_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


@dataclass
class HadoopCluster:
    conf_dir: Path
    namenode_uri: str
    webhdfs_url: str
    rm_url: str
    user: str
    python: str = sys.executable
    env: dict = field(default_factory=dict)
    state_dir: Path | None = None
    _archive: str | None = None
    _env_uri: str | None = None

    def uri(self, path: str) -> str:
        return self.namenode_uri + "/" + path.lstrip("/")

    def client(self):
        import hdfs
        return hdfs.InsecureClient(self.webhdfs_url, user=self.user)

    def yarn_apps(self) -> list[dict]:
        apps = _http_json(f"{self.rm_url}/ws/v1/cluster/apps").get("apps") or {}
        return apps.get("app") or []

    # -- Spark on YARN -------------------------------------------------------------------
    def staging_dir(self) -> str:
        """Where rnn-spark submit stages archives by default (hdfs:///user/$USER/.rnn-spark/envs)."""
        return self.uri(f"/user/{self.user}/.rnn-spark/envs")

    def spark_yarn_archive(self) -> str:
        """hdfs:// URI of a stored zip of pyspark's jars, uploaded once per cluster (the one
        rnn-spark submit stages)."""
        if not self._archive:
            from rnn_spark.submit import pack, stage
            cache = pack.cache_dir()
            cache.mkdir(parents=True, exist_ok=True)
            self._archive = stage.spark_jars_archive(self.staging_dir(), cache)
        return self._archive

    def env_archive(self) -> str:
        """hdfs:// URI of the packed rnn-spark environment, staged once per content."""
        if self._env_uri:
            return self._env_uri
        from rnn_spark.submit import pack, stage
        env = pack.pack_env()
        self._env_uri, _ = stage.stage_env(env.path, env.path.name, self.staging_dir())
        return self._env_uri

    def spark_conf(self, deploy_mode: str = "client", ship_env: bool = True,
                   **extra) -> dict[str, str]:
        conf = {
            "spark.master": "yarn",
            "spark.submit.deployMode": deploy_mode,
            "spark.executor.instances": "2",
            "spark.executor.cores": "1",
            "spark.executor.memory": "512m",
            "spark.executor.memoryOverhead": "384m",
            "spark.driver.memory": "512m",
            "spark.yarn.am.memory": "512m",
            "spark.yarn.am.cores": "1",
            "spark.ui.enabled": "false",
            "spark.yarn.submit.waitAppCompletion": "true",
            "spark.yarn.maxAppAttempts": "1",
            "spark.hadoop.fs.defaultFS": self.namenode_uri,
        }
        if ship_env:
            conf["spark.yarn.dist.archives"] = f"{self.env_archive()}#environment"
            for k in ("yarn.appMasterEnv.PYSPARK_PYTHON", "yarn.appMasterEnv.PYSPARK_DRIVER_PYTHON",
                      "executorEnv.PYSPARK_PYTHON"):
                conf[f"spark.{k}"] = ENV_PYTHON
        archive = extra.pop("spark_yarn_archive", "auto")
        if archive == "auto":
            archive = self.spark_yarn_archive()
        if archive:
            conf["spark.yarn.archive"] = archive
        conf.update({k.replace("__", "."): str(v) for k, v in extra.items()})
        return conf

    def spark_submit_env(self, deploy_mode="client", ship_env=True) -> dict:
        """Client mode: the driver runs here (this Python); executors run ./environment/bin/python
        or, without ship_env, the containers' default. Cluster mode: nothing of this machine's
        Python reaches the containers (no PYTHONPATH, no PYSPARK_PYTHON)."""
        env = {k: v for k, v in self.env.items()
               if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
        if deploy_mode == "cluster":
            env.pop("PYTHONPATH", None)
        else:
            env["PYSPARK_DRIVER_PYTHON"] = sys.executable
        if ship_env:
            env["PYSPARK_PYTHON"] = ENV_PYTHON
        return env

    def spark_submit_cmd(self, script, *args, deploy_mode="client", conf=None,
                         ship_env=True) -> list[str]:
        settings = self.spark_conf(deploy_mode, ship_env=ship_env)
        settings.update(conf or {})
        from rnn_spark.submit.command import find_spark_submit
        cmd = [find_spark_submit()]
        cmd += ["--master", settings.pop("spark.master"),
                "--deploy-mode", settings.pop("spark.submit.deployMode")]
        for k, v in settings.items():
            cmd += ["--conf", f"{k}={v}"]
        return cmd + [str(script), *map(str, args)]

    def spark_submit(self, script, *args, deploy_mode="client", conf=None, timeout=600,
                     ship_env=True, check=True):
        cmd = self.spark_submit_cmd(script, *args, deploy_mode=deploy_mode, conf=conf,
                                    ship_env=ship_env)
        try:
            r = subprocess.run(cmd, env=self.spark_submit_env(deploy_mode, ship_env),
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
            pytest.fail(f"spark-submit ({deploy_mode}) timed out after {timeout}s:\n"
                        + out[-4000:], pytrace=False)
        if check and r.returncode != 0:
            pytest.fail(f"spark-submit ({deploy_mode}) exited {r.returncode}:\n"
                        + r.stdout[-6000:], pytrace=False)
        return r


    def rnn_spark_submit(self, *args, deploy_mode="client", conf=None, timeout=900, check=True,
                         env=None):
        """``rnn-spark submit --deploy-mode M --conf <small containers> ARGS...`` (ARGS: more
        submit options, then the command and its arguments); CompletedProcess with .stdout and
        .stderr apart; with check, fails the test with the output's tail on a non-zero exit."""
        settings = self.spark_conf(deploy_mode, ship_env=False)
        for k in ("spark.master", "spark.submit.deployMode"):
            settings.pop(k)
        settings.update(conf or {})
        cmd = [sys.executable, "-c", "import sys; from rnn_spark.cli import main; sys.exit(main())",
               "submit", "--deploy-mode", deploy_mode]
        for k, v in settings.items():
            cmd += ["--conf", f"{k}={v}"]
        run_env = {k: v for k, v in (env or self.env).items()
                   if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
        try:
            r = subprocess.run([*cmd, *map(str, args)], env=run_env, capture_output=True,
                               text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"rnn-spark submit timed out after {timeout}s:\n{e.stderr!s:.4000}",
                        pytrace=False)
        if check and r.returncode != 0:
            pytest.fail(f"rnn-spark submit ({deploy_mode}) exited {r.returncode}:\n"
                        + r.stderr[-6000:], pytrace=False)
        return r


def _from_conf_dir(conf_dir: Path, state_dir: Path | None) -> HadoopCluster:
    core, hdfs_site, yarn = (_site(conf_dir, n) for n in
                             ("core-site.xml", "hdfs-site.xml", "yarn-site.xml"))
    fs = core.get("fs.defaultFS", "")
    if not fs.startswith("hdfs://"):
        raise LookupError(f"{conf_dir}/core-site.xml has no hdfs:// fs.defaultFS ({fs!r})")
    http = hdfs_site.get("dfs.namenode.http-address") or (
        re.sub(r"^hdfs://([^:/]+).*", r"\1", fs) + ":9870")
    rm = yarn.get("yarn.resourcemanager.webapp.address") or (
        yarn.get("yarn.resourcemanager.hostname", "127.0.0.1") + ":8088")
    user = os.environ.get("HADOOP_USER_NAME") or os.environ.get("USER") or "root"
    python = sys.executable
    if state_dir and (state_dir / "cluster.json").exists():
        info = json.loads((state_dir / "cluster.json").read_text())
        user, python = info.get("user", user), info.get("python", python)
    env = dict(os.environ, HADOOP_CONF_DIR=str(conf_dir), YARN_CONF_DIR=str(conf_dir),
               SPARK_LOCAL_IP="127.0.0.1", PYSPARK_PYTHON=sys.executable,
               PYSPARK_DRIVER_PYTHON=sys.executable)
    return HadoopCluster(conf_dir=conf_dir, namenode_uri=fs.rstrip("/"),
                         webhdfs_url=f"http://{http}", rm_url=f"http://{rm}", user=user,
                         python=python, env=env, state_dir=state_dir)


def _locate() -> HadoopCluster:
    """Find a cluster and check that HDFS and YARN answer; LookupError says why not."""
    state = Path(os.environ.get("RNN_SPARK_CLUSTER_DIR") or REPO / ".cluster").resolve()
    env_conf = os.environ.get("HADOOP_CONF_DIR")
    if env_conf:
        conf = Path(env_conf).resolve()
        ours = GENERATED_MARK in (conf / "core-site.xml").read_text() \
            if (conf / "core-site.xml").exists() else False
        if not ours and os.environ.get("RNN_SPARK_E2E") != "1":
            raise LookupError(
                f"HADOOP_CONF_DIR={conf} was not written by scripts/hadoop-cluster; set "
                "RNN_SPARK_E2E=1 to run the e2e tests against that cluster anyway")
        state_dir = conf.parent if (conf.parent / "cluster.pid").exists() else None
    elif (state / "cluster.json").exists():
        conf, state_dir = state / "conf", state
    else:
        raise LookupError("HADOOP_CONF_DIR is unset and no cluster runs in "
                          f"{state}; start one: eval \"$(scripts/hadoop-cluster start)\"")
    cluster = _from_conf_dir(conf, state_dir)
    try:
        _http_json(f"{cluster.webhdfs_url}/webhdfs/v1/?op=GETFILESTATUS&user.name={cluster.user}")
    except OSError as e:
        raise LookupError(f"HDFS at {cluster.webhdfs_url} (from {conf}) does not answer: {e}; "
                          "start it: eval \"$(scripts/hadoop-cluster start)\"") from None
    try:
        nodes = _http_json(f"{cluster.rm_url}/ws/v1/cluster/metrics")["clusterMetrics"]["activeNodes"]
    except (OSError, KeyError, ValueError) as e:
        raise LookupError(f"YARN at {cluster.rm_url} (from {conf}) does not answer: {e}") from None
    if not nodes:
        raise LookupError(f"YARN at {cluster.rm_url} has no active NodeManager")
    return cluster


@pytest.fixture(scope="session")
def hadoop_cluster() -> HadoopCluster:
    try:
        return _locate()
    except LookupError as e:
        msg = f"no Hadoop test cluster: {e}"
        if os.environ.get("RNN_SPARK_E2E") == "1":
            pytest.fail(msg + " (RNN_SPARK_E2E=1 requires it)", pytrace=False)
        pytest.skip(msg)


@pytest.fixture(scope="session")
def hdfs_client(hadoop_cluster):
    return hadoop_cluster.client()


@pytest.fixture()
def hdfs_tmp(hadoop_cluster, hdfs_client, request):
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:80]
    path = f"/tmp/e2e/{name}-{secrets.token_hex(4)}"
    hdfs_client.makedirs(path)
    yield path
    hdfs_client.delete(path, recursive=True)


@pytest.fixture()
def hdfs(hadoop_cluster, hdfs_tmp, monkeypatch):
    """hdfs:// root of a fresh directory, with rnn_spark.fs pointed at the cluster (through its
    HADOOP_CONF_DIR, no URL or alias from the environment)."""
    from rnn_spark.fs import hdfs_config

    monkeypatch.setenv("HADOOP_CONF_DIR", str(hadoop_cluster.conf_dir))
    for var in ("RNN_SPARK_WEBHDFS_URL", "RNN_SPARK_HDFS_ALIAS"):
        monkeypatch.delenv(var, raising=False)
    hdfs_config.configure(reset=True)
    yield hadoop_cluster.uri(hdfs_tmp)
    hdfs_config.configure(reset=True)
