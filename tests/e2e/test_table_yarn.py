"""Tables on the real cluster: a table stored as Parquet in HDFS -> `ingest table` on YARN (the
local engine's bytes) -> RNNClassifier.fit on YARN -> transform -> save/load in HDFS, equal to the
same steps with the inline runner."""

import json
import os
import sys
from pathlib import Path

import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.ingest.table import ingest_table
from rnn_spark.runners.spark import BLAS_PIN_ENV
from rnn_spark.serve import load_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_loader import load_benchmark  # noqa: E402

JOB = Path(__file__).resolve().parent / "table_job.py"


def _tree(root):
    """relative path -> bytes of every file below an HDFS directory."""
    out = {}
    for uri in fs.ls(root):
        name = fs.basename(uri)
        if fs.isdir(uri):
            out.update({f"{name}/{k}": v for k, v in _tree(uri).items()})
        else:
            out[name] = fs.read_bytes(uri)
    return out


def test_table_to_fitted_saved_model_on_yarn(hadoop_cluster, hdfs_tmp, tmp_path):
    root = hadoop_cluster.uri(hdfs_tmp)
    table = load_benchmark("table_order").order_events(400, seed=2)
    local = tmp_path / "events.parquet"
    pq.write_table(table, local)
    fs.write_bytes(f"{root}/events/part-0.parquet", local.read_bytes())
    pins = {}
    for v in BLAS_PIN_ENV:  # the same BLAS kernels on the executors: the same bits
        if os.environ.get(v):
            pins[f"spark.executorEnv.{v}"] = pins[f"spark.yarn.appMasterEnv.{v}"] = os.environ[v]
    p = hadoop_cluster.spark_submit(JOB, root, conf=pins, timeout=1500)
    got = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])

    # ingest table on YARN wrote the bytes the local engine writes from the same Parquet
    ingest_table(str(tmp_path / "data-local"), path=f"{root}/events", format="parquet",
                 engine="local", group_by=["user"], order_by="ts", categorical=["event"],
                 label="bought", max_len=6, val_fraction=0.25, rows_per_group=32)
    yarn = _tree(f"{root}/data-yarn")
    man_y, man_l = (json.loads(m) for m in (yarn.pop("manifest.json"),
                                             (tmp_path / "data-local" / "manifest.json")
                                             .read_bytes()))
    assert man_y.pop("sources") == [{"table": "events"}]
    man_l.pop("sources")
    assert man_y == man_l
    for rel, data in yarn.items():
        assert (tmp_path / "data-local" / rel).read_bytes() == data, rel

    # fit on YARN (Spark runner) = fit with the inline runner, bit for bit; transform, save, load
    spark, inline = got["spark"], got["inline"]
    assert spark["weights"] == inline["weights"] == spark["saved"]
    assert spark["predictions"] == inline["predictions"] == spark["loaded"]
    assert len(spark["predictions"]) == 400
    assert spark["model"].startswith(hadoop_cluster.namenode_uri)
    # the saved model is an rnn-spark model directory in HDFS
    tm = load_model(f"{root}/model-spark")
    assert tm.task == "classify" and tm.config.hidden_sizes == [16]
