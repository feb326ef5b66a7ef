"""A DataNode dies mid-training: its JVM is SIGKILLed while a round is held.

The test cluster's own DataNode lives inside the MiniCluster JVM; this module adds a second one as
its own JVM (`scripts/hadoop-cluster add-datanode`), gives the dataset one replica of every block on
each DataNode (replication 2 on the CI cluster), and kills that JVM. The NameNode keeps redirecting reads to the dead
DataNode for minutes; the fs layer must exclude it and read the other replica
(rnn_spark/fs/webhdfs_failover.py). Afterwards the DataNode is restarted on its storage, so later
tests see a whole cluster.
"""

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from fault_tools import (alive, assert_same_weights, cmdline, fault_env, finish, job_env,  # noqa: E402
                         kill_group, release, sigkill, start_job, train_argv, wait_gone, wait_held,
                         weights)

from rnn_spark import config, fs, ingest  # noqa: E402
from rnn_spark.fs.uri import split  # noqa: E402
from rnn_spark.training.loop import train  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
ARGS = ["--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
        "--steps-per-round", "2", "--workers", "2", "--max-rounds", "5", "--validate-every", "5",
        "--checkpoint-every", "5", "--seed", "7"]
HOLD_ROUND = 1


def _cluster_cmd(hadoop_cluster, *args) -> dict:
    info = json.loads((hadoop_cluster.state_dir / "cluster.json").read_text())
    env = dict(os.environ, RNN_SPARK_CLUSTER_DIR=str(hadoop_cluster.state_dir),
               RNN_SPARK_CLUSTER_PORT_OFFSET=str(info["ports"]["namenode_rpc"] - 8020))
    r = subprocess.run([sys.executable, str(REPO / "scripts" / "hadoop-cluster"), *args], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


@pytest.fixture(scope="module")
def second_datanode(hadoop_cluster):
    if hadoop_cluster.state_dir is None:
        pytest.skip("needs a cluster started by scripts/hadoop-cluster (to add a DataNode)")
    dn = _cluster_cmd(hadoop_cluster, "add-datanode")
    yield dn
    if not alive(dn["pid"]):  # killed by the test: restart it, so later tests see a whole cluster
        _cluster_cmd(hadoop_cluster, "add-datanode", "--name", dn["name"])
        _wait_writable(hadoop_cluster)


def _wait_writable(hadoop_cluster, in_a_row: int = 12, timeout: float = 180) -> None:
    """Until the restarted DataNode has registered again, the NameNode may still send writes to its
    old address. Later tests write, so wait until writes succeed many times in a row (each write
    lands on a DataNode the NameNode picks at random)."""
    probe = hadoop_cluster.uri("/tmp/e2e/faults-datanode-probe")
    deadline, ok = time.monotonic() + timeout, 0
    while ok < in_a_row:
        assert time.monotonic() < deadline, "HDFS did not accept writes again after the restart"
        try:
            fs.write_bytes(probe, b"x", overwrite=True)
            ok += 1
        except fs.FsError:
            ok = 0
            time.sleep(2)
    fs.rm(probe, missing_ok=True)


def _live_datanodes(hadoop_cluster) -> int:
    url = (f"{hadoop_cluster.webhdfs_url}/jmx?qry=Hadoop:service=NameNode,"
           "name=FSNamesystemState")
    with urllib.request.urlopen(url, timeout=10) as r:
        return int(json.loads(r.read())["beans"][0]["NumLiveDataNodes"])


def _replicas(hadoop_cluster, path: str) -> int:
    url = (f"{hadoop_cluster.webhdfs_url}/webhdfs/v1{path}?op=GET_BLOCK_LOCATIONS&offset=0"
           f"&length=1&user.name={hadoop_cluster.user}")
    with urllib.request.urlopen(url, timeout=10) as r:
        blocks = json.loads(r.read())["LocatedBlocks"]["locatedBlocks"]
    return min((len(b["locations"]) for b in blocks), default=2)


@pytest.fixture(scope="module")
def replicated_dataset(hadoop_cluster, hdfs_client, second_datanode, tmp_path_factory):
    path = "/tmp/e2e/faults-datanode-dataset"
    uri = hadoop_cluster.uri(path)
    stdlib = tmp_path_factory.mktemp("src")
    for name in ("decoder.py", "encoder.py", "scanner.py"):  # a few shards, small blocks
        (stdlib / name).write_text(Path(json.__file__).with_name(name).read_text())
    ingest.ingest_text([str(stdlib / "*.py")], uri, seq_len=33, rows_per_group=64, seed=3,
                     overwrite=True, quiet=True, engine="local")
    files = [split(f)[2] for f in fs.walk_files(uri)]
    n = _live_datanodes(hadoop_cluster)  # a replica on every DataNode, the one we kill included
    for f in files:
        hdfs_client.set_replication(f, n)
    deadline = time.monotonic() + 120
    while any(_replicas(hadoop_cluster, f) < n for f in files):
        assert time.monotonic() < deadline, f"the NameNode did not make {n} replicas within 120 s"
        time.sleep(1)
    yield uri, files
    fs.rm(uri, recursive=True, missing_ok=True)


def test_training_survives_a_datanode_sigkilled_mid_round(
        hadoop_cluster, second_datanode, replicated_dataset, tmp_path, caplog):
    uri, files = replicated_dataset
    args = dict(zip([a.lstrip("-").replace("-", "_") for a in ARGS[::2]], ARGS[1::2]))
    undisturbed = tmp_path / "undisturbed"
    train(config.load([], {**args, "data.path": uri, "train.run_dir": str(undisturbed),
                           "train.runner": "inline"}), quiet=True)

    faults, run = tmp_path / "faults", tmp_path / "run"
    proc = start_job(train_argv("--data", uri, "--run-dir", str(run), "--runner", "inline", *ARGS),
                     job_env(hadoop_cluster.env, **fault_env(faults, HOLD_ROUND)), tmp_path / "job.log")
    pid = second_datanode["pid"]
    try:
        wait_held(faults, proc)
        assert "org.apache.hadoop.hdfs.server.datanode.DataNode" in cmdline(pid)
        sigkill(pid)
        wait_gone([pid])
        release(faults)
        log = finish(proc)
    finally:
        kill_group(proc)
    assert_same_weights(weights(str(run / "model")), weights(str(undisturbed / "model")))

    # Every read of a file redirected to the dead DataNode went to the other replica instead.
    want = {f: fs.read_bytes(hadoop_cluster.uri(f)) for f in files[:1]}
    with caplog.at_level(logging.WARNING, logger="rnn_spark.fs"):
        for _ in range(20):
            for f, body in want.items():
                assert fs.read_bytes(hadoop_cluster.uri(f)) == body
    # Whether the NameNode sent one of these reads to the dead DataNode is its choice (it usually
    # does within 20 opens, not always): when it did, the read must have failed over.
    failovers = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert all("another replica" in r.getMessage() for r in failovers), log[-2000:]
