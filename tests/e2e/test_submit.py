"""`rnn-spark submit` against the real YARN test cluster, whose containers run a bare Python
(no numpy, pyarrow, hdfs, click or rnn_spark). Training itself: test_train_yarn.py."""

import json
import os
import tarfile
from pathlib import Path

from rnn_spark import fs
from rnn_spark.fs.uri import path_of
from rnn_spark.submit import pack

REPO = Path(__file__).resolve().parents[2]


def _driver_output(hadoop_cluster, app_id: str) -> str:
    """A cluster-mode driver's output (the AM container's stdout): what `yarn logs` shows. The
    MiniCluster keeps container logs under its work directory."""
    found = sorted(hadoop_cluster.state_dir.glob(f"work/**/{app_id}/container_*_01_000001/stdout"))
    return found[0].read_text(errors="replace") if found else ""


def test_plain_spark_submit_without_the_environment_fails_with_a_hint(hadoop_cluster, hdfs_tmp):
    """Cluster mode: the driver starts on the node's bare Python; jobs/train.py says what to do."""
    before = {a["id"] for a in hadoop_cluster.yarn_apps()}
    r = hadoop_cluster.spark_submit(REPO / "jobs" / "train.py", "--data", "hdfs:///nowhere",
                                    deploy_mode="cluster", ship_env=False, check=False)
    assert r.returncode != 0
    apps = [a for a in hadoop_cluster.yarn_apps() if a["id"] not in before]
    assert apps and apps[0]["finalStatus"] == "FAILED"
    if hadoop_cluster.state_dir is not None:  # local container logs of the test cluster
        err = _driver_output(hadoop_cluster, apps[0]["id"])
        assert "bare-python" in err and "cannot import rnn_spark" in err, err[-2000:]
        assert "rnn-spark submit train" in err and "Traceback" not in err


def test_env_check_in_cluster_mode_runs_the_shipped_python_and_reuses_the_archive(
        hadoop_cluster, hdfs_client, hdfs_tmp):
    """The driver (YARN AM) and every executor run ./environment/bin/python and import numpy,
    pyarrow, hdfs, click and rnn_spark from the archive; a second submit of the same code
    neither rebuilds nor uploads it."""
    uri = hadoop_cluster.env_archive()  # built and staged (earlier in the session or now)
    env = pack.pack_env()
    assert not env.built
    local_mtime = env.path.stat().st_mtime_ns
    remote = path_of(uri)
    remote_before = hdfs_client.status(remote)
    staged_before = sorted(hdfs_client.list(str(Path(remote).parent)))
    report = hadoop_cluster.uri(f"{hdfs_tmp}/report.json")
    hadoop_cluster.rnn_spark_submit("--num-executors", "2", "env-check", "--tasks", "2",
                                    "--out", report, deploy_mode="cluster")
    assert env.path.stat().st_mtime_ns == local_mtime  # no rebuild
    after = hdfs_client.status(remote)                  # no upload
    assert after["modificationTime"] == remote_before["modificationTime"]
    assert sorted(hdfs_client.list(str(Path(remote).parent))) == staged_before
    rep = json.loads(fs.read_text(report))
    assert rep["python_exec"] == "./environment/bin/python"
    for proc in [rep["driver"], *rep["tasks"]]:
        assert proc["container"] and proc["container"].startswith("container_"), proc
        home = os.path.join(proc["cwd"], "environment")
        assert proc["executable"] == os.path.join(home, "bin", "python"), proc
        for mod, where in proc["modules"].items():
            assert where and where.startswith(home + os.sep), (mod, where)


def test_python_version_check_refuses_an_archive_the_nodes_cannot_run(hadoop_cluster, tmp_path):
    """An environment packed against an interpreter the nodes lack: one line, exit 2, before
    the command runs."""
    venv = tmp_path / "env"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to("/opt/no-such-python3.99/bin/python3.99")
    (venv / "pyvenv.cfg").write_text("home = /opt/no-such-python3.99/bin\n")
    archive = tmp_path / "foreign-env.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        for p in sorted(venv.rglob("*")):
            t.add(p, str(p.relative_to(venv)), recursive=False)
    before = {a["id"] for a in hadoop_cluster.yarn_apps()}
    r = hadoop_cluster.rnn_spark_submit("--env-archive", archive, "--python-version-check",
                                        "train", "--data", "hdfs:///nowhere", check=False,
                                        timeout=600)
    assert r.returncode == 2, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --python-version-check:") and "Python" in last, last
    names = {a["name"] for a in hadoop_cluster.yarn_apps() if a["id"] not in before}
    assert names == {"rnn-spark-python-check"}  # train never started
