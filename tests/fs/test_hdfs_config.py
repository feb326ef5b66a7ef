"""HDFS address resolution and the 'unreachable' path (a closed loopback port; no cluster needed)."""

import socket
import sys
import time

import pytest

from rnn_spark import fs
from rnn_spark.fs import hdfs_config, webhdfs


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ("RNN_SPARK_WEBHDFS_URL", "RNN_SPARK_HDFS_ALIAS", "HADOOP_CONF_DIR", "HADOOP_HOME",
                "HADOOP_USER_NAME", "HADOOP_TOKEN", "RNN_SPARK_HDFS_AUTH",
                "RNN_SPARK_HDFS_TIMEOUT", "RNN_SPARK_HDFS_RETRIES", "HADOOP_TOKEN_FILE_LOCATION",
                "RNN_SPARK_KERBEROS_PRINCIPAL", "RNN_SPARK_KERBEROS_KEYTAB",
                "RNN_SPARK_HDFS_CA_BUNDLE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HDFSCLI_CONFIG", str(tmp_path / "no-hdfscli.cfg"))
    hdfs_config.configure(reset=True)
    yield
    hdfs_config.configure(reset=True)


def _site(d, name, props):
    d.mkdir(exist_ok=True)
    body = "".join(f"<property><name>{k}</name><value>{v}</value></property>"
                   for k, v in props.items())
    (d / name).write_text(f"<?xml version='1.0'?><configuration>{body}</configuration>")


