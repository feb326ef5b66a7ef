"""rnn_spark.fs against the real HDFS test cluster (scripts/hadoop-cluster): round trips, ranged
reads, Parquet through open_read, atomic_write, staging_dir, errors."""

import os
import secrets
import socket
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rnn_spark import fs
from rnn_spark.fs import hdfs_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hdfs_root(hadoop_cluster):
    """A fresh directory on the cluster; URIs resolve through its HADOOP_CONF_DIR (fs.defaultFS)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HADOOP_CONF_DIR", str(hadoop_cluster.conf_dir))
        mp.setenv("HADOOP_USER_NAME", hadoop_cluster.user)
        for var in ("RNN_SPARK_WEBHDFS_URL", "RNN_SPARK_HDFS_ALIAS", "HADOOP_TOKEN",
                    "RNN_SPARK_HDFS_AUTH", "RNN_SPARK_HDFS_TIMEOUT"):
            mp.delenv(var, raising=False)
        hdfs_config.configure(reset=True)
        root = f"hdfs:///tmp/e2e/rnn-spark-fs-{secrets.token_hex(4)}"
        fs.mkdirs(root)
        yield root
        fs.rm(root, recursive=True, missing_ok=True)
        hdfs_config.configure(reset=True)


@pytest.fixture()
def root(hdfs_root, request):
    d = fs.join(hdfs_root, request.node.name.replace("[", "_").replace("]", ""))
    fs.mkdirs(d)
    return d


def test_resolves_through_hadoop_conf(hdfs_root, hadoop_cluster):
    ep = hdfs_config.resolve(hdfs_root)
    assert ep.source == f"HADOOP_CONF_DIR={hadoop_cluster.conf_dir}"
    assert ep.urls == (hadoop_cluster.webhdfs_url,)
    explicit = hadoop_cluster.uri(fs.split(hdfs_root)[2])  # hdfs://127.0.0.1:8020/...
    assert fs.isdir(explicit) and hdfs_config.resolve(explicit).urls == ep.urls
    assert fs.to_spark_path(explicit) == explicit


def test_bytes_text_info_ls(root):
    u = fs.join(root, "a", "b", "x.bin")
    fs.write_bytes(u, b"\x00\x01hello")
    assert fs.read_bytes(u) == b"\x00\x01hello"
    fs.write_text(fs.join(root, "t.txt"), "héllo\nwörld\n")
    assert fs.read_text(fs.join(root, "t.txt")) == "héllo\nwörld\n"
    inf = fs.info(u)
    assert inf["type"] == "file" and inf["size"] == 7 and inf["mtime"] > 1e9
    assert fs.info(fs.join(root, "a"))["type"] == "directory"
    assert fs.ls(root) == [fs.join(root, "a"), fs.join(root, "t.txt")]
    assert fs.exists(u) and fs.isdir(fs.join(root, "a")) and not fs.exists(fs.join(root, "no"))
    fs.write_bytes(fs.join(root, "empty"), b"")
    assert fs.read_bytes(fs.join(root, "empty")) == b""


def test_range_reads(root):
    data = os.urandom(5 * 1024 * 1024 + 123)
    u = fs.join(root, "blob")
    with fs.open_write(u) as f:  # streaming, several chunks
        for i in range(0, len(data), 700_000):
            f.write(data[i:i + 700_000])
    with fs.open_read(u) as f:
        assert f.size() == len(data)
        for off, n in ((4_000_000, 1000), (17, 3), (len(data) - 50, 50), (1_048_575, 2_100_000)):
            f.seek(off)
            assert f.read(n) == data[off:off + n]
            assert f.tell() == off + n
            # a seek opens a ranged request, not the rest of the file
            assert f.raw._send - f.raw._spos <= max(n, 1 << 20)
        f.seek(-7, 2)
        assert f.read() == data[-7:]
        assert f.read(10) == b""
        f.seek(0)
        assert f.read() == data


def test_text_streaming(root):
    lines = [f"line {i} " + "x" * (i % 50) + "\n" for i in range(20000)]
    u = fs.join(root, "lines.txt")
    with fs.atomic_write(u) as f:
        t = fs.as_text(f)
        t.writelines(lines)
        t.flush()
        t.detach()  # leave closing (the commit) to atomic_write
    with fs.as_text(fs.open_read(u)) as t:
        assert list(t) == lines


def test_parquet_through_open_read(root):
    n = 200_000
    table = pa.table({"x": pa.array(range(n), pa.int64()),
                      "s": [f"s{i}" for i in range(n)]})
    u = fs.join(root, "t.parquet")
    with fs.atomic_write(u) as f:
        pq.write_table(table, f, row_group_size=20_000)
    with fs.open_read(u) as f:
        pf = pq.ParquetFile(f)
        assert pf.metadata.num_rows == n and pf.metadata.num_row_groups == 10
        assert pf.read_row_group(7, columns=["x"]).column("x").to_pylist() == \
            list(range(140_000, 160_000))
        assert pf.read().equals(table)


def test_atomic_write_and_overwrite(root):
    u = fs.join(root, "x.json")
    fs.write_text(u, "old")
    with pytest.raises(fs.FsExists) as ei:
        fs.write_text(u, "new")
    assert str(ei.value) == f"{u}: already exists (pass --overwrite to replace it)"
    with pytest.raises(RuntimeError):
        with fs.atomic_write(u, overwrite=True) as f:
            f.write(os.urandom(9_000_000))  # more than one chunk is already streaming
            raise RuntimeError("boom")
    assert fs.read_text(u) == "old"
    assert fs.ls(root) == [u]  # the temp file is gone
    with fs.atomic_write(u, overwrite=True) as f:
        f.write(b"new")
        assert fs.read_text(u) == "old"  # not visible before the commit
    assert fs.read_text(u) == "new" and fs.ls(root) == [u]


def test_staging_dir(root):
    final = fs.join(root, "ds")
    with fs.staging_dir(final) as tmp:
        assert fs.isdir(tmp) and not fs.exists(final)
        fs.write_text(fs.join(tmp, "part-0"), "0")
        fs.write_text(fs.join(tmp, "sub", "part-1"), "1")
    assert fs.walk_files(final) == [fs.join(final, "part-0"), fs.join(final, "sub", "part-1")]
    with pytest.raises(ValueError):
        with fs.staging_dir(final, overwrite=True) as tmp:
            fs.write_text(fs.join(tmp, "new"), "n")
            raise ValueError("writer failed")
    assert fs.ls(root) == [final]
    with fs.staging_dir(final, overwrite=True) as tmp:
        fs.write_text(fs.join(tmp, "new"), "n")
    assert fs.walk_files(final) == [fs.join(final, "new")] and fs.ls(root) == [final]


def test_glob_and_walk(root):
    for p in ("x/a1.parquet", "x/a2.parquet", "x/b.txt", "x/y/a3.parquet", "x/.h.parquet",
              "x/_SUCCESS"):
        fs.write_text(fs.join(root, p), "1")
    j = lambda *ps: [fs.join(root, p) for p in ps]  # noqa: E731
    assert fs.glob(fs.join(root, "x/*.parquet")) == j("x/a1.parquet", "x/a2.parquet")
    assert fs.glob(fs.join(root, "x/a[13].*")) == j("x/a1.parquet")
    assert fs.glob(fs.join(root, "*/?/*.parquet")) == j("x/y/a3.parquet")
    assert fs.glob(fs.join(root, "**/*.parquet")) == j("x/a1.parquet", "x/a2.parquet",
                                                       "x/y/a3.parquet")
    assert fs.walk_files(fs.join(root, "x")) == j("x/a1.parquet", "x/a2.parquet", "x/b.txt",
                                                  "x/y/a3.parquet")


def test_rename_rm_errors(root):
    a, b = fs.join(root, "a"), fs.join(root, "b")
    fs.write_text(a, "a")
    fs.write_text(b, "b")
    with pytest.raises(fs.FsExists) as ei:
        fs.rename(a, b)
    assert str(ei.value) == f"{b}: already exists (rename does not replace)"
    fs.rename(a, fs.join(root, "c"))
    assert fs.read_text(fs.join(root, "c")) == "a" and not fs.exists(a)
    with pytest.raises(fs.FsNotFound) as ei:
        fs.read_bytes(a)
    assert str(ei.value) == f"{a}: not found"
    for call in (fs.info, fs.ls, fs.rm, fs.walk_files):
        with pytest.raises(fs.FsNotFound) as ei:
            call(a)
        assert str(ei.value) == f"{a}: not found"
    fs.rm(a, missing_ok=True)
    fs.write_text(fs.join(root, "d", "f"), "x")
    with pytest.raises(fs.FsError) as ei:
        fs.rm(fs.join(root, "d"))
    assert str(ei.value) == f"{fs.join(root, 'd')}: directory not empty (use recursive=True)"
    fs.rm(fs.join(root, "d"), recursive=True)
    with pytest.raises(fs.FsError) as ei:
        fs.ls(b)
    assert str(ei.value) == f"{b}: not a directory"


def test_permission_denied(root, hdfs_client):
    locked = fs.join(root, "locked")
    fs.mkdirs(locked)
    hdfs_client.set_permission(fs.split(locked)[2], "700")
    hdfs_config.configure(user="mallory")
    try:
        with pytest.raises(fs.FsPermission) as ei:
            fs.write_text(fs.join(locked, "x"), "x")
        msg = str(ei.value)
        assert msg.startswith(f"{fs.join(locked, 'x')}: permission denied (user=mallory, ")
        with pytest.raises(fs.FsPermission) as ei:
            fs.ls(locked)
        assert str(ei.value).startswith(f"{locked}: permission denied (user=mallory, ")
    finally:
        hdfs_config.configure(user=None)


def test_unreachable_closed_port(hdfs_root):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    hdfs_config.configure(webhdfs_url=f"http://127.0.0.1:{port}", timeout=2, retries=1)
    try:
        t0 = time.monotonic()
        with pytest.raises(fs.FsUnreachable) as ei:
            fs.read_bytes(fs.join(hdfs_root, "x"))
        assert time.monotonic() - t0 < 10
        assert str(ei.value).startswith(
            f"{fs.join(hdfs_root, 'x')}: NameNode WebHDFS at http://127.0.0.1:{port} unreachable")
        assert "(connection refused); address from --webhdfs-url (or RNN_SPARK_WEBHDFS_URL); " \
               "check it, or HADOOP_CONF_DIR" in str(ei.value)
    finally:
        hdfs_config.configure(webhdfs_url=None, timeout=None, retries=None)
