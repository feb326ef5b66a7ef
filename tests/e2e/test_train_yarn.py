"""Training on the real cluster: shards in HDFS, tasks in YARN containers, run directory in HDFS.

The same dataset and config trained inline in this process must give bitwise the same weights
as the YARN run (the determinism contract holds across executors and deploy modes).
"""

import io
import json
import os
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from rnn_spark import config, fs, ingest
from rnn_spark.runners.spark import BLAS_PIN_ENV
from rnn_spark.training.loop import train

REPO = Path(__file__).resolve().parents[2]
TRAIN_ARGS = ["--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
              "--steps-per-round", "2", "--workers", "2", "--max-rounds", "4",
              "--validate-every", "2", "--checkpoint-every", "2", "--seed", "7"]


@pytest.fixture(scope="module")
def hdfs_dataset(hadoop_cluster):
    uri = hadoop_cluster.uri("/tmp/e2e/train-yarn-dataset")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ingest.ingest_text([str(stdlib / "json" / "*.py")], uri, seq_len=33, rows_per_group=64,
                     seed=3, overwrite=True, quiet=True, engine="local")
    yield uri
    fs.rm(uri, recursive=True, missing_ok=True)


def weights(model_dir: str) -> dict:
    with np.load(io.BytesIO(fs.read_bytes(fs.join(model_dir, "weights.npz"))), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def inline_weights(hdfs_dataset, tmp_path_factory):
    run = tmp_path_factory.mktemp("inline") / "run"
    args = dict(zip([a.lstrip("-").replace("-", "_") for a in TRAIN_ARGS[::2]], TRAIN_ARGS[1::2]))
    cfg = config.load([], {**args, "data.path": hdfs_dataset, "train.run_dir": str(run),
                           "train.runner": "inline"})
    train(cfg, quiet=True)
    return weights(str(run / "model"))


@pytest.mark.parametrize("deploy_mode", ["client", "cluster"])
def test_train_job_on_yarn_reads_and_writes_hdfs(hadoop_cluster, hdfs_tmp, hdfs_dataset,
                                                 inline_weights, deploy_mode):
    run = hadoop_cluster.uri(f"{hdfs_tmp}/run")
    before = {a["id"] for a in hadoop_cluster.yarn_apps()}
    # Bitwise equality needs the same BLAS kernels everywhere: the runner passes the driver's
    # OPENBLAS_CORETYPE/L2_SIZE on to executors; in cluster mode the driver (the YARN AM) gets
    # them like any other AM environment variable.
    pins = {f"spark.yarn.appMasterEnv.{v}": os.environ[v] for v in BLAS_PIN_ENV if os.environ.get(v)}
    hadoop_cluster.spark_submit(REPO / "jobs" / "train.py", "--data", hdfs_dataset, "--run-dir", run,
                                "--runner", "spark", "--quiet", *TRAIN_ARGS, deploy_mode=deploy_mode,
                                conf=pins, timeout=900)
    apps = [a for a in hadoop_cluster.yarn_apps() if a["id"] not in before]
    assert apps and apps[0]["finalStatus"] == "SUCCEEDED"
    records = [json.loads(l) for l in fs.read_text(fs.join(run, "metrics.jsonl")).splitlines()]
    assert [r["round"] for r in records if r["kind"] == "round"] == [0, 1, 2, 3]
    assert [r["round"] for r in records if r["kind"] == "val"] == [1, 3]
    assert fs.exists(fs.join(run, "checkpoints", "round-000003", "meta.json"))
    assert fs.exists(fs.join(run, "best", "weights.npz"))
    got = weights(fs.join(run, "model"))
    assert got.keys() == inline_weights.keys()
    assert all(np.array_equal(got[k], inline_weights[k]) for k in got)
