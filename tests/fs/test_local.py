"""Round trips of the rnn_spark.fs API on local paths and file:// URIs."""

import os
import shutil
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rnn_spark import fs
from rnn_spark.errors import UserError


@pytest.fixture(params=["plain", "file"])
def root(request, tmp_path):
    return str(tmp_path) if request.param == "plain" else "file://" + str(tmp_path)


def test_bytes_text_round_trip(root):
    u = fs.join(root, "a", "b", "x.bin")
    fs.write_bytes(u, b"\x00\x01hello")
    assert fs.read_bytes(u) == b"\x00\x01hello"
    fs.write_text(fs.join(root, "t.txt"), "héllo\nwörld\n")
    assert fs.read_text(fs.join(root, "t.txt")) == "héllo\nwörld\n"
    inf = fs.info(u)
    assert inf["type"] == "file" and inf["size"] == 7 and inf["mtime"] > 0
    assert fs.info(fs.join(root, "a"))["type"] == "directory"
    assert fs.exists(u) and not fs.isdir(u) and fs.isdir(fs.join(root, "a"))
    assert not fs.exists(fs.join(root, "nope"))


def test_open_read_seek_range_and_stream(root):
    data = bytes(range(256)) * 4096  # 1 MiB
    u = fs.join(root, "blob")
    fs.write_bytes(u, data)
    with fs.open_read(u) as f:
        assert f.size() == len(data)
        f.seek(1000)
        assert f.read(10) == data[1000:1010]
        assert f.tell() == 1010
        f.seek(-5, 2)
        assert f.read() == data[-5:]
        f.seek(0)
        b = bytearray(300)
        assert f.readinto(b) == 300 and bytes(b) == data[:300]
    fs.write_text(fs.join(root, "lines.txt"), "a\nbb\nccc\n")
    with fs.as_text(fs.open_read(fs.join(root, "lines.txt"))) as t:
        assert [line for line in t] == ["a\n", "bb\n", "ccc\n"]


def test_parquet_through_open_read_and_open_write(root):
    table = pa.table({"x": list(range(5000)), "s": [str(i) for i in range(5000)]})
    u = fs.join(root, "d", "t.parquet")
    with fs.atomic_write(u) as f:
        pq.write_table(table, f, row_group_size=1000)
    with fs.open_read(u) as f:
        pf = pq.ParquetFile(f)
        assert pf.metadata.num_row_groups == 5
        assert pf.read_row_group(3).column("x").to_pylist() == list(range(3000, 4000))


def test_open_write_streaming_and_overwrite(root):
    u = fs.join(root, "w.bin")
    with fs.open_write(u) as f:
        for i in range(10):
            f.write(bytes([i]) * 1000)
    assert fs.info(u)["size"] == 10000
    with pytest.raises(fs.FsExists) as ei:
        fs.open_write(u)
    assert str(ei.value) == f"{u}: already exists (pass --overwrite to replace it)"
    with fs.open_write(u, overwrite=True) as f:
        f.write(b"new")
    assert fs.read_bytes(u) == b"new"


def test_atomic_write_leaves_nothing_on_error(root):
    u = fs.join(root, "d", "x.json")
    fs.write_text(u, "old")
    with pytest.raises(RuntimeError):
        with fs.atomic_write(u, overwrite=True) as f:
            f.write(b"half")
            raise RuntimeError("boom")
    assert fs.read_text(u) == "old"
    assert fs.ls(fs.join(root, "d")) == [u]  # no temp file left
    with pytest.raises(RuntimeError):
        with fs.atomic_write(fs.join(root, "d", "new.json")) as f:
            f.write(b"half")
            raise RuntimeError("boom")
    assert fs.ls(fs.join(root, "d")) == [u]


def test_atomic_write_invisible_until_commit(root):
    u = fs.join(root, "y.bin")
    with fs.atomic_write(u) as f:
        f.write(b"abc")
        f.flush()
        assert not fs.exists(u)
        assert fs.glob(fs.join(root, "*")) == []  # the hidden temp file is not globbed
    assert fs.read_bytes(u) == b"abc"


def test_write_exists_without_overwrite(root):
    u = fs.join(root, "e.txt")
    fs.write_text(u, "1")
    with pytest.raises(fs.FsExists) as ei:
        fs.write_text(u, "2")
    assert str(ei.value) == f"{u}: already exists (pass --overwrite to replace it)"
    assert isinstance(ei.value, UserError)
    fs.write_text(u, "2", overwrite=True)
    assert fs.read_text(u) == "2"


