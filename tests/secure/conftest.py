"""Fixtures for tests against the secured test cluster (a real KDC, Kerberos HDFS and YARN).

Start it, run the tests, stop it::

    export RNN_SPARK_CLUSTER_DIR=.cluster-secure RNN_SPARK_CLUSTER_PORT_OFFSET=700
    scripts/hadoop-cluster start --secure
    RNN_SPARK_SECURE_CLUSTER_DIR=.cluster-secure python3 -m pytest tests/secure -q
    scripts/hadoop-cluster stop

(scripts/run-tests does all of it after the plain suite.) Everything under tests/secure/ gets the
``e2e`` and ``kerberos`` markers. The tests need the secured cluster, ``kinit``/``klist``
(Debian: krb5-user) and requests-gssapi (``pip install -e '.[kerberos]'``); without one of them
they are SKIPPED with the reason, unless ``RNN_SPARK_E2E=1``: then they FAIL.

As on an edge node, the local login (root) is nobody on the cluster: the test user is the
principal ``alice@EXAMPLE.COM`` (and ``bob`` for refusals), each with a keytab; every CLI run
gets its own ticket cache (``KRB5CCNAME``), empty unless the test ran ``kinit``.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLI = "import sys; from rnn_spark.cli import main; sys.exit(main())"
# what the caller's environment must not bring in: the test decides who is who
SCRUB = ("HADOOP_USER_NAME", "HADOOP_TOKEN", "HADOOP_TOKEN_FILE_LOCATION", "RNN_SPARK_WEBHDFS_URL",
         "RNN_SPARK_HDFS_ALIAS", "RNN_SPARK_HDFS_AUTH", "RNN_SPARK_KERBEROS_PRINCIPAL",
         "RNN_SPARK_KERBEROS_KEYTAB", "KRB5CCNAME", "PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON",
         "SPARK_SUBMIT_OPTS")
SMALL_YARN = {  # small containers, as tests/e2e
    "spark.executor.instances": "2", "spark.executor.cores": "1",
    "spark.executor.memory": "512m", "spark.executor.memoryOverhead": "384m",
    "spark.driver.memory": "512m", "spark.yarn.am.memory": "512m", "spark.yarn.am.cores": "1",
    "spark.ui.enabled": "false", "spark.yarn.maxAppAttempts": "1",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.kerberos)


@dataclass
class SecureCluster:
    root: Path
    info: dict
    tmp: Path

    @property
    def conf_dir(self) -> Path:
        return Path(self.info["conf_dir"])

    @property
    def krb5_conf(self) -> str:
        return self.info["secure"]["krb5_conf"]

    @property
    def realm(self) -> str:
        return self.info["secure"]["realm"]

    def keytab(self, user: str) -> str:
        return self.info["secure"]["keytabs"][user]

    def principal(self, user: str) -> str:
        return f"{user}@{self.realm}"

    def uri(self, path: str) -> str:
        return self.info["namenode_uri"] + "/" + path.lstrip("/")

    def env(self, user: str | None = None) -> dict:
        """Environment for a CLI process: the cluster's conf and realm, and a ticket cache of
        its own that holds ``user``'s ticket (kinit from the keytab) or nothing (None)."""
        env = {k: v for k, v in os.environ.items() if k not in SCRUB}
        cache = self.tmp / f"{user or 'nobody'}-{secrets.token_hex(4)}.ccache"
        env.update(HADOOP_CONF_DIR=str(self.conf_dir), YARN_CONF_DIR=str(self.conf_dir),
                   KRB5_CONFIG=self.krb5_conf, KRB5CCNAME=f"FILE:{cache}",
                   SPARK_LOCAL_IP="127.0.0.1",
                   SPARK_SUBMIT_OPTS=f"-Djava.security.krb5.conf={self.krb5_conf}")
        if user:
            subprocess.run(["kinit", "-kt", self.keytab(user), self.principal(user)], env=env,
                           check=True, capture_output=True, timeout=60)
        return env

    def cli(self, *args, user: str | None = None, env: dict | None = None, timeout: float = 900,
            **kw) -> subprocess.CompletedProcess:
        """``rnn-spark ARGS`` as a process (stdout and stderr apart)."""
        return subprocess.run([sys.executable, "-c", CLI, *map(str, args)],
                              env=env or self.env(user), capture_output=True, text=True,
                              timeout=timeout, **kw)

    def submit_args(self, deploy_mode: str, user: str = "alice") -> list[str]:
        out = ["submit", "--deploy-mode", deploy_mode, "--principal", self.principal(user),
               "--keytab", self.keytab(user)]
        for k, v in SMALL_YARN.items():
            out += ["--conf", f"{k}={v}"]
        return out


