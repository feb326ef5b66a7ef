"""Resident tasks where Spark's own traffic is secured (spark.authenticate, network crypto): the
pool runs over TLS to a certificate the tasks pin, and a frame altered or injected on the wire
between a task and the driver (a real man-in-the-middle TCP proxy) is refused: the call runs again
as a Spark job, the same results, a job per call from then on. Real local Spark; no mocks."""

import logging
import os
import secrets
import ssl
import sys

import pytest
from mitm import Mitm, forged_frame

from rnn_spark.runners.resident import ResidentPool
from rnn_spark.runners.spark import SparkRunner

pytestmark = pytest.mark.spark
pytest.importorskip("cryptography", reason="the resident channel's TLS needs rnn-spark[tls]")

SECURE = {"spark.authenticate": "true", "spark.authenticate.secret": secrets.token_hex(16),
          "spark.network.crypto.enabled": "true"}


@pytest.fixture(scope="module")
def secure_context():
    from pyspark import SparkContext

    active = SparkContext._active_spark_context
    if active is not None:
        active.stop()
    r = SparkRunner("local[2,4]", "rnn-spark-test-resident-tls", conf=SECURE)
    yield r.sc
    r.close()


@pytest.fixture()
def runner(secure_context):
    r = SparkRunner("local[2,4]", "rnn-spark-test-resident-tls", conf=SECURE)  # that context
    assert r.sc is secure_context
    r.resident_for(2)
    yield r
    r._stop_pool(cancel=True)


def jobs(runner) -> int:
    return runner.sc._jsc.sc().statusStore().jobsList(None).size()


def test_resident_tasks_run_over_pinned_tls_where_spark_secures_its_traffic(runner, caplog):
    caplog.set_level(logging.INFO, logger="rnn_spark.runners.resident")
    before = jobs(runner)
    for call in range(3):
        assert list(runner.map(lambda t, s: t * s, list(range(5)), call + 1)) == \
            [t * (call + 1) for t in range(5)]
    assert jobs(runner) == before + 1  # one job for all three calls: the pool
    pool = runner._pool
    assert pool is not None and pool.channel == "tls"
    for conn in pool._conns:
        assert isinstance(conn, ssl.SSLSocket) and conn.version() in ("TLSv1.3", "TLSv1.2")
        assert conn.getpeercert(binary_form=True) is None  # tasks prove the token, not a cert
    assert "2 resident tasks connected (tls channel)" in caplog.text


@pytest.mark.parametrize("direction", ["to_task", "to_driver"])
@pytest.mark.parametrize("how", ["alter", "inject"])
def test_a_frame_tampered_with_on_the_wire_is_refused_and_the_call_runs_as_a_job(
        runner, monkeypatch, tmp_path, caplog, direction, how):
    forged = tmp_path / "forged-frame-was-unpickled"
    proxies = []

    def via_proxy(pool, host):
        proxies.append(Mitm((host, pool._server.getsockname()[1]), direction, how, after=20_000,
                            payload=forged_frame(str(forged))))
        return proxies[-1].address

    monkeypatch.setattr(ResidentPool, "_task_address", via_proxy)
    try:
        echo = lambda t, s: (t, s)  # noqa: E731
        assert list(runner.map(echo, [0, 1], b"small")) == [(0, b"small"), (1, b"small")]
        assert runner._pool is not None and not proxies[0].tampered.is_set()
        before = jobs(runner)
        big = os.urandom(100_000)  # past `after` both ways: the proxy tampers with this call
        assert list(runner.map(echo, [0, 1, 2], big)) == [(0, big), (1, big), (2, big)]
        assert proxies[0].tampered.is_set() and not forged.exists()
        assert runner._pool is None and "resident tasks stopped" in caplog.text
        assert jobs(runner) == before + 1  # the call ran again as a job
        assert list(runner.map(echo, [3], b"after")) == [(3, b"after")]
        assert jobs(runner) == before + 2  # and so does every later one
    finally:
        for p in proxies:
            p.close()


def test_without_cryptography_a_secured_context_runs_a_job_per_call(secure_context, monkeypatch,
                                                                    caplog):
    for name in ("cryptography", "cryptography.x509"):
        monkeypatch.setitem(sys.modules, name, None)  # as if not installed
    r = SparkRunner("local[2,4]", "rnn-spark-test-resident-tls", conf=SECURE)
    r.resident_for(2)
    before = jobs(r)
    assert list(r.map(lambda t, s: t, [0, 1], None)) == [0, 1]
    assert r._pool is None and jobs(r) == before + 1
    assert "pip install 'rnn-spark[tls]'" in caplog.text