def test_missing_paths(root):
    m = fs.join(root, "missing", "f.txt")
    for call in (fs.read_bytes, fs.info, fs.ls, fs.rm, fs.walk_files):
        with pytest.raises(fs.FsNotFound) as ei:
            call(m)
        assert str(ei.value) == f"{m}: not found"
    fs.rm(m, missing_ok=True)
    assert fs.glob(fs.join(root, "missing", "*")) == []


NOBODY = 65534


def _as_nobody(fn):
    """Run ``fn()`` in a forked child as uid/gid nobody (root ignores permissions); its lines.

    Fork, not exec: our python lives under /root, which nobody cannot open.
    """
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.write(w, "\n".join(fn()).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    return out.splitlines()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to user nobody")
@pytest.mark.parametrize("style", ["plain", "file"])
def test_permission_denied(style):
    d = tempfile.mkdtemp()
    try:
        os.chmod(d, 0o755)
        root = d if style == "plain" else "file://" + d
        secret = fs.join(root, "secret")
        fs.write_text(secret, "x")
        os.chmod(fs.split(secret)[2], 0o600)
        locked = fs.join(root, "locked")
        fs.write_text(fs.join(locked, "f"), "x")
        os.chmod(fs.split(locked)[2], 0o700)
        new, ds = fs.join(root, "new"), fs.join(root, "ds")

        def attempts():
            out = []
            for call in (lambda: fs.read_bytes(secret), lambda: fs.ls(locked),
                         lambda: fs.write_text(new, "x"), lambda: fs.staging_dir(ds).__enter__(),
                         lambda: fs.rm(secret)):
                try:
                    call()
                    out.append("no error")
                except fs.FsPermission as e:
                    out.append(str(e))
            return out

        assert _as_nobody(attempts) == [f"{secret}: permission denied",
                                    f"{locked}: permission denied",
                                    f"{fs.join(root, 'new')}: permission denied",
                                    f"{fs.join(root, 'ds')}: permission denied",
                                    f"{secret}: permission denied"]
        assert fs.ls(root) == [fs.join(root, "locked"), secret]  # nothing half-written
    finally:
        shutil.rmtree(d)


def test_ls_mkdirs_rm_rename(root):
    d = fs.join(root, "d")
    fs.mkdirs(fs.join(d, "sub"))
    fs.mkdirs(fs.join(d, "sub"))  # idempotent
    for n in ("b", "a", "c"):
        fs.write_text(fs.join(d, n), n)
    assert fs.ls(d) == [fs.join(d, n) for n in ("a", "b", "c", "sub")]
    fs.rename(fs.join(d, "a"), fs.join(d, "sub", "a2"))
    assert fs.read_text(fs.join(d, "sub", "a2")) == "a"
    with pytest.raises(fs.FsExists) as ei:
        fs.rename(fs.join(d, "b"), fs.join(d, "c"))
    assert str(ei.value) == f"{fs.join(d, 'c')}: already exists (rename does not replace)"
    assert fs.read_text(fs.join(d, "b")) == "b"
    with pytest.raises(fs.FsError) as ei:
        fs.rm(fs.join(d, "sub"))
    assert str(ei.value) == f"{fs.join(d, 'sub')}: directory not empty (use recursive=True)"
    fs.rm(fs.join(d, "sub"), recursive=True)
    fs.rm(fs.join(d, "b"))
    assert fs.ls(d) == [fs.join(d, "c")]
    with pytest.raises(fs.FsError) as ei:
        fs.ls(fs.join(d, "c"))
    assert str(ei.value) == f"{fs.join(d, 'c')}: not a directory"


def test_glob_patterns(root):
    for p in ("x/a1.parquet", "x/a2.parquet", "x/b.txt", "x/y/a3.parquet", "x/y/z/a4.parquet",
              "w/q/a5.parquet", "x/.hidden.parquet"):
        fs.write_text(fs.join(root, p), "1")
    j = lambda *ps: [fs.join(root, p) for p in ps]  # noqa: E731
    assert fs.glob(fs.join(root, "x/*.parquet")) == j("x/a1.parquet", "x/a2.parquet")
    assert fs.glob(fs.join(root, "x/a?.parquet")) == j("x/a1.parquet", "x/a2.parquet")
    assert fs.glob(fs.join(root, "x/a[2-9].*")) == j("x/a2.parquet")
    assert fs.glob(fs.join(root, "x/[!a]*")) == j("x/b.txt", "x/y")
    assert fs.glob(fs.join(root, "*/*/a*.parquet")) == j("w/q/a5.parquet", "x/y/a3.parquet")
    assert fs.glob(fs.join(root, "x/**/*.parquet")) == j(
        "x/a1.parquet", "x/a2.parquet", "x/y/a3.parquet", "x/y/z/a4.parquet")
    assert fs.glob(fs.join(root, "**/a4.parquet")) == j("x/y/z/a4.parquet")
    assert fs.glob(fs.join(root, "x/y/**")) == j("x/y/a3.parquet", "x/y/z", "x/y/z/a4.parquet")
    assert fs.glob(fs.join(root, "x/.h*")) == j("x/.hidden.parquet")
    assert fs.glob(fs.join(root, "x/b.txt")) == j("x/b.txt")
    assert fs.glob(fs.join(root, "x/nope.txt")) == []
    assert fs.glob(fs.join(root, "x/b.txt/*")) == []
    assert fs.walk_files(fs.join(root, "x")) == j(
        "x/a1.parquet", "x/a2.parquet", "x/b.txt", "x/y/a3.parquet", "x/y/z/a4.parquet")
    assert fs.join(root, "x/.hidden.parquet") in fs.walk_files(fs.join(root, "x"),
                                                                 include_hidden=True)


def test_glob_relative(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fs.write_text("d/a.txt", "1")
    fs.write_text("d/e/b.txt", "1")
    assert fs.glob("d/*.txt") == ["d/a.txt"]
    assert fs.glob("**/*.txt") == ["d/a.txt", "d/e/b.txt"]
    assert fs.ls("d") == ["d/a.txt", "d/e"]
    assert fs.to_spark_path("d/a.txt") == "file://" + str(tmp_path / "d/a.txt")


def test_staging_dir_commit_and_error(root):
    final = fs.join(root, "out", "ds")
    with fs.staging_dir(final) as tmp:
        assert not fs.exists(final)
        fs.write_text(fs.join(tmp, "part-0"), "0")
        fs.write_text(fs.join(tmp, "sub", "part-1"), "1")
    assert fs.walk_files(final) == [fs.join(final, "part-0"), fs.join(final, "sub", "part-1")]
    assert fs.ls(fs.join(root, "out")) == [final]
    with pytest.raises(fs.FsExists):
        with fs.staging_dir(final):
            pass
    with pytest.raises(ValueError):
        with fs.staging_dir(final, overwrite=True) as tmp:
            fs.write_text(fs.join(tmp, "new"), "n")
            raise ValueError("writer failed")
    assert fs.ls(fs.join(root, "out")) == [final]  # staging removed, old data intact
    assert fs.walk_files(final) == [fs.join(final, "part-0"), fs.join(final, "sub", "part-1")]
    with fs.staging_dir(final, overwrite=True) as tmp:
        fs.write_text(fs.join(tmp, "new"), "n")
    assert fs.walk_files(final) == [fs.join(final, "new")]
    assert fs.ls(fs.join(root, "out")) == [final]  # the old copy is gone too


def test_uri_helpers():
    assert fs.join("hdfs://nn:8020/a", "b", "/c/") == "hdfs://nn:8020/a/b/c"
    assert fs.join("hdfs:///", "x") == "hdfs:///x"
    assert fs.join("file:///tmp", "x") == "file:///tmp/x"
    assert fs.join("rel", "x") == "rel/x"
    assert fs.parent("hdfs://nn:8020/a/b") == "hdfs://nn:8020/a"
    assert fs.basename("hdfs://nn:8020/a/b/") == "b"
    assert fs.scheme("/x") == fs.scheme("file:/x") == fs.scheme("rel:1") == "file"
    assert fs.scheme("HDFS://nn/x") == "hdfs" and fs.is_remote("webhdfs://h:9870/x")
    assert not fs.is_remote("/x")
    assert fs.to_spark_path("hdfs:///x") == "hdfs:///x"
    assert fs.to_spark_path("file:///x/y") == "file:///x/y"
    with pytest.raises(fs.FsError) as ei:
        fs.exists("s3a://bucket/x")
    assert str(ei.value) == ("s3a://bucket/x: unsupported scheme 's3a' (supported: local paths, "
                             "file://, hdfs://, webhdfs://, swebhdfs://)")


def test_rm_refuses_roots(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for uri in ("/", "file:///", ".", "hdfs:///", "hdfs://nn:8020/"):
        with pytest.raises(fs.FsError) as ei:
            fs.rm(uri, recursive=True)
        assert str(ei.value) == (f"{uri}: refusing to delete a filesystem root or the working "
                                 "directory")
