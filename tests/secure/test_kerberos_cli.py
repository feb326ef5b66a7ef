"""Every command on the edge node of a Kerberos cluster: with a kinit ticket or a keytab they work
as the principal (not the local login); without credentials each says so in one line; a
refused credential or permission is one line too, exit 2, nothing created."""

import json
import sysconfig
from pathlib import Path

from rnn_spark import fs
from rnn_spark.fs import hadoop_tokens
from rnn_spark.fs.uri import split

NO_TICKET = "no Kerberos ticket: run kinit or pass --principal/--keytab"
TRAIN = ["--hidden-sizes", "8", "--max-rounds", "2", "--quiet"]  # refused before it starts
SRC = str(Path(sysconfig.get_paths()["stdlib"]) / "json" / "*.py")


def one_line(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-3000:])
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr[-3000:]
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_inline_commands_run_as_the_principal_not_the_local_login(secure_cluster, edge_run,
                                                                  as_alice):
    """ingest (the session's dataset), evaluate, predict and report with alice's ticket; the
    files belong to alice although the local login is root."""
    base, ds, run = edge_run.base, edge_run.ds, edge_run.run
    env = secure_cluster.env("alice")
    r = secure_cluster.cli("evaluate", "--model", run, "--data", ds, "--json", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads(r.stdout.strip().splitlines()[-1])
    preds = fs.join(base, "preds")
    r = secure_cluster.cli("predict", "--model", run, "--data", ds, "--out", preds, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    r = secure_cluster.cli("report", run, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    from rnn_spark.fs.webhdfs import backend_for
    for uri in (ds, run, preds, fs.join(run, "report.html")):
        assert backend_for(uri).status(uri)["owner"] == "alice", uri
    assert fs.walk_files(preds)
    assert "<html" in fs.read_text(fs.join(run, "report.html")).lower()


def test_train_on_local_spark_with_a_keytab(secure_cluster, edge, as_alice):
    """`rnn-spark --principal P --keytab K train` on local Spark (train's default runner): the
    login lives in the driver process, and local Spark's Python workers read the shards with it
    (they had no ticket: every task failed with 'no Kerberos ticket')."""
    assert edge.train.returncode == 0, edge.train.stderr[-3000:]
    records = [json.loads(line) for line in
               fs.read_text(fs.join(edge.run, "metrics.jsonl")).splitlines()]
    assert [m["round"] for m in records if m["kind"] == "round"] == [0, 1, 2, 3]
    from rnn_spark.fs.webhdfs import backend_for
    assert backend_for(edge.run).status(edge.run)["owner"] == "alice"


def test_a_keytab_needs_no_ticket(secure_cluster, alice_dir):
    ds = fs.join(alice_dir, "ds")
    r = secure_cluster.cli("--principal", secure_cluster.principal("alice"), "--keytab",
                           secure_cluster.keytab("alice"), "ingest", "text", SRC, "--out", ds,
                           "--seq-len", "17", "--seed", "3", "--quiet")
    assert r.returncode == 0, r.stderr[-3000:]
    assert fs.exists(fs.join(ds, "_manifest.json")) or fs.walk_files(ds)


def test_without_a_ticket_every_command_is_one_line_and_creates_nothing(secure_cluster, edge,
                                                                        as_alice):
    base, ds, run = edge.base, edge.ds, edge.run
    new = fs.join(base, "never")
    commands = {
        "ingest": ["ingest", "text", SRC, "--out", new, "--seq-len", "17", "--quiet"],
        "train": ["train", "--data", ds, "--run-dir", new, *TRAIN],
        "evaluate": ["evaluate", "--model", run, "--data", ds],
        "predict": ["predict", "--model", run, "--data", ds, "--out", new],
        "report": ["report", run, "--out", f"{new}.html"],
        "submit": ["submit", "--dry-run", "train", "--data", ds, "--run-dir", new],
    }
    for name, argv in commands.items():
        r = secure_cluster.cli(*argv, user=None)
        one_line(r, NO_TICKET)
        assert not fs.exists(new) and not fs.exists(f"{new}.html"), name


def test_local_login_without_kerberos_is_told_to_use_it(secure_cluster, edge):
    """Simple auth against the secured cluster: the one line says Kerberos, not 'permission
    denied (Authentication failure)'."""
    ds = edge.ds
    env = secure_cluster.env(None)
    env["RNN_SPARK_HDFS_AUTH"] = "simple"
    one_line(secure_cluster.cli("ingest", "verify", ds, env=env), "no Kerberos ticket sent",
             "RNN_SPARK_HDFS_AUTH=kerberos")


def test_a_user_without_permission_gets_one_line(secure_cluster, edge, as_alice):
    base = edge.base
    private = fs.join(base, "private")
    fs.mkdirs(private)
    from rnn_spark.fs.webhdfs import backend_for
    b = backend_for(private)
    b.client.set_permission(split(private)[2], "700")
    for argv in (["ingest", "verify", private],
                 ["ingest", "text", SRC, "--out", fs.join(private, "ds"), "--seq-len", "17",
                  "--quiet"]):
        line = one_line(secure_cluster.cli(*argv, user="bob"), "permission denied",
                        "user=bob")
        assert "/private" in line
    assert fs.ls(private) == []


def test_a_cancelled_delegation_token_is_one_line_naming_it(secure_cluster, alice_dir, tmp_path):
    """A container's token the NameNode no longer knows (cancelled; an expired one reads the
    same way): one line naming the token, nothing written."""
    from hdfs.client import _Request

    from rnn_spark.fs.webhdfs import backend_for
    client = backend_for(alice_dir).client
    get_token = _Request("GET").to_method("GETDELEGATIONTOKEN")
    cancel = _Request("PUT").to_method("CANCELDELEGATIONTOKEN")
    url = get_token(client, "/", renewer="hdfs").json()["Token"]["urlString"]
    cancel(client, "/", token=url)
    creds = tmp_path / "container_tokens"
    hadoop_tokens.write_file(str(creds), [hadoop_tokens.from_url_string(url, "hdfs")])
    env = secure_cluster.env(None)
    env[hadoop_tokens.TOKEN_FILE_ENV] = str(creds)
    out = fs.join(alice_dir, "ds")
    line = one_line(secure_cluster.cli("ingest", "text", SRC, "--out", out, "--seq-len", "17",
                                      "--quiet", env=env),
                    "HDFS delegation token", "HADOOP_TOKEN_FILE_LOCATION",
                    "is unknown to the NameNode")
    assert out in line
    assert not fs.exists(out)


def test_https_webhdfs_needs_the_ca_bundle(secure_cluster, edge, as_alice):
    """swebhdfs:// (the NameNode's HTTPS port, redirects to the DataNode's): with the CA of
    the cluster's certificate it reads and writes; without, one line saying what to pass."""
    base = edge.base
    https = secure_cluster.info["secure"]["swebhdfs"]
    ca = secure_cluster.info["secure"]["ca_bundle"]
    env = secure_cluster.env("alice")
    import requests
    env["REQUESTS_CA_BUNDLE"] = requests.certs.where()  # other servers' CAs: must not win
    out = https + split(fs.join(base, "over-https"))[2]
    r = secure_cluster.cli("--hdfs-ca-bundle", ca, "ingest", "text", SRC, "--out", out,
                           "--seq-len", "17", "--quiet", env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    r = secure_cluster.cli("--hdfs-ca-bundle", ca, "ingest", "verify", out, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    one_line(secure_cluster.cli("ingest", "verify", out, env=env),
             "TLS certificate is not trusted", "--hdfs-ca-bundle")


def test_an_expired_ticket_is_one_line(secure_cluster, edge):
    import subprocess
    import time
    ds = edge.ds
    env = secure_cluster.env(None)
    subprocess.run(["kinit", "-l", "5s", "-kt", secure_cluster.keytab("alice"),
                    secure_cluster.principal("alice")], env=env, check=True, timeout=60)
    time.sleep(7)
    one_line(secure_cluster.cli("ingest", "verify", ds, env=env),
             "the Kerberos ticket has expired: run kinit again or pass --principal/--keytab")
