"""A training run on resident tasks where Spark's own traffic is secured (spark.authenticate and
spark.network.crypto.enabled): the rounds run on the pool over TLS, and when a man-in-the-middle
alters or injects a frame mid-run, it is refused and the run goes on with a Spark job per round --
the inline runner's bits either way (the determinism contract)."""

import json
import secrets

import pytest
from mitm import Mitm, forged_frame
from test_trainer import final_weights, same
from trainer_config import small_config

from rnn_spark.runners.resident import ResidentPool
from rnn_spark.training.loop import train

pytestmark = pytest.mark.spark
pytest.importorskip("cryptography", reason="the resident channel's TLS needs rnn-spark[tls]")

SECURE = {"spark.authenticate": "true", "spark.authenticate.secret": secrets.token_hex(16),
          "spark.network.crypto.enabled": "true"}


@pytest.mark.parametrize("direction,how,after", [
    (None, None, 0),
    # bytes per connection before the tampering: about round 2 of 6 on this config (a round
    # carries ~90 KB each way per resident)
    ("to_task", "alter", 150_000),
    ("to_driver", "inject", 200_000)], ids=["untouched", "altered-to-task", "injected-to-driver"])
def test_secured_run_on_resident_tasks_refuses_a_tampered_frame_and_keeps_the_bits(
        char_dataset, tmp_path, monkeypatch, caplog, direction, how, after):
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # its conf would be reused
        SparkContext._active_spark_context.stop()
    forged, proxies = tmp_path / "forged-frame-was-unpickled", []
    if direction:
        def via_proxy(pool, host):
            proxies.append(Mitm((host, pool._server.getsockname()[1]), direction, how, after,
                                payload=forged_frame(str(forged))))
            return proxies[-1].address

        monkeypatch.setattr(ResidentPool, "_task_address", via_proxy)
    try:
        inline = train(small_config(char_dataset, tmp_path / "inline"), quiet=True)
        spark = train(small_config(char_dataset, tmp_path / "spark", **{
            "train.runner": "spark", "spark.master": "local[2]", "spark.conf": SECURE}),
            quiet=True)
    finally:
        for p in proxies:
            p.close()
    assert spark["train_loss"] == inline["train_loss"]
    assert same(final_weights(tmp_path / "inline"), final_weights(tmp_path / "spark"))
    metrics = (tmp_path / "spark" / "metrics.jsonl").read_text().splitlines()
    on_jobs = [r["broadcast_s"] > 0 for r in map(json.loads, metrics) if r["kind"] == "round"]
    if direction is None:
        assert on_jobs == [False] * 6  # every round on the pool
        assert "resident tasks stopped" not in caplog.text
    else:
        assert proxies[0].tampered.is_set() and not forged.exists()
        k = on_jobs.index(True)  # the pool's rounds, then a job per round to the end
        assert 0 < k and on_jobs == [False] * k + [True] * (6 - k), on_jobs
        assert "resident tasks stopped" in caplog.text
