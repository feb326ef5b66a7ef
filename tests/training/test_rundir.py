"""RunDir: the run directory layout the README documents, in one place."""

from rnn_spark.training.rundir import RunDir


def test_layout_local_and_hdfs():
    run = RunDir("/tmp/runs/lm")
    assert (run.config, run.metrics, run.checkpoints, run.best, run.model, run.report) == (
        "/tmp/runs/lm/config.toml", "/tmp/runs/lm/metrics.jsonl", "/tmp/runs/lm/checkpoints",
        "/tmp/runs/lm/best", "/tmp/runs/lm/model", "/tmp/runs/lm/report.html")
    assert run.checkpoint(120) == "/tmp/runs/lm/checkpoints/round-000120"
    assert not run.remote
    hdfs = RunDir("hdfs://nn:8020/user/me/run")
    assert hdfs.remote and hdfs.checkpoint(3) == "hdfs://nn:8020/user/me/run/checkpoints/round-000003"


def test_checkpoint_round_reads_names_written_by_checkpoint():
    run = RunDir("/r")
    assert RunDir.checkpoint_round(run.checkpoint(7)) == 7
    assert RunDir.checkpoint_round(run.checkpoint(1234567) + "/") == 1234567
    for name in ("/r/checkpoints/round-12", "/r/checkpoints/round-000012.tmp", "/r/best"):
        assert RunDir.checkpoint_round(name) is None
