"""Bad inputs of `scripts/hadoop-cluster add-datanode`: one line, exit code 2, nothing started.
No running cluster needed."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "hadoop-cluster"


def _run(args, state):
    env = {k: v for k, v in os.environ.items() if k != "HADOOP_CONF_DIR"}
    env["RNN_SPARK_CLUSTER_DIR"] = str(state)
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("args, words", [
    (["add-datanode"], "no cluster runs in"),
    (["add-datanode", "--name", "../x"], "is not a DataNode name"),
    (["add-datanode", "--name", "dn1"], "is not a DataNode name"),
])
def test_bad_datanode_options_are_one_line(tmp_path, args, words):
    r = _run(args, tmp_path / "c")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hadoop-cluster: error:"), r.stderr
    assert words in lines[0] and "Traceback" not in r.stderr
    assert r.stdout == "" and not (tmp_path / "c" / "cluster.pid").exists()
    assert not list((tmp_path / "c").glob("dn*.pid")) if (tmp_path / "c").exists() else True
