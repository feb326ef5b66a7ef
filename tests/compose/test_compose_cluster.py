"""The docker-compose cluster end to end: HDFS with two DataNodes, YARN with two NodeManagers,
Spark on YARN from the client container, results checked from the host through WebHDFS.

The inline run (rnn-spark train --runner inline, in the client container: the same image, so
the same numpy/OpenBLAS as the YARN executors) and the YARN runs in client and cluster deploy
mode must give bitwise the same weights. Then one DataNode stops and reads still work.
"""
import io
import os
import time

import numpy as np
import pytest

from rnn_spark import fs

NN = "hdfs://namenode:8020"
BASE = "/tmp/compose-e2e"
DATA = f"{NN}{BASE}/data"
TRAIN_ARGS = ["--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
              "--steps-per-round", "2", "--workers", "2", "--max-rounds", "4",
              "--validate-every", "2", "--checkpoint-every", "2", "--seed", "7"]
BLAS_PINS = {v: os.environ[v] for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if os.environ.get(v)}
NN_JMX = "/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState"


@pytest.fixture(scope="module")
def host_fs(compose):
    """rnn_spark.fs on the host, pointed at the compose NameNode's published WebHDFS port (what
    `scripts/compose-cluster env` tells a user to export)."""
    fs.configure(webhdfs_url=compose.webhdfs_url, user="root")
    yield fs
    fs.configure(webhdfs_url=None, user=None)


def weights(host_fs, run_dir: str) -> dict:
    raw = host_fs.read_bytes(f"{run_dir}/model/weights.npz")
    with np.load(io.BytesIO(raw), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def assert_same_bits(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for k in got:
        assert got[k].dtype == want[k].dtype and got[k].shape == want[k].shape, k
        assert got[k].tobytes() == want[k].tobytes(), f"{k} differs from the inline run"


@pytest.fixture(scope="module")
def dataset(compose, host_fs):
    compose.exec("client", "hdfs", "dfs", "-rm", "-r", "-f", BASE, timeout=120)
    compose.exec("client", "rnn-spark", "ingest", "text", "/usr/lib/python3.11/json/*.py",
                 "-o", DATA, "--seq-len", "33", "--rows-per-group", "64", "--seed", "3",
                 "--engine", "local", "--overwrite", "--quiet", timeout=300)
    assert host_fs.exists(f"{DATA}/manifest.json")
    return DATA


@pytest.fixture(scope="module")
def inline_weights(compose, dataset, host_fs):
    run = f"{NN}{BASE}/inline"
    compose.exec("client", "rnn-spark", "train", "--data", dataset, "--run-dir", run,
                 "--runner", "inline", "--quiet", *TRAIN_ARGS, env=BLAS_PINS, timeout=600)
    return weights(host_fs, run)


def test_cluster_shape_seen_from_the_host(compose):
    nn = compose.get_json(compose.webhdfs_url + NN_JMX)["beans"][0]
    assert nn["NumLiveDataNodes"] == 2
    rm = compose.get_json(compose.rm_url + "/ws/v1/cluster/metrics")["clusterMetrics"]
    assert rm["activeNodes"] == 2
    nodes = compose.get_json(compose.rm_url + "/ws/v1/cluster/nodes")["nodes"]["node"]
    assert sorted(n["nodeHostName"] for n in nodes) == ["nodemanager-1", "nodemanager-2"]
    assert "spark" in compose.get_json(compose.history_url + "/api/v1/version")


def _new_app(compose, before: set) -> dict:
    apps = compose.get_json(compose.rm_url + "/ws/v1/cluster/apps")["apps"]["app"]
    new = [a for a in apps if a["id"] not in before]
    assert len(new) == 1, new
    return new[0]


def _executor_hosts(compose, app_id: str) -> set:
    """Hosts of the executors, from the Spark history server (the event log in HDFS). In cluster
    mode the application has an attempt id ("1"), which is part of the REST path."""
    deadline = time.monotonic() + 120
    while True:
        try:
            app = compose.get_json(f"{compose.history_url}/api/v1/applications/{app_id}")
            attempt = app["attempts"][0].get("attemptId")
            path = f"{app_id}/{attempt}" if attempt else app_id
            execs = compose.get_json(f"{compose.history_url}/api/v1/applications/{path}/allexecutors")
            return {e["hostPort"].rsplit(":", 1)[0] for e in execs if e["id"] != "driver"}
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(3)


@pytest.mark.parametrize("deploy_mode", ["client", "cluster"])
def test_train_on_compose_yarn_equals_inline(compose, host_fs, dataset, inline_weights, deploy_mode):
    run = f"{NN}{BASE}/run-{deploy_mode}"
    apps = compose.get_json(compose.rm_url + "/ws/v1/cluster/apps")["apps"] or {}
    before = {a["id"] for a in apps.get("app", [])}
    # Same BLAS kernels everywhere: the runner hands the driver's OPENBLAS_* to executors; in
    # cluster mode the driver is the YARN AM and gets them as AM environment.
    pins = [a for k, v in BLAS_PINS.items() for a in ("--conf", f"spark.yarn.appMasterEnv.{k}={v}")]
    compose.exec("client", "spark-submit", "--master", "yarn", "--deploy-mode", deploy_mode,
                 "--conf", "spark.executor.instances=2", *pins, "/app/jobs/train.py",
                 "--data", dataset, "--run-dir", run, "--runner", "spark", "--quiet",
                 *TRAIN_ARGS, env=BLAS_PINS, timeout=900)
    app = _new_app(compose, before)
    assert app["finalStatus"] == "SUCCEEDED", app
    assert _executor_hosts(compose, app["id"]) == {"nodemanager-1", "nodemanager-2"}
    assert host_fs.exists(f"{run}/metrics.jsonl")
    assert host_fs.exists(f"{run}/model/weights.npz")
    assert_same_bits(weights(host_fs, f"{NN}{BASE}/run-{deploy_mode}"), inline_weights)


def _namenode(compose) -> dict:
    return compose.get_json(compose.webhdfs_url + NN_JMX)["beans"][0]


def _wait(pred, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}", pytrace=False)
        time.sleep(2)


def test_reads_survive_a_stopped_datanode(compose, host_fs, inline_weights):
    path = f"{BASE}/inline/model/weights.npz"
    fsck = compose.exec("client", "hdfs", "fsck", path, "-files", "-blocks", "-locations").stdout
    assert "repl=2" in fsck and "HEALTHY" in fsck, fsck[-2000:]
    compose.stop("datanode-2")
    try:
        # The NameNode marks it stale within seconds (conf/hadoop/hdfs-site.xml) and then sends
        # WebHDFS readers to the live replica.
        _wait(lambda: _namenode(compose)["NumStaleDataNodes"] + _namenode(compose)["NumDeadDataNodes"] >= 1,
              "the NameNode to notice the stopped DataNode")
        assert_same_bits(weights(host_fs, f"{NN}{BASE}/inline"), inline_weights)  # host, WebHDFS
        out = compose.exec("client", "hdfs", "dfs", "-cat", f"{BASE}/data/manifest.json").stdout
        assert '"splits"' in out  # the client reads a file over HDFS RPC, skipping the dead node
    finally:
        compose.start("datanode-2")
    _wait(lambda: _namenode(compose)["NumLiveDataNodes"] == 2
          and _namenode(compose)["NumStaleDataNodes"] == 0, "the DataNode to come back")
