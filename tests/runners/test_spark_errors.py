"""A user error raised inside a Spark task reaches the driver as that one error (same class, same
one-line message), not as Spark's Java/Python stack; deterministic ones are not retried."""

import pytest

from rnn_spark.cli import main
from rnn_spark.errors import DataError
from rnn_spark.fs import FsUnreachable
from rnn_spark.runners.spark import COLLECT_LIMIT_BYTES, SparkRunner

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def runner():
    from pyspark import SparkContext

    # getOrCreate would hand back a context an earlier test left open, with its own master (and
    # no task retries): this module needs local[2,4]
    active = SparkContext._active_spark_context
    if active is not None and active.master != "local[2,4]":
        active.stop()
    r = SparkRunner("local[2,4]", "rnn-spark-test-errors")  # up to 4 attempts per task
    assert r.sc.master == "local[2,4]"
    yield r
    r.close()


def attempts(log) -> list[str]:
    return log.read_text().split() if log.exists() else []


@pytest.mark.parametrize("streamed", [False, True], ids=["collect", "streamed"])
def test_data_error_in_a_task_is_that_one_line_and_not_retried(runner, tmp_path, streamed):
    log = tmp_path / "attempts"

    def task_fn(task, shared):
        with open(log, "a") as f:
            f.write(f"{task}\n")
        if task == 1:
            raise DataError(f"{shared}/part-1.parquet: row group 3 unreadable (bad magic); the "
                            "dataset is damaged: check it with `rnn-spark ingest verify ds`")
        return task * 10

    runner.result_bytes_hint = COLLECT_LIMIT_BYTES if streamed else 0
    with pytest.raises(DataError) as info:
        list(runner.map(task_fn, [0, 1, 2], "hdfs://nn/ds"))
    assert type(info.value) is DataError
    assert str(info.value) == ("hdfs://nn/ds/part-1.parquet: row group 3 unreadable (bad magic); "
                               "the dataset is damaged: check it with `rnn-spark ingest verify ds`")
    assert sorted(attempts(log)) == ["0", "1", "2"]  # task 1 ran once: no retries
    runner.result_bytes_hint = 0
    assert list(runner.map(task_fn, [3, 4], None)) == [30, 40]  # the runner still works


def test_transient_error_is_retried_then_reported_as_itself(runner, tmp_path):
    log = tmp_path / "attempts"

    def task_fn(task, shared):
        with open(log, "a") as f:
            f.write(f"{task}\n")
        raise FsUnreachable("hdfs://nn:8020/ds/part-0.parquet", "DataNode did not answer in 30 s")

    with pytest.raises(FsUnreachable) as info:
        list(runner.map(task_fn, [0], None))
    assert str(info.value) == "hdfs://nn:8020/ds/part-0.parquet: DataNode did not answer in 30 s"
    assert info.value.uri == "hdfs://nn:8020/ds/part-0.parquet"
    assert attempts(log) == ["0"] * 4  # Spark retried it: another executor might reach HDFS


def test_other_task_failures_are_not_disguised(runner):
    def task_fn(task, shared):
        raise ZeroDivisionError("a bug, not a user error")

    with pytest.raises(Exception) as info:
        list(runner.map(task_fn, [0], None))
    assert not isinstance(info.value, DataError) and "ZeroDivisionError" in str(info.value)


def test_tree_reduce_passes_a_tasks_user_error_on_as_that_one_line(runner, tmp_path):
    log = tmp_path / "attempts"

    def task_fn(task, shared):
        with open(log, "a") as f:
            f.write(f"{task}\n")
        if task == 9:
            raise DataError(f"{shared}/part-9.parquet: row group 0 unreadable; the dataset is damaged")
        return [task]

    def concat(parts):
        return [x for p in parts for x in p]

    with pytest.raises(DataError) as info:  # task 9 is in the second block of the first stage
        runner.tree_reduce(task_fn, list(range(12)), "hdfs://nn/ds", concat)
    assert str(info.value) == "hdfs://nn/ds/part-9.parquet: row group 0 unreadable; the dataset is damaged"
    assert sorted(attempts(log), key=int) == [str(i) for i in range(12)]  # no retries
    # and without an error: the parts in task order, through two shuffle stages (fan-in 8)
    assert runner.tree_reduce(lambda t, s: [t], list(range(12)), None, concat) == list(range(12))
