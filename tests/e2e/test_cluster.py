"""Proof the test cluster is real: WebHDFS -> Spark over hdfs://, and PySpark jobs submitted
to YARN (client and cluster deploy modes) whose executors read HDFS in YARN containers, on the
containers' own bare Python (pyspark comes from the zip spark-submit ships)."""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "hadoop-cluster"

LOCAL_READ = textwrap.dedent("""
    import sys
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.master("local[1]").config("spark.ui.enabled", "false").getOrCreate()
    rows = spark.sparkContext.textFile(sys.argv[1]).collect()
    print("LINES=" + "|".join(rows))
    spark.stop()
""")

# Executors report where they ran (a YARN container's working directory) and what they read.
YARN_JOB = textwrap.dedent("""
    import json, os, socket, sys
    from pyspark.sql import SparkSession
    src, dst = sys.argv[1], sys.argv[2]
    spark = SparkSession.builder.appName("rnn-spark-e2e-" + sys.argv[3]).getOrCreate()
    sc = spark.sparkContext
    def where(it):
        n = sum(int(x) for x in it)
        yield {"sum": n, "cwd": os.getcwd(), "container": os.environ.get("CONTAINER_ID", ""),
               "python": sys.executable}
    parts = sc.textFile(src, minPartitions=4).mapPartitions(where).collect()
    out = {"total": sum(p["sum"] for p in parts), "parts": parts,
           "master": sc.master, "deploy_mode": sc.getConf().get("spark.submit.deployMode")}
    sc.parallelize([json.dumps(out)], 1).saveAsTextFile(dst)
    print("RESULT " + json.dumps(out))
    spark.stop()
""")


def test_webhdfs_write_then_spark_reads_hdfs(hadoop_cluster, hdfs_client, hdfs_tmp, tmp_path):
    path = f"{hdfs_tmp}/hello.txt"
    hdfs_client.write(path, data="alpha\nbeta\ngamma\n", encoding="utf-8")
    assert hdfs_client.status(path)["length"] == 17
    script = tmp_path / "read.py"
    script.write_text(LOCAL_READ)
    r = subprocess.run([sys.executable, str(script), hadoop_cluster.uri(path)],
                       env=hadoop_cluster.env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "LINES=alpha|beta|gamma" in r.stdout


@pytest.mark.parametrize("deploy_mode", ["client", "cluster"])
def test_spark_submit_on_yarn_reads_hdfs(hadoop_cluster, hdfs_client, hdfs_tmp, tmp_path,
                                         deploy_mode):
    numbers = list(range(1, 1001))
    src, dst = f"{hdfs_tmp}/numbers.txt", f"{hdfs_tmp}/out"
    hdfs_client.write(src, data="\n".join(map(str, numbers)) + "\n", encoding="utf-8")
    script = tmp_path / "job.py"
    script.write_text(YARN_JOB)
    r = hadoop_cluster.spark_submit(script, hadoop_cluster.uri(src), hadoop_cluster.uri(dst),
                                    deploy_mode, deploy_mode=deploy_mode, ship_env=False,
                                    conf={"spark.app.name": f"rnn-spark-e2e-{deploy_mode}"})
    if deploy_mode == "client":
        assert "RESULT " in r.stdout
    part = sorted(f for f in hdfs_client.list(dst) if f.startswith("part-"))[0]
    with hdfs_client.read(f"{dst}/{part}", encoding="utf-8") as f:
        out = json.loads(f.read())
    assert out["total"] == sum(numbers)
    assert out["master"] == "yarn" and out["deploy_mode"] == deploy_mode
    assert len(out["parts"]) >= 4
    for p in out["parts"]:  # every task ran inside a YARN container, on its bare Python:
        assert "container_" in p["cwd"] and p["container"].startswith("container_"), p
        assert p["python"] == hadoop_cluster.python, p  # plain PySpark needs nothing shipped
    apps = [a for a in hadoop_cluster.yarn_apps() if a["name"] == f"rnn-spark-e2e-{deploy_mode}"]
    assert apps, [a["name"] for a in hadoop_cluster.yarn_apps()]
    latest = max(apps, key=lambda a: a["startedTime"])
    assert latest["finalStatus"] == "SUCCEEDED", latest


def test_status_and_start_reuse_the_running_cluster(hadoop_cluster):
    """`status` reports it healthy; `start` on a running cluster reuses it (same pid)."""
    if hadoop_cluster.state_dir is None:
        pytest.skip("cluster not started by scripts/hadoop-cluster")
    env = dict(hadoop_cluster.env, RNN_SPARK_CLUSTER_DIR=str(hadoop_cluster.state_dir))
    before = json.loads((hadoop_cluster.state_dir / "cluster.json").read_text())
    r = subprocess.run([sys.executable, str(SCRIPT), "status", "--json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert rep["healthy"] and rep["health"]["hdfs"]["live_datanodes"] >= 1
    assert rep["health"]["yarn"]["active_nodes"] >= 1
    r = subprocess.run([sys.executable, str(SCRIPT), "start"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"export HADOOP_CONF_DIR={hadoop_cluster.conf_dir}"
    assert "reusing it" in r.stderr
    after = json.loads((hadoop_cluster.state_dir / "cluster.json").read_text())
    assert after["pid"] == before["pid"]
