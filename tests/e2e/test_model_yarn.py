"""Using a model on the real cluster: train on hdfs:// shards, then evaluate and predict as YARN jobs
with the output in HDFS; the predictions equal the inline runner's byte for byte.

The YARN jobs go through ``submit_model_job`` (one place to switch how jobs reach YARN, e.g. to
``rnn-spark submit`` with a packed environment).
"""

import json
import os
import sysconfig
from pathlib import Path

import pytest

from rnn_spark import config, fs, ingest
from rnn_spark.cli import main
from rnn_spark.runners.spark import BLAS_PIN_ENV
from rnn_spark.serve import load_model
from rnn_spark.serve.evaluate import evaluate
from rnn_spark.serve.predict import predict
from rnn_spark.training.loop import train

REPO = Path(__file__).resolve().parents[2]


def submit_model_job(cluster, job: str, *args, timeout=900):
    """Run jobs/<job>.py on YARN (client mode: its stdout is the command's output)."""
    pins = {f"spark.yarn.appMasterEnv.{v}": os.environ[v] for v in BLAS_PIN_ENV if os.environ.get(v)}
    return cluster.spark_submit(REPO / "jobs" / f"{job}.py", *args, "--runner", "spark",
                                deploy_mode="client", conf=pins, timeout=timeout)


@pytest.fixture(scope="module")
def hdfs_run(hadoop_cluster):
    root = hadoop_cluster.uri("/tmp/e2e/model-yarn")
    ds, run = root + "/data", root + "/run"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ingest.ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=33, rows_per_group=64,
                     seed=3, overwrite=True, quiet=True, engine="local")
    fs.rm(run, recursive=True, missing_ok=True)
    cfg = config.load([], {"data.path": ds, "train.run_dir": run, "model.hidden_sizes": [16],
                           "model.embedding_size": 8, "train.k1": 16, "train.batch_size": 8,
                           "train.steps_per_round": 2, "train.workers": 2, "train.max_rounds": 2,
                           "train.validate_every": 2, "train.runner": "inline"})
    train(cfg, quiet=True)
    yield ds, run
    fs.rm(root, recursive=True, missing_ok=True)


def test_evaluate_and_predict_on_yarn(hadoop_cluster, hdfs_tmp, hdfs_run, tmp_path):
    ds, run = hdfs_run
    tm = load_model(run)
    assert tm.source.uri.startswith("hdfs://")
    # evaluate: the YARN job prints the same JSON as the inline evaluation
    p = submit_model_job(hadoop_cluster, "evaluate", "--model", run, "--data", ds, "--json")
    got = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])
    want = evaluate(tm, ds).metrics
    assert got["loss"] == want["loss"] and got["top5_accuracy"] == want["top5_accuracy"]
    # predict: output in HDFS, byte-identical to the inline runner's (written locally)
    out = hadoop_cluster.uri(f"{hdfs_tmp}/pred")
    submit_model_job(hadoop_cluster, "predict", "--model", run, "--data", ds, "--out", out)
    predict(tm, ds, str(tmp_path / "inline"))
    names = sorted(os.listdir(tmp_path / "inline"))
    assert [fs.basename(u) for u in fs.ls(out)] == names
    for name in names:
        assert fs.read_bytes(fs.join(out, name)) == (tmp_path / "inline" / name).read_bytes(), name
    # an existing hdfs:// --out is refused (exit 2, nothing replaced)
    before = fs.read_bytes(fs.join(out, "_predictions.json"))
    assert main(["predict", "--model", run, "--data", ds, "--out", out]) == 2
    assert fs.read_bytes(fs.join(out, "_predictions.json")) == before


def test_forecast_on_yarn_keyed_by_group_and_time(hadoop_cluster, hdfs_tmp):
    """A series model's forecasts on YARN carry the group and time keys (read by the driver from
    the series source in HDFS, broadcast to the executors) and equal the inline runner's bytes."""
    root = hadoop_cluster.uri(hdfs_tmp)
    src, ds, run = root + "/load.csv", root + "/data", root + "/run"
    fs.write_text(src, "entity,t,load,temp\n" + "".join(
        f"{g},{k},{100 + (k * 7 + len(g)) % 13},{k % 5}\n" for g in ("n", "s") for k in range(80)))
    ingest.ingest_series([src], ds, window=8, horizon=2, columns=["load", "temp"],
                         target_columns=["load"], time_column="t", group_column="entity",
                         rows_per_group=32, val_fraction=0.2, quiet=True, engine="local")
    train(config.load([], {"data.path": ds, "train.run_dir": run, "model.hidden_sizes": [8],
                           "train.k1": 8, "train.batch_size": 8, "train.steps_per_round": 2,
                           "train.workers": 2, "train.max_rounds": 2, "train.validate_every": 2,
                           "train.runner": "inline"}), quiet=True)
    out, inline = root + "/pred", root + "/pred-inline"
    submit_model_job(hadoop_cluster, "predict", "--model", run, "--data", ds, "--out", out)
    predict(load_model(run), ds, inline)
    names = [fs.basename(u) for u in fs.ls(inline)]
    assert [fs.basename(u) for u in fs.ls(out)] == names
    for name in names:
        assert fs.read_bytes(fs.join(out, name)) == fs.read_bytes(fs.join(inline, name)), name
    doc = json.loads(fs.read_text(fs.join(out, "_predictions.json")))
    assert doc["schema"][-3:] == ["group", "time_index", "time"] and doc["rows"] > 0
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq
    t = pa.concat_tables(pq.read_table(io.BytesIO(fs.read_bytes(fs.join(out, f["path"]))))
                         for f in doc["files"])
    keys = list(zip(t["group"].to_pylist(), t["time_index"].to_pylist()))
    assert keys == sorted(keys) and len(keys) == doc["rows"]  # in group and time order


def test_submit_evaluate_runs_on_spark_without_runner(hadoop_cluster, hdfs_run):
    """`rnn-spark submit evaluate` without --runner gets --runner spark (#21: it ran inline in the
    driver while the executors idled) and prints the inline evaluation's numbers."""
    ds, run = hdfs_run
    dry = hadoop_cluster.rnn_spark_submit("--dry-run", "evaluate", "--model", run, "--data", ds,
                                          "--json")
    assert dry.stdout.strip().splitlines()[-1].endswith("--json --runner spark")
    r = hadoop_cluster.rnn_spark_submit("--num-executors", "2", "evaluate", "--model", run,
                                        "--data", ds, "--json")
    got = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    want = evaluate(load_model(run), ds).metrics
    assert got["loss"] == want["loss"] and got["top5_accuracy"] == want["top5_accuracy"]
