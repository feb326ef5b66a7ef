"""scripts/hadoop-cluster failure modes: each gives one clear line and exit code 2 (or a
documented status code), never a hang. These need Java and Maven but not a running cluster;
they use throw-away state directories and shifted ports so they never touch .cluster/."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "hadoop-cluster"
sys.path.insert(0, str(REPO / "scripts"))
from testcluster.layout import PORTS  # noqa: E402
from testcluster.procs import port_free  # noqa: E402


def _run(args, env_extra, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "HADOOP_CONF_DIR"}
    env.update(env_extra)
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def _free_offset(skip_first=False):
    """An offset under which every cluster port is free (optionally except namenode_rpc)."""
    for off in range(21000, 40000, 311):
        items = list(PORTS.values())[1 if skip_first else 0:]
        if all(port_free("127.0.0.1", p + off) for p, _ in items) and max(p for p, _ in PORTS.values()) + off < 65536:
            return off
    pytest.skip("no free block of ports for the test cluster")


def _dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def _one_error_line(stderr):
    errors = [ln for ln in stderr.splitlines() if ln.startswith("hadoop-cluster: error:")]
    assert len(errors) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return errors[0]


@pytest.fixture()
def taken_port():
    off = _free_offset(skip_first=True)
    s = socket.socket()
    s.bind(("127.0.0.1", PORTS["namenode_rpc"][0] + off))
    s.listen(1)
    yield off, s.getsockname()[1]
    s.close()


def test_port_taken_names_port_and_process(tmp_path, taken_port):
    off, port = taken_port
    r = _run(["start"], {"RNN_SPARK_CLUSTER_DIR": str(tmp_path / "c"),
                         "RNN_SPARK_CLUSTER_PORT_OFFSET": str(off)})
    assert r.returncode == 2, r.stderr
    line = _one_error_line(r.stderr)
    assert f"port {port} (NameNode RPC" in line and f"pid {os.getpid()}" in line, line
    assert r.stdout == ""  # no export line for a cluster that is not there
    assert not (tmp_path / "c" / "cluster.pid").exists()


def test_stale_pid_file_status_and_stop(tmp_path):
    d = tmp_path / "c"
    d.mkdir()
    (d / "cluster.pid").write_text(f"{_dead_pid()}\n")
    env = {"RNN_SPARK_CLUSTER_DIR": str(d)}
    r = _run(["status"], env)
    assert r.returncode == 1 and "stale pid file" in r.stdout, (r.stdout, r.stderr)
    r = _run(["stop"], env)
    assert r.returncode == 0, r.stderr
    assert not (d / "cluster.pid").exists()
    r = _run(["status"], env)
    assert r.returncode == 1 and "stale pid file" not in r.stdout


def test_start_over_stale_state_cleans_it_then_checks_ports(tmp_path, taken_port):
    off, port = taken_port
    d = tmp_path / "c"
    d.mkdir()
    dead = _dead_pid()
    (d / "cluster.pid").write_text(f"{dead}\n")
    (d / "cluster.json").write_text("{}")
    r = _run(["start"], {"RNN_SPARK_CLUSTER_DIR": str(d), "RNN_SPARK_CLUSTER_PORT_OFFSET": str(off)})
    assert r.returncode == 2
    assert f"removing stale state of an earlier run in {d} (pid {dead} is not running)" in r.stderr
    assert f"port {port}" in _one_error_line(r.stderr)
    assert not (d / "cluster.pid").exists() and not (d / "cluster.json").exists()


def test_env_without_cluster_is_one_line(tmp_path):
    r = _run(["env"], {"RNN_SPARK_CLUSTER_DIR": str(tmp_path / "none")})
    assert r.returncode == 2 and "scripts/hadoop-cluster start" in _one_error_line(r.stderr)


def test_bad_port_offset(tmp_path):
    r = _run(["start"], {"RNN_SPARK_CLUSTER_DIR": str(tmp_path / "c"),
                         "RNN_SPARK_CLUSTER_PORT_OFFSET": "60000"})
    assert r.returncode == 2 and "outside 1024-65535" in _one_error_line(r.stderr)


def test_maven_unreachable_fails_fast_with_one_line(tmp_path):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connection refused
    settings = tmp_path / "settings.xml"
    settings.write_text(f"""<settings><mirrors><mirror><id>unreachable</id><mirrorOf>*</mirrorOf>
      <url>http://127.0.0.1:{dead_port}/maven2</url></mirror></mirrors></settings>""")
    env = {"RNN_SPARK_CLUSTER_DIR": str(tmp_path / "c"),
           "RNN_SPARK_CLUSTER_PORT_OFFSET": str(_free_offset()),
           "RNN_SPARK_MAVEN_SETTINGS": str(settings),
           "RNN_SPARK_MAVEN_REPO_LOCAL": str(tmp_path / "empty-m2"),
           "RNN_SPARK_MAVEN_TIMEOUT": "120"}
    r = _run(["start"], env, timeout=300)
    assert r.returncode == 2, r.stderr
    line = _one_error_line(r.stderr)
    assert "Maven could not download the Hadoop jars" in line, line
    assert not (tmp_path / "c" / "cluster.pid").exists()
    assert not (tmp_path / "c" / "classpath.txt").exists()
