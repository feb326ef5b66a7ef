"""--master yarn without the cluster's client configuration: every Spark-capable command (train,
evaluate and predict on the Spark runner, ingest on the Spark engine) says so in one line, exit
code 2, before a JVM starts and before anything is created (#21: it printed ~60 lines of Java and
Python stack and exited 1)."""

import os

import pytest

from rnn_spark import spark_master
from rnn_spark.cli import main
from rnn_spark.errors import UserError


@pytest.fixture()
def no_cluster(tmp_path, monkeypatch):
    """No HADOOP_CONF_DIR/YARN_CONF_DIR, not under spark-submit, and a SPARK_HOME without Spark:
    a JVM launch would fail fast (instead of retrying a ResourceManager at 0.0.0.0 for minutes),
    so a missing check shows as an exception, not a hang."""
    for var in (*spark_master.CONF_VARS, "PYSPARK_GATEWAY_PORT", "SPARK_CONF_DIR"):
        monkeypatch.delenv(var, raising=False)
    home = tmp_path / "no-spark-home"
    (home / "conf").mkdir(parents=True)
    monkeypatch.setenv("SPARK_HOME", str(home))
    return home


def _conf_dir(tmp_path, yarn_site: bool):
    d = tmp_path / ("hadoop-conf" if yarn_site else "hadoop-conf-without-yarn")
    d.mkdir()
    (d / "core-site.xml").write_text("<configuration/>\n")
    if yarn_site:
        (d / "yarn-site.xml").write_text("<configuration/>\n")
    return d


ENV_CASES = {
    "unset": (lambda tmp: None, ["neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set"]),
    "missing": (lambda tmp: tmp / "no-such-dir", ["HADOOP_CONF_DIR=", "is not a directory"]),
    "no-yarn-site": (lambda tmp: _conf_dir(tmp, yarn_site=False), ["no yarn-site.xml in HADOOP_CONF_DIR="]),
}


def _commands(lm_run, tmp_path):
    ds, run = lm_run
    src = tmp_path / "corpus.txt"
    src.write_text("some text to ingest\n" * 50)
    return {
        "train": (["train", "--data", ds, "--run-dir", str(tmp_path / "run"), "--master", "yarn",
                   "--max-rounds", "1", "--quiet"], tmp_path / "run"),
        "evaluate": (["evaluate", "--model", run, "--data", ds, "--runner", "spark",
                      "--master", "yarn"], None),
        "predict": (["predict", "--model", run, "--data", ds, "--out", str(tmp_path / "pred"),
                     "--runner", "spark", "--master", "yarn"], tmp_path / "pred"),
        "ingest": (["ingest", "text", str(src), "--out", str(tmp_path / "ds"), "--seq-len", "8",
                    "--engine", "spark", "--master", "yarn", "--quiet"], tmp_path / "ds"),
    }


@pytest.mark.parametrize("case", sorted(ENV_CASES))
@pytest.mark.parametrize("name", ["train", "evaluate", "predict", "ingest"])
def test_yarn_without_cluster_config_is_one_line_and_creates_nothing(
        lm_run, tmp_path, monkeypatch, capsys, no_cluster, name, case):
    conf, needles = ENV_CASES[case]
    d = conf(tmp_path)
    if d is not None:
        monkeypatch.setenv("HADOOP_CONF_DIR", str(d))
    argv, made = _commands(lm_run, tmp_path)[name]
    before = sorted(os.listdir(tmp_path))
    assert main(argv) == 2
    out, err = capsys.readouterr()
    said = "spark.master (--master) = yarn: " if name == "train" else "--master yarn: "
    assert err.count("\n") == 1 and err.startswith(f"error: {said}"), err
    assert "export HADOOP_CONF_DIR=" in err
    for n in needles:
        assert n in err, err
    assert made is None or not made.exists()
    assert sorted(os.listdir(tmp_path)) == before


def test_yarn_site_in_either_directory_or_a_resource_manager_setting_passes(tmp_path, monkeypatch,
                                                                              no_cluster):
    good = _conf_dir(tmp_path, yarn_site=True)
    monkeypatch.setenv("HADOOP_CONF_DIR", str(good))
    spark_master.check_master("yarn")
    bare = _conf_dir(tmp_path, yarn_site=False)
    monkeypatch.setenv("HADOOP_CONF_DIR", str(bare))
    monkeypatch.setenv("YARN_CONF_DIR", str(good))
    spark_master.check_master("yarn")
    monkeypatch.delenv("YARN_CONF_DIR")
    with pytest.raises(UserError, match="no yarn-site.xml"):
        spark_master.check_master("yarn")
    spark_master.check_master("yarn", {"spark.hadoop.yarn.resourcemanager.address": "rm:8032"})


def test_spark_env_sh_may_set_the_directory(no_cluster):
    """spark-submit sources SPARK_HOME/conf/spark-env.sh, which often exports HADOOP_CONF_DIR."""
    with pytest.raises(UserError):
        spark_master.check_master("yarn")
    (no_cluster / "conf" / "spark-env.sh").write_text("export HADOOP_CONF_DIR=/etc/hadoop/conf\n")
    spark_master.check_master("yarn")


def test_other_masters_and_spark_submit_are_not_checked(no_cluster, monkeypatch):
    for master in ("local[*]", "local[2]", "spark://h:7077"):
        spark_master.check_master(master)
    monkeypatch.setenv("PYSPARK_GATEWAY_PORT", "40000")  # spark-submit's own master
    spark_master.check_master("yarn")
