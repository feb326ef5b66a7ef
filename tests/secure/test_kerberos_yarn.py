"""`rnn-spark submit --principal/--keytab` on secured YARN: executors (and a cluster-mode driver)
have no Kerberos ticket, only the delegation tokens YARN gave their container, and still read
and write HDFS. train (client and cluster mode) gives bitwise the weights of the edge node's run;
ingest (cluster mode) writes the bytes the edge node's ingest wrote; evaluate (client mode) and
predict (cluster mode) of the edge run on that dataset give the inline numbers and bytes.

The applications run in the background from the session's start (conftest.py ``yarn_jobs``);
each test waits for its own.
"""

import io
import json

import numpy as np
import pytest

from rnn_spark import fs


def weights(model_dir: str) -> dict:
    data = fs.read_bytes(fs.join(model_dir, "weights.npz"))
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def succeeded(r):
    assert r.returncode == 0, (r.returncode, r.stderr[-4000:])
    return r


def dataset_doc(uri: str) -> dict:
    """A dataset's manifest (every shard's path, size and sha256) without where its input files
    were (the edge node's disk, or HDFS), after checking each shard against it."""
    from rnn_spark.data.manifest import read_manifest

    m = read_manifest(uri)
    m.verify("hash")
    return {k: v for k, v in m.data.items() if k != "sources"}


def test_executors_have_no_ticket_and_use_hdfs_with_their_token(yarn_jobs, edge_run, login):
    r = succeeded(yarn_jobs.result("env-check"))
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
    probe = fs.join(edge_run.base, "probe")
    with login():
        from rnn_spark.fs.webhdfs import backend_for
        for i in range(2):
            uri = fs.join(probe, f"task-{i}")
            assert fs.read_text(uri) == f"task {i}\n"
            assert backend_for(uri).status(uri)["owner"] == "alice"


@pytest.mark.parametrize("deploy_mode", ["client", "cluster"])
def test_submit_train_on_secured_yarn_matches_the_edge_run_bitwise(yarn_jobs, edge_run, login,
                                                                   deploy_mode):
    succeeded(yarn_jobs.result(f"train-{deploy_mode}"))
    run = fs.join(edge_run.base, f"run-{deploy_mode}")
    with login():
        records = [json.loads(line) for line in
                   fs.read_text(fs.join(run, "metrics.jsonl")).splitlines()]
        assert [m["round"] for m in records if m["kind"] == "round"] == [0, 1, 2, 3]
        got, want = weights(fs.join(run, "model")), weights(fs.join(edge_run.run, "model"))
    assert got.keys() == want.keys()
    assert all(np.array_equal(got[k], want[k]) for k in got)


def test_submit_ingest_evaluate_predict_on_secured_yarn(yarn_jobs, edge_run, login, tmp_path):
    """ingest on YARN (cluster mode: driver and executors with tokens only) from sources in HDFS
    writes the edge ingest's bytes; evaluate (client mode) of the edge run on it prints the
    inline evaluation's numbers; predict (cluster mode) writes the inline predictions' bytes."""
    from rnn_spark.serve import load_model
    from rnn_spark.serve.evaluate import evaluate
    from rnn_spark.serve.predict import predict

    ds = fs.join(edge_run.base, "ds-yarn")
    succeeded(yarn_jobs.result("ingest"))
    with login():
        assert dataset_doc(ds) == dataset_doc(edge_run.ds)
        tm = load_model(edge_run.run)
        want = evaluate(tm, ds).metrics
    r = succeeded(yarn_jobs.result("evaluate"))
    got = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])
    assert got["loss"] == want["loss"] and got["top5_accuracy"] == want["top5_accuracy"]
    succeeded(yarn_jobs.result("predict"))
    out = fs.join(edge_run.base, "preds-yarn")
    with login():
        predict(tm, ds, str(tmp_path / "inline"))
        names = sorted(p.name for p in (tmp_path / "inline").iterdir())
        assert sorted(fs.basename(u) for u in fs.ls(out)) == names
        for name in names:
            assert fs.read_bytes(fs.join(out, name)) == (tmp_path / "inline" / name).read_bytes()
        from rnn_spark.fs.webhdfs import backend_for
        for uri in (ds, out):
            assert backend_for(uri).status(uri)["owner"] == "alice", uri