def test_hadoop_conf_dir_default_fs(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    _site(conf, "core-site.xml", {"fs.defaultFS": "hdfs://nn.example:8020"})
    _site(conf, "hdfs-site.xml", {"dfs.namenode.http-address": "0.0.0.0:50070"})
    monkeypatch.setenv("HADOOP_CONF_DIR", str(conf))
    ep = hdfs_config.resolve("hdfs:///data/x")
    assert ep.urls == ("http://nn.example:50070",)
    assert ep.source == f"HADOOP_CONF_DIR={conf}"
    assert hdfs_config.resolve("hdfs://nn.example:8020/x").urls == ("http://nn.example:50070",)
    # another cluster's host: default WebHDFS port
    assert hdfs_config.resolve("hdfs://other:8020/x").urls == ("http://other:9870",)


def test_ha_nameservice(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    _site(conf, "core-site.xml", {"fs.defaultFS": "hdfs://prod"})
    _site(conf, "hdfs-site.xml", {
        "dfs.nameservices": "prod",
        "dfs.ha.namenodes.prod": "nn1, nn2",
        "dfs.namenode.http-address.prod.nn1": "a.example:9870",
        "dfs.namenode.http-address.prod.nn2": "b.example:9870",
    })
    monkeypatch.setenv("HADOOP_CONF_DIR", str(conf))
    for uri in ("hdfs:///x", "hdfs://prod/x"):
        ep = hdfs_config.resolve(uri)
        assert ep.urls == ("http://a.example:9870", "http://b.example:9870")
        assert ep.url == "http://a.example:9870;http://b.example:9870"


def test_https_policy(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    _site(conf, "core-site.xml", {"fs.defaultFS": "hdfs://nn:8020"})
    _site(conf, "hdfs-site.xml", {"dfs.http.policy": "HTTPS_ONLY",
                                  "dfs.namenode.https-address": "nn:9871"})
    monkeypatch.setenv("HADOOP_CONF_DIR", str(conf))
    assert hdfs_config.resolve("hdfs:///x").urls == ("https://nn:9871",)


def test_explicit_env_and_schemes(monkeypatch):
    assert hdfs_config.resolve("hdfs://h:8020/x").urls == ("http://h:9870",)
    assert hdfs_config.resolve("webhdfs://h:50070/x").urls == ("http://h:50070",)
    assert hdfs_config.resolve("swebhdfs://h:9871/x").urls == ("https://h:9871",)
    monkeypatch.setenv("RNN_SPARK_WEBHDFS_URL", "http://a:1;http://b:2/")
    monkeypatch.setenv("HADOOP_USER_NAME", "alice")
    monkeypatch.setenv("RNN_SPARK_HDFS_TIMEOUT", "3,7")
    ep = hdfs_config.resolve("hdfs:///x")
    assert ep.urls == ("http://a:1", "http://b:2") and ep.source == "RNN_SPARK_WEBHDFS_URL"
    assert ep.user == "alice" and ep.timeout == (3.0, 7.0)
    hdfs_config.configure(webhdfs_url="http://c:3", user="bob", timeout=5)
    ep = hdfs_config.resolve("hdfs:///x")
    assert ep.urls == ("http://c:3",) and ep.user == "bob" and ep.timeout == (5.0, 5.0)
    env = hdfs_config.export_env()
    assert env["RNN_SPARK_WEBHDFS_URL"] == "http://c:3" and env["HADOOP_USER_NAME"] == "bob"
    assert env["RNN_SPARK_HDFS_TIMEOUT"] == "5.0,5.0"


def test_a_keytab_login_is_exported_to_this_machines_processes_only(tmp_path, monkeypatch):
    """--principal/--keytab live in the driver process: local Spark's Python workers get them
    (else they had no ticket: the regression test is tests/secure's keytab train on local[2]),
    a cluster's executors never do (export_env), and a ticket cache needs nothing exported."""
    keytab = tmp_path / "alice.keytab"
    keytab.write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    assert hdfs_config.export_local_env() == {}
    hdfs_config.configure(principal="alice@R", keytab="alice.keytab")
    assert hdfs_config.export_local_env() == {"RNN_SPARK_KERBEROS_PRINCIPAL": "alice@R",
                                              "RNN_SPARK_KERBEROS_KEYTAB": str(keytab)}
    assert not {"RNN_SPARK_KERBEROS_PRINCIPAL", "RNN_SPARK_KERBEROS_KEYTAB"} & \
        set(hdfs_config.export_env())
    hdfs_config.configure(reset=True)
    monkeypatch.setenv("RNN_SPARK_KERBEROS_PRINCIPAL", "bob@R")
    monkeypatch.setenv("RNN_SPARK_KERBEROS_KEYTAB", str(keytab))
    assert hdfs_config.export_local_env()["RNN_SPARK_KERBEROS_PRINCIPAL"] == "bob@R"


def test_hdfscli_alias(tmp_path, monkeypatch):
    cfg = tmp_path / "hdfscli.cfg"
    cfg.write_text("[global]\ndefault.alias = dev\n\n[dev.alias]\nurl = http://dev.example:9870\n"
                   "user = carol\n\n[prod.alias]\nurl = http://p1:9870;http://p2:9870\n")
    monkeypatch.setenv("HDFSCLI_CONFIG", str(cfg))
    assert hdfs_config.resolve("hdfs:///x").alias == "dev"
    assert hdfs_config.resolve("hdfs://prod/x").alias == "prod"
    b = webhdfs.backend_for("hdfs://prod/x")
    assert b.client.url == "http://p1:9870;http://p2:9870"
    assert b.client._timeout == hdfs_config.DEFAULT_TIMEOUT  # never without a timeout


def test_no_namenode_configured():
    with pytest.raises(fs.FsError) as ei:
        fs.exists("hdfs:///x")
    assert str(ei.value) == ("hdfs:///x: no name node to use: set HADOOP_CONF_DIR (with "
                             "fs.defaultFS), RNN_SPARK_WEBHDFS_URL, or write "
                             "hdfs://namenode:port/path")


def test_kerberos_without_the_extra_names_it(monkeypatch):
    """Without requests-gssapi, Kerberos is one line naming the extra (not an ImportError)."""
    pytest.importorskip("hdfs")
    monkeypatch.setitem(sys.modules, "requests_gssapi", None)  # import fails as if absent
    monkeypatch.setenv("RNN_SPARK_HDFS_AUTH", "kerberos")
    with pytest.raises(fs.FsError) as ei:
        fs.exists("webhdfs://127.0.0.1:9/x")
    assert "pip install 'rnn-spark[kerberos]'" in str(ei.value)
    assert "\n" not in str(ei.value)


def test_bad_timeout(monkeypatch):
    monkeypatch.setenv("RNN_SPARK_HDFS_TIMEOUT", "soon")
    with pytest.raises(fs.FsError) as ei:
        hdfs_config.resolve("hdfs://h/x")
    assert str(ei.value) == ("RNN_SPARK_HDFS_TIMEOUT: bad timeout ['soon']; write seconds or "
                             "'connect,read' (e.g. 10,60)")


def test_bad_timeout_from_the_flag_names_the_flag(capsys):
    from rnn_spark.cli import main
    assert main(["--hdfs-timeout", "soon", "ingest", "verify", "hdfs://h/ds"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --hdfs-timeout: bad timeout") and len(err.splitlines()) == 1


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    return port


@pytest.mark.parametrize("call", [fs.exists, fs.ls, fs.read_bytes,
                                  lambda u: fs.write_bytes(u, b"x")])
def test_unreachable_namenode(call):
    port = _closed_port()
    hdfs_config.configure(webhdfs_url=f"http://127.0.0.1:{port}", timeout=2, retries=1)
    uri = f"hdfs://127.0.0.1:8020/data/x"
    t0 = time.monotonic()
    with pytest.raises(fs.FsUnreachable) as ei:
        call(uri)
    assert time.monotonic() - t0 < 10  # returned, did not hang
    msg = str(ei.value)
    assert msg.startswith(f"{uri}: NameNode WebHDFS at http://127.0.0.1:{port} unreachable after ")
    assert msg.endswith(" s (connection refused); address from --webhdfs-url (or "
                        "RNN_SPARK_WEBHDFS_URL); check it, or HADOOP_CONF_DIR")
    assert "configure(" not in msg  # no Python API wording in a user's message (#8.9)


def test_unresponsive_namenode_times_out():
    """A listener that never answers: the read timeout fires, no hang."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    port = srv.getsockname()[1]
    try:
        hdfs_config.configure(webhdfs_url=f"http://127.0.0.1:{port}", timeout=(1, 1), retries=2)
        t0 = time.monotonic()
        with pytest.raises(fs.FsUnreachable) as ei:
            fs.info("hdfs:///x")
        assert time.monotonic() - t0 < 10
        assert "(no answer within 1 s (read timeout))" in str(ei.value)
    finally:
        srv.close()


def test_token_and_user_clients(monkeypatch):
    import hdfs
    b = webhdfs.backend_for("webhdfs://127.0.0.1:9/x")
    assert isinstance(b.client, hdfs.InsecureClient) and b.client._timeout == (10.0, 60.0)
    assert webhdfs.backend_for("webhdfs://127.0.0.1:9/y") is b  # one client per endpoint
    monkeypatch.setenv("HADOOP_TOKEN", "tok123")
    t = webhdfs.backend_for("webhdfs://127.0.0.1:9/x")
    assert isinstance(t.client, hdfs.TokenClient) and t is not b
    assert t.client._session.params["delegation"] == "tok123"


def test_forked_child_gets_its_own_client():
    import os
    parent_client = webhdfs.backend_for("webhdfs://127.0.0.1:9/x").client
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            child = webhdfs.backend_for("webhdfs://127.0.0.1:9/x").client
            os.write(w, b"new" if child is not parent_client else b"same")
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    os.waitpid(pid, 0)
    assert got == b"new"
    assert webhdfs.backend_for("webhdfs://127.0.0.1:9/x").client is parent_client


@pytest.mark.parametrize("argv, needle", [
    (["--principal", "alice@R", "ingest", "verify", "hdfs://h/ds"], "--principal and --keytab"),
    (["--keytab", "/no/such.keytab", "--principal", "a@R", "ingest", "verify", "hdfs://h/ds"],
     "--keytab /no/such.keytab: no such file"),
    (["--hdfs-ca-bundle", "/no/ca.pem", "ingest", "verify", "hdfs://h/ds"],
     "--hdfs-ca-bundle /no/ca.pem: no such file"),
])
def test_credential_flags_bad_inputs_are_one_line(capsys, argv, needle):
    from rnn_spark.cli import main
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and len(err.splitlines()) == 1


def _secure_conf(tmp_path, auth="kerberos"):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "core-site.xml").write_text(
        "<configuration><property><name>fs.defaultFS</name><value>hdfs://nn:8020</value>"
        "</property><property><name>hadoop.security.authentication</name>"
        f"<value>{auth}</value></property></configuration>")
    return conf


def test_auth_follows_the_hadoop_configuration(monkeypatch, tmp_path):
    monkeypatch.setenv("HADOOP_CONF_DIR", str(_secure_conf(tmp_path)))
    assert hdfs_config.resolve("hdfs:///x").auth == "kerberos"
    monkeypatch.setenv("RNN_SPARK_HDFS_AUTH", "simple")  # the variable wins
    assert hdfs_config.resolve("hdfs:///x").auth == "simple"
    monkeypatch.setenv("RNN_SPARK_HDFS_AUTH", "ldap")
    with pytest.raises(fs.FsError, match="unknown HDFS auth 'ldap' \\(RNN_SPARK_HDFS_AUTH\\)"):
        hdfs_config.resolve("hdfs:///x")


def test_missing_ca_bundle_is_one_line(monkeypatch):
    monkeypatch.setenv("RNN_SPARK_HDFS_CA_BUNDLE", "/no/ca.pem")
    with pytest.raises(fs.FsError) as ei:
        fs.exists("swebhdfs://nn:9871/x")
    assert str(ei.value) == ("swebhdfs://nn:9871/x: CA bundle /no/ca.pem not found "
                             "(RNN_SPARK_HDFS_CA_BUNDLE); give a PEM file of the CA that signed "
                             "the NameNode's certificate")


def test_no_ticket_is_one_line_naming_kinit(monkeypatch, tmp_path):
    """The real Kerberos library with an empty ticket cache: the user name (staging dir) and
    every HDFS call say so in one line."""
    pytest.importorskip("requests_gssapi")
    monkeypatch.setenv("HADOOP_CONF_DIR", str(_secure_conf(tmp_path)))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-such-cache'}")
    from rnn_spark.fs.kerberos import NO_TICKET
    for call in (hdfs_config.user_name, lambda: fs.exists("hdfs:///user/alice/x")):
        with pytest.raises(fs.FsError) as ei:
            call()
        assert str(ei.value).endswith(NO_TICKET)


def test_ca_bundle_wins_over_the_environments(monkeypatch, tmp_path):
    """requests lets REQUESTS_CA_BUNDLE beat a session's own CAs; --hdfs-ca-bundle must not
    lose to a bundle the environment names for other servers."""
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("RNN_SPARK_HDFS_CA_BUNDLE", str(ca))
    session = webhdfs.backend_for("swebhdfs://nn:9871/x").client._session
    settings = session.merge_environment_settings("https://nn:9871/webhdfs/v1/x", {}, None,
                                                  None, None)
    assert settings["verify"] == str(ca)
