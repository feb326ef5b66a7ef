"""A damaged shard in HDFS stops a YARN training job with one line from the driver, exit code 2:
the task's DataError reaches the driver as itself, not as Spark's Java/Python stack, unretried."""

import subprocess
import sysconfig
from pathlib import Path

from rnn_spark import data, fs

REPO = Path(__file__).resolve().parents[2]


def test_damaged_shard_on_yarn_is_one_line(hadoop_cluster, hdfs_tmp):
    ds = hadoop_cluster.uri(f"{hdfs_tmp}/ds")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    m = data.ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=33, rows_per_group=64,
                         seed=3, quiet=True, engine="local")
    shard = m.work_units("train")[0].shard
    fs.write_bytes(shard, fs.read_bytes(shard)[:-100], overwrite=True)  # truncated
    cmd = hadoop_cluster.spark_submit_cmd(
        REPO / "jobs" / "train.py", "--data", ds, "--run-dir", hadoop_cluster.uri(f"{hdfs_tmp}/run"),
        "--runner", "spark", "--quiet", "--hidden-sizes", "8", "--embedding-size", "4", "--k1", "8",
        "--batch-size", "4", "--steps-per-round", "1", "--workers", "2", "--max-rounds", "2",
        deploy_mode="client")
    r = subprocess.run(cmd, env=hadoop_cluster.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=600)
    out = r.stdout + r.stderr  # spark-submit passes the Python driver's stderr to its stdout
    assert r.returncode == 2, out[-4000:]
    errors = [line for line in out.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and shard in errors[0] and "ingest verify" in errors[0], out[-4000:]
    for noise in ("Traceback", "PythonException", "Py4JJavaError", "Lost task"):
        assert noise not in out, out[-4000:]
