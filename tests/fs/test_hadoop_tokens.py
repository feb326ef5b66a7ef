"""Delegation tokens from a YARN container's credentials file (rnn_spark.fs.hadoop_tokens).

tests/fs/data/credentials-v{0,1}.bin were written by Hadoop 3.5.0 itself
(``Credentials.writeTokenStorageFile`` in the WRITABLE and PROTOBUF formats) holding an HDFS
delegation token the secured test cluster issued to alice, a YARN AM token and a secret key:
the bytes a real container gets. The url string is the one Hadoop's
``Token.encodeToUrlString`` printed for the HDFS token.
"""

from pathlib import Path

import pytest

from rnn_spark import fs
from rnn_spark.fs import hadoop_tokens as ht
from rnn_spark.fs import hdfs_config

DATA = Path(__file__).parent / "data"
URL = ("HQAFYWxpY2UEaGRmcwCKAaJR_vtIigGidgt_SAECFMug_Cbo0Tdn88kLoBnzmMSfRZ9lFUhERlNfREVMRUdBVElP"
       "Tl9UT0tFTg4xMjcuMC4wLjE6ODcyMA")


@pytest.mark.parametrize("version", [0, 1])
def test_reads_both_credentials_formats_as_hadoop_wrote_them(version):
    tokens = ht.read_file(str(DATA / f"credentials-v{version}.bin"))
    assert sorted(t.kind for t in tokens) == ["HDFS_DELEGATION_TOKEN", "YARN_AM_RM_TOKEN"]
    tok = ht.pick(tokens, ("127.0.0.1:8720",))
    assert (tok.kind, tok.service, tok.alias) == ("HDFS_DELEGATION_TOKEN", "127.0.0.1:8720",
                                                  "hdfs-token")
    assert tok.url_string() == URL  # what WebHDFS takes as delegation=
    info = ht.describe(tok)
    assert (info.owner, info.renewer, info.user) == ("alice", "hdfs", "alice")
    assert info.max_date - info.issue_date == 7 * 24 * 3600 * 1000  # the NameNode's 7 days


def test_url_string_round_trip_and_write():
    tok = ht.from_url_string(URL, alias="a")
    assert tok.url_string() == URL


def test_pick_by_service_and_the_only_token():
    a = ht.Token("HDFS_DELEGATION_TOKEN", "10.0.0.1:8020", b"i", b"p")
    b = ht.Token("HDFS_DELEGATION_TOKEN", "ha-hdfs:ns1", b"j", b"q")
    other = ht.Token("YARN_AM_RM_TOKEN", "", b"k", b"r")
    assert ht.pick([a, b, other], ("ha-hdfs:ns1",)) is b
    assert ht.pick([a, other], ("nn:8020",)) is a   # one HDFS token: that one
    assert ht.pick([a, b], ("nn:8020",)) is None    # several, none matching: none
    assert ht.pick([other]) is None


@pytest.mark.parametrize("data, reason", [
    (b"", "no HDTS header"), (b"XXXX\x00", "no HDTS header"),
    (b"HDTS\x07", "unknown credentials file version 7"), (b"HDTS\x00\x05", "truncated")])
def test_damaged_files_raise(data, reason):
    with pytest.raises(ht.TokenFileError, match=reason):
        ht.parse(data)


def test_vints_round_trip():
    import io
    for v in (0, 1, -1, 127, 128, -112, -113, 255, 300, 70000, -70000, 2**40, -2**40,
              1796671922243):
        assert ht._read_vint(io.BytesIO(ht._vint_bytes(v))) == v


def test_container_token_is_the_credential_and_names_the_user(monkeypatch, tmp_path):
    """In a YARN container the token file wins over any auth setting: no ticket is needed."""
    for var in ("HADOOP_TOKEN", "RNN_SPARK_WEBHDFS_URL", "HADOOP_USER_NAME"):
        monkeypatch.delenv(var, raising=False)
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "core-site.xml").write_text(
        "<configuration><property><name>fs.defaultFS</name><value>hdfs://127.0.0.1:8720</value>"
        "</property><property><name>hadoop.security.authentication</name><value>kerberos</value>"
        "</property></configuration>")
    monkeypatch.setenv("HADOOP_CONF_DIR", str(conf))
    monkeypatch.setenv("RNN_SPARK_HDFS_AUTH", "kerberos")
    monkeypatch.setenv(ht.TOKEN_FILE_ENV, str(DATA / "credentials-v1.bin"))
    hdfs_config.configure(reset=True)
    ep = hdfs_config.resolve("hdfs:///user/alice/x")
    assert (ep.auth, ep.token) == ("token", URL)
    assert "HADOOP_TOKEN_FILE_LOCATION" in ep.token_source
    assert hdfs_config.user_name() == "alice"
    monkeypatch.delenv(ht.TOKEN_FILE_ENV)
    assert hdfs_config.resolve("hdfs:///x").auth == "kerberos"  # no container: SPNEGO


def test_staging_dir_default_follows_the_token_owner(monkeypatch):
    from rnn_spark.submit.stage import default_staging_dir
    monkeypatch.setenv(ht.TOKEN_FILE_ENV, str(DATA / "credentials-v0.bin"))
    monkeypatch.setenv("HADOOP_USER_NAME", "somebody-else")
    hdfs_config.configure(reset=True)
    assert default_staging_dir() == "hdfs:///user/alice/.rnn-spark/envs"
    assert fs.is_remote(default_staging_dir())
