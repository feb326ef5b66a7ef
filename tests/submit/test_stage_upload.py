"""Staging the packed environment: a second submit that uploads the same archive at the same time
keeps the first one's file (a replaced archive fails the YARN application already using it)."""

import os

from rnn_spark import fs
from rnn_spark.submit import stage


def test_upload_once_uploads_then_skips(tmp_path):
    local = tmp_path / "env.tar.gz"
    local.write_bytes(b"archive")
    remote = str(tmp_path / "staging" / "env.tar.gz")
    assert stage.upload_once(local, remote) is True
    assert stage.upload_once(local, remote) is False
    assert open(remote, "rb").read() == b"archive"


def test_a_concurrent_upload_never_replaces_the_first(tmp_path, monkeypatch):
    local = tmp_path / "env.tar.gz"
    local.write_bytes(b"second")
    remote = tmp_path / "staging" / "env.tar.gz"
    remote.parent.mkdir()
    remote.write_bytes(b"first")  # another submit's upload finished after our exists() check
    before = os.stat(remote)
    real_exists = fs.exists
    monkeypatch.setattr(fs, "exists", lambda uri: False if uri == str(remote) else real_exists(uri))
    assert stage.upload_once(local, str(remote)) is False
    after = os.stat(remote)
    assert remote.read_bytes() == b"first" and (after.st_ino, after.st_mtime_ns) == (
        before.st_ino, before.st_mtime_ns)
    assert [p.name for p in remote.parent.iterdir()] == ["env.tar.gz"]  # no temp file left
