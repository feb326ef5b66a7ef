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
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
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


def local_spark_jars() -> dict:
    """Spark installed on the nodes (the test cluster's one node is this machine), as on many
    clusters and the compose cluster: spark.yarn.jars=local:..., so no ~400 MB archive of
    pyspark's jars is staged on HDFS and unpacked into the first container (two minutes of a
    loaded CI machine). tests/e2e covers the staged archive."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        return {}
    return {"spark.yarn.jars": f"local:{Path(spec.origin).parent / 'jars'}/*"}


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
        for k, v in {**SMALL_YARN, **local_spark_jars()}.items():
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


SRC = str(Path(sysconfig.get_paths()["stdlib"]) / "json" / "*.py")  # text every machine has
INGEST = ["--seq-len", "33", "--rows-per-group", "64", "--seed", "3", "--quiet"]
TRAIN = ["--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
         "--steps-per-round", "2", "--workers", "2", "--max-rounds", "4",
         "--validate-every", "2", "--checkpoint-every", "2", "--seed", "7", "--quiet"]


@dataclass(frozen=True)
class EdgeRun:
    """The session's dataset and run, made on the edge node; every test that reads them shares
    them (an ingest and a training run each, not one per test)."""

    base: str                            # hdfs:// directory of the session, deleted at its end
    ds: str                              # `rnn-spark ingest text SRC` with alice's kinit ticket
    run: str                             # `rnn-spark --principal/--keytab train` on local Spark
    train: subprocess.CompletedProcess   # that train, for the test that asserts it


@pytest.fixture(scope="session")
def edge(secure_cluster, login) -> EdgeRun:
    from rnn_spark import fs

    base = secure_cluster.uri(f"/user/alice/t/s-{secrets.token_hex(4)}")
    ds, run = fs.join(base, "ds"), fs.join(base, "run")
    r = secure_cluster.cli("ingest", "text", SRC, "--out", ds, *INGEST, user="alice")
    assert r.returncode == 0, r.stderr[-3000:]
    # no ticket cache: the keytab login lives in the driver, and local Spark's Python workers
    # get it from there (they had no ticket before)
    t = secure_cluster.cli("--principal", secure_cluster.principal("alice"), "--keytab",
                           secure_cluster.keytab("alice"), "train", "--data", ds, "--run-dir",
                           run, "--master", "local[2]", *TRAIN, user=None)
    yield EdgeRun(base, ds, run, t)
    with login():
        fs.rm(base, recursive=True, missing_ok=True)


@pytest.fixture(scope="session")
def edge_run(edge) -> EdgeRun:
    """``edge`` whose training succeeded (else each test that needs the run says why not)."""
    assert edge.train.returncode == 0, edge.train.stderr[-3000:]
    return edge


_JOBS: list = []  # the session's YarnJobs, for the summary at its end


@pytest.fixture(scope="session")
def yarn_jobs(secure_cluster, edge_run, login):
    """Every YARN application of tests/secure, started at once in the background (see
    secure_jobs.py): train in client and cluster mode on the edge dataset, env-check, and the
    chain ingest (cluster mode, sources in HDFS) -> evaluate (client) and predict (cluster) of
    the edge run on the dataset YARN wrote."""
    from rnn_spark import fs
    from rnn_spark.submit import flow, stage
    from secure_jobs import YarnJobs

    base = edge_run.base
    with login():
        # one upload of the environment before the submits run side by side (the first
        # submits would each upload it)
        flow.resolve_env(None, stage.default_staging_dir(), dry_run=False)
        for path in sorted(Path(SRC).parent.glob(Path(SRC).name)):
            fs.write_bytes(fs.join(base, "src", path.name), path.read_bytes())
    env = secure_cluster.env(None)  # made here: tests change os.environ while jobs start
    jobs = YarnJobs(lambda args: secure_cluster.cli(*args, env=env))
    _JOBS.append(jobs)
    client, cluster = secure_cluster.submit_args("client"), secure_cluster.submit_args("cluster")
    jobs.start("ingest", *cluster, "ingest", "text", fs.join(base, "src", "*.py"), "--out",
               fs.join(base, "ds-yarn"), "--engine", "spark", *INGEST)
    for mode, args in (("cluster", cluster), ("client", client)):
        jobs.start(f"train-{mode}", *args, "train", "--data", edge_run.ds, "--run-dir",
                   fs.join(base, f"run-{mode}"), "--runner", "spark", *TRAIN)
    jobs.start("env-check", *client, "env-check", "--tasks", "2", "--probe",
               fs.join(base, "probe"))
    jobs.start("evaluate", *client, "evaluate", "--model", edge_run.run, "--data",
               fs.join(base, "ds-yarn"), "--json", after="ingest")
    jobs.start("predict", *cluster, "predict", "--model", edge_run.run, "--data",
               fs.join(base, "ds-yarn"), "--out", fs.join(base, "preds-yarn"), after="ingest")
    yield jobs
    jobs.wait_all()  # before edge's teardown deletes what they read


@pytest.fixture(scope="session", autouse=True)
def _yarn_jobs_first(request):
    """Start the YARN applications before the first test when the session has a test that
    needs them; a failure to start them is that test's to report."""
    if any("yarn_jobs" in getattr(item, "fixturenames", ()) for item in request.session.items):
        try:
            request.getfixturevalue("yarn_jobs")
        except Exception:
            pass


def pytest_terminal_summary(terminalreporter):
    for jobs in _JOBS:
        lines = jobs.summary()
        terminalreporter.write_line(f"secured YARN applications: {len(lines)}")
        for line in lines:
            terminalreporter.write_line(f"  {line}")
