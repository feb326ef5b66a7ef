"""A second, throw-away cluster (shifted ports, own state dir): start, run a YARN app, and
`stop` while its containers are busy. Nothing may survive: no JVM, no container, no port."""
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "hadoop-cluster"
sys.path.insert(0, str(REPO / "scripts"))
from testcluster import procs  # noqa: E402
from testcluster.layout import PORTS  # noqa: E402

SLEEPER = textwrap.dedent("""
    import time
    from pyspark.sql import SparkSession
    sc = SparkSession.builder.getOrCreate().sparkContext
    sc.parallelize(range(2), 2).foreach(lambda _: time.sleep(600))
""")


@pytest.mark.slow
def test_stop_while_containers_run_leaves_nothing(tmp_path):
    off = next((o for o in range(23000, 40000, 397)
                if all(procs.port_free("127.0.0.1", p + o) for p, _ in PORTS.values())), None)
    if off is None:
        pytest.skip("no free block of ports for a second cluster")
    state = tmp_path / "cluster"
    env = {k: v for k, v in os.environ.items() if k not in ("HADOOP_CONF_DIR", "YARN_CONF_DIR")}
    env.update(RNN_SPARK_CLUSTER_DIR=str(state), RNN_SPARK_CLUSTER_PORT_OFFSET=str(off))
    r = subprocess.run([sys.executable, str(SCRIPT), "start"], env=env, capture_output=True,
                       text=True, timeout=300)
    submit = None
    try:
        assert r.returncode == 0, r.stderr
        jvm = int((state / "cluster.pid").read_text())
        job = tmp_path / "sleeper.py"
        job.write_text(SLEEPER)
        py = sys.executable
        spark_env = dict(env, HADOOP_CONF_DIR=str(state / "conf"), SPARK_LOCAL_IP="127.0.0.1",
                         PYSPARK_PYTHON=py)
        submit = subprocess.Popen(
            [str(Path(py).parent / "spark-submit"), "--master", "yarn",
             "--conf", "spark.executor.instances=2", "--conf", "spark.executor.memory=512m",
             "--conf", "spark.yarn.am.memory=512m", "--conf", "spark.ui.enabled=false",
             "--conf", f"spark.executorEnv.PYSPARK_PYTHON={py}",
             "--conf", f"spark.yarn.appMasterEnv.PYSPARK_PYTHON={py}", str(job)],
            env=spark_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=tmp_path)
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:  # wait for the executors' Python workers
            kids = [p for p in procs.under(state) if p != jvm]
            if sum("pyspark" in procs.cmdline(p) or "python" in procs.cmdline(p) for p in kids):
                break
            assert submit.poll() is None, "spark-submit ended before its executors ran"
            time.sleep(1)
        else:
            pytest.fail("executors did not start within 240 s")
        assert procs.alive(jvm)
    finally:
        r = subprocess.run([sys.executable, str(SCRIPT), "stop"], env=env, capture_output=True,
                           text=True, timeout=120)
        if submit is not None:
            submit.kill()
            submit.wait()
    assert r.returncode == 0, r.stderr
    assert procs.under(state) == []
    assert not (state / "cluster.pid").exists() and not (state / "work").exists()
    assert all(procs.port_free("127.0.0.1", p + off) for p, _ in PORTS.values())
