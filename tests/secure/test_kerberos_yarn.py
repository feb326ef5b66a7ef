"""`rnn-spark submit --principal/--keytab` on secured YARN: executors (and a cluster-mode driver)
have no Kerberos ticket, only the delegation tokens YARN gave their container, and still read
and write HDFS; training from hdfs:// shards gives bitwise the weights of the inline run."""

import io
import json
import secrets
import sysconfig
from pathlib import Path

import numpy as np
import pytest

from rnn_spark import config, fs, ingest
from rnn_spark.training.loop import train

TRAIN = ["--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
         "--steps-per-round", "2", "--workers", "2", "--max-rounds", "4",
         "--validate-every", "2", "--checkpoint-every", "2", "--seed", "7"]


@pytest.fixture(scope="module")
def base(secure_cluster, login):
    uri = secure_cluster.uri(f"/user/alice/t/yarn-{secrets.token_hex(4)}")
    yield uri
    with login():
        fs.rm(uri, recursive=True, missing_ok=True)


@pytest.fixture(scope="module")
def dataset(base, login):
    uri = fs.join(base, "ds")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    with login():
        ingest.ingest_text([str(stdlib / "json" / "*.py")], uri, seq_len=33, rows_per_group=64,
                           seed=3, overwrite=True, quiet=True, engine="local")
    return uri


def weights(model_dir: str) -> dict:
    data = fs.read_bytes(fs.join(model_dir, "weights.npz"))
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def inline_weights(dataset, login, tmp_path_factory):
    run = tmp_path_factory.mktemp("inline") / "run"
    args = dict(zip([a.lstrip("-").replace("-", "_") for a in TRAIN[::2]], TRAIN[1::2]))
    with login():
        cfg = config.load([], {**args, "data.path": dataset, "train.run_dir": str(run),
                               "train.runner": "inline"})
        train(cfg, quiet=True)
    return weights(str(run / "model"))


def test_executors_have_no_ticket_and_use_hdfs_with_their_token(secure_cluster, base, login):
    probe = fs.join(base, "probe")
    r = secure_cluster.cli(*secure_cluster.submit_args("client"), "env-check", "--tasks", "2",
                           "--probe", probe, user=None)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "hdfs:///user/alice/.rnn-spark/envs/" in r.stderr  # the principal's home, not root's
    rep = json.loads(r.stdout)
    assert rep["driver"]["credentials"]["kerberos_ticket"] is False  # a keytab, no cache
    for task in rep["tasks"]:
        cred = task["credentials"]
        assert task["container"], task
        assert cred["kerberos_ticket"] is False, cred  # klist -s fails in the container
        assert cred["hdfs_token"]["kind"] == "HDFS_DELEGATION_TOKEN", cred
        assert cred["hdfs_token"]["owner"].split("@")[0] == "alice", cred
        assert task["probe"] == "ok", task
    with login():
        from rnn_spark.fs.webhdfs import backend_for
        for i in range(2):
            uri = fs.join(probe, f"task-{i}")
            assert fs.read_text(uri) == f"task {i}\n"
            assert backend_for(uri).status(uri)["owner"] == "alice"


@pytest.mark.parametrize("deploy_mode", ["client", "cluster"])
def test_submit_train_on_secured_yarn_matches_inline_bitwise(secure_cluster, base, dataset,
                                                             inline_weights, login, deploy_mode):
    run = fs.join(base, f"run-{deploy_mode}")
    r = secure_cluster.cli(*secure_cluster.submit_args(deploy_mode), "--num-executors", "2",
                           "train", "--data", dataset, "--run-dir", run, "--runner", "spark",
                           "--quiet", *TRAIN, user=None)
    assert r.returncode == 0, r.stderr[-4000:]
    with login():
        records = [json.loads(line) for line in
                   fs.read_text(fs.join(run, "metrics.jsonl")).splitlines()]
        assert [m["round"] for m in records if m["kind"] == "round"] == [0, 1, 2, 3]
        got = weights(fs.join(run, "model"))
    assert got.keys() == inline_weights.keys()
    assert all(np.array_equal(got[k], inline_weights[k]) for k in got)
