"""Local Spark's driver JVM starts with C1 only (runners/spark._fast_start), unless the user set
the driver's JVM options; clusters and spark-submit launches are left alone. Task results come
back directly up to 64 MiB (runners/spark._direct_results)."""

import pytest

from rnn_spark.runners.spark import _fast_start

KEY = "spark.driver.extraJavaOptions"


@pytest.fixture(autouse=True)
def no_cds(monkeypatch):
    monkeypatch.setenv("RNN_SPARK_CDS", "0")  # runners/cds.py has its own tests


class Conf(dict):
    def get(self, key, default=None):
        return super().get(key, default)

    def set(self, key, value):
        self[key] = value


def test_local_master_gets_c1_only_once():
    conf = Conf({KEY: "-Dx=1"})
    _fast_start(conf, "local[2]", {})
    _fast_start(conf, "local[2]", {})
    assert conf[KEY] == "-Dx=1 -XX:TieredStopAtLevel=1"


def test_cluster_masters_and_user_jvm_options_are_left_alone():
    for master, user in (("yarn", {}), ("spark://h:7077", {}), ("local[2]", {KEY: "-Xss4m"})):
        conf = Conf(user)
        _fast_start(conf, master, user)
        assert conf == Conf(user)


class SetConf(Conf):
    def setIfMissing(self, key, value):
        self.setdefault(key, value)


def test_round_results_come_back_directly_unless_the_user_says_otherwise():
    from rnn_spark.runners.spark import DIRECT_RESULT_BYTES, _direct_results

    conf = SetConf()
    _direct_results(conf)
    assert conf["spark.task.maxDirectResultSize"] == str(DIRECT_RESULT_BYTES)
    mine = SetConf({"spark.task.maxDirectResultSize": "1m"})
    _direct_results(mine)
    assert mine["spark.task.maxDirectResultSize"] == "1m"
