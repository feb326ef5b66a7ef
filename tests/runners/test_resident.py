"""Resident tasks (runners/resident.py): calls run on long-lived Spark tasks in one job, results in
task order, a task's user error reaches the driver as that one line, and any other trouble -- a
task that raises, a Python worker that dies -- makes the runner fall back to a job per call with
the same results. Real local Spark; no mocks."""

import os
import socket
import threading

import pytest

from rnn_spark.errors import DataError
from rnn_spark.runners.channel import admit, prove
from rnn_spark.runners.spark import SparkRunner

pytestmark = pytest.mark.spark


@pytest.fixture()
def runner():
    from pyspark import SparkContext

    active = SparkContext._active_spark_context
    if active is not None and active.master != "local[2,4]":
        active.stop()
    r = SparkRunner("local[2,4]", "rnn-spark-test-resident")
    r.resident_for(2)
    yield r
    r.close()


def jobs(runner) -> int:
    return runner.sc._jsc.sc().statusStore().jobsList(None).size()


def test_calls_run_on_two_resident_processes_in_one_job(runner):
    before = jobs(runner)
    seen = []
    for call in range(3):  # five tasks on two residents: 0, 2, 4 on one; 1, 3 on the other
        out = list(runner.map(lambda t, s: (t * s, os.getpid()), list(range(5)), call + 1))
        assert [v for v, _ in out] == [t * (call + 1) for t in range(5)]
        seen.append([pid for _, pid in out])
    assert jobs(runner) == before + 1  # one job for all three calls
    pids = seen[0]
    assert pids[0] == pids[2] == pids[4] != pids[1] == pids[3]
    assert seen[1] == seen[2] == pids  # the same processes, call after call
    assert runner._pool is not None


def test_user_error_is_that_one_line_and_the_pool_lives_on(runner):
    def task_fn(task, shared):
        if task == 1:
            raise DataError(f"{shared}/part-1.parquet: row group 3 unreadable; the dataset is damaged")
        return task

    with pytest.raises(DataError) as info:
        list(runner.map(task_fn, [0, 1, 2], "hdfs://nn/ds"))
    assert str(info.value) == "hdfs://nn/ds/part-1.parquet: row group 3 unreadable; the dataset is damaged"
    before = jobs(runner)
    assert list(runner.map(lambda t, s: t + 1, [5, 6], None)) == [6, 7]
    assert jobs(runner) == before and runner._pool is not None  # still resident


@pytest.mark.parametrize("how", ["raises", "dies"])
def test_trouble_falls_back_to_a_job_per_call_with_the_same_results(runner, tmp_path, how, caplog):
    flag = tmp_path / "failed-once"

    def task_fn(task, shared):
        if task == 1 and not flag.exists():
            flag.write_text("x")
            if how == "dies":
                os._exit(3)  # the Python worker is gone mid-call
            raise ZeroDivisionError("a bug, not a user error")
        return task * shared

    assert list(runner.map(task_fn, [0, 1, 2, 3], 10)) == [0, 10, 20, 30]
    assert flag.exists()  # the failure happened, on the resident
    assert runner._pool is None and runner._resident_count == 0
    assert "resident tasks stopped" in caplog.text
    before = jobs(runner)
    assert list(runner.map(task_fn, [4], 10)) == [40]
    assert jobs(runner) == before + 1  # a job per call from here on


def test_task_and_driver_must_prove_the_token_and_a_free_index():
    """Each side checks the other's HMAC before reading anything more; the token is never sent."""
    token = os.urandom(32)
    conns = [None, None]
    server = socket.create_server(("127.0.0.1", 0))

    def attempt(tok: bytes, index: int):
        """(what admit says, what the task's prove says), over a real TCP connection."""
        a = socket.create_connection(server.getsockname())
        proved = []
        def task():
            proved.append(prove(a, tok, index))
            if not proved[-1]:
                a.close()  # as serve does: it returns, and its connection closes

        t = threading.Thread(target=task)
        t.start()
        b, _ = server.accept()
        admitted = admit(b, token, conns)  # a refusal closes b: the task sees the end, not a hang
        t.join(timeout=30)
        return admitted and admitted[0], proved[0], a, b

    got, proved, a, b = attempt(os.urandom(32), 0)  # a stranger
    assert got is None and not proved and b.fileno() == -1
    got, proved, a, b = attempt(token, 2)            # an index out of range
    assert got is None and not proved
    got, proved, a, b = attempt(token, 1)
    assert got == 1 and proved
    conns[1] = b
    got, proved, a2, b2 = attempt(token, 1)          # a second copy of resident 1
    assert got is None and not proved
    c = socket.create_connection(server.getsockname())
    c.sendall(b"short")
    c.shutdown(socket.SHUT_WR)
    d, _ = server.accept()
    assert admit(d, token, conns) is None            # a hello cut short
    for sock in (a, b, a2, c, d, server):
        sock.close()


def test_a_task_does_not_serve_a_driver_without_the_token():
    token = os.urandom(32)
    server = socket.create_server(("127.0.0.1", 0))
    a = socket.create_connection(server.getsockname())
    b, _ = server.accept()
    t = threading.Thread(target=lambda: b.sendall(b"\0" * 48))  # an answer without the token
    t.start()
    assert prove(a, token, 0) is False
    t.join()
    for sock in (a, b, server):
        sock.close()


@pytest.mark.parametrize("conf", [{"spark.speculation": "true"},
                                  {"spark.dynamicAllocation.enabled": "true",
                                   "spark.shuffle.service.enabled": "false",
                                   "spark.dynamicAllocation.shuffleTracking.enabled": "true"}],
                         ids=["speculation", "dynamic-allocation"])
def test_no_resident_tasks_where_spark_must_place_or_rerun_tasks_itself(conf):
    from pyspark import SparkContext

    active = SparkContext._active_spark_context
    if active is not None:
        active.stop()
    r = SparkRunner("local[2]", "rnn-spark-test-resident-off", conf=conf)
    try:
        r.resident_for(2)
        before = jobs(r)
        assert list(r.map(lambda t, s: t, [0, 1], None)) == [0, 1]
        assert r._pool is None and jobs(r) == before + 1
    finally:
        r.close()