def _missing() -> str | None:
    for exe in ("kinit", "klist"):
        if shutil.which(exe) is None:
            return f"{exe} is not on PATH (Debian: apt-get install krb5-user)"
    try:
        import requests_gssapi  # noqa: F401
    except ImportError as exc:
        return f"requests-gssapi cannot be imported ({exc}): pip install -e '.[kerberos]'"
    root = Path(os.environ.get("RNN_SPARK_SECURE_CLUSTER_DIR") or REPO / ".cluster-secure")
    info = root / "cluster.json"
    if not info.exists():
        return (f"no secured test cluster in {root} (RNN_SPARK_SECURE_CLUSTER_DIR): start one "
                "with RNN_SPARK_CLUSTER_DIR=<dir> scripts/hadoop-cluster start --secure")
    if not json.loads(info.read_text()).get("secure"):
        return f"the cluster in {root} is not the secured one (start it with --secure)"
    return None


@pytest.fixture(scope="session")
def secure_cluster(tmp_path_factory) -> SecureCluster:
    why = _missing()
    if why:
        if os.environ.get("RNN_SPARK_E2E") == "1":
            pytest.fail(f"{why} (RNN_SPARK_E2E=1 requires it)", pytrace=False)
        pytest.skip(why)
    root = Path(os.environ.get("RNN_SPARK_SECURE_CLUSTER_DIR") or REPO / ".cluster-secure")
    return SecureCluster(root.resolve(), json.loads((root / "cluster.json").read_text()),
                         tmp_path_factory.mktemp("kerberos"))


@contextlib.contextmanager
def logged_in(cluster: SecureCluster, user: str = "alice"):
    """rnn_spark.fs in this process, logged in as ``user`` from the keytab (no ticket cache)."""
    from rnn_spark.fs import hdfs_config

    saved = dict(os.environ)
    for var in SCRUB:
        os.environ.pop(var, None)
    os.environ.update(KRB5_CONFIG=cluster.krb5_conf, HADOOP_CONF_DIR=str(cluster.conf_dir),
                      KRB5CCNAME=f"FILE:{cluster.tmp / 'in-process-none.ccache'}")
    hdfs_config.configure(reset=True, principal=cluster.principal(user),
                          keytab=cluster.keytab(user))
    try:
        yield
    finally:
        hdfs_config.configure(reset=True)
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="session")
def login(secure_cluster):
    """login(user) -> context manager: rnn_spark.fs in this process as ``user`` (keytab)."""
    return lambda user="alice": logged_in(secure_cluster, user)


@pytest.fixture()
def as_alice(secure_cluster):
    with logged_in(secure_cluster, "alice"):
        yield


@pytest.fixture()
def alice_dir(secure_cluster, as_alice, request):
    """A fresh hdfs:// directory under /user/alice, deleted after the test."""
    from rnn_spark import fs

    name = "".join(c if c.isalnum() else "_" for c in request.node.name)[:60]
    uri = secure_cluster.uri(f"/user/alice/t/{name}-{secrets.token_hex(3)}")
    fs.mkdirs(uri)
    yield uri
    fs.rm(uri, recursive=True, missing_ok=True)
