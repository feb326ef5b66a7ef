#!/usr/bin/env python3
"""Throughput of rnn_spark.fs: sequential write/read of a large file, and pyarrow reading Parquet
through ``fs.open_read``, on local disk and (if configured) the HDFS test cluster. Prints JSON.

  python3 benchmarks/fs_read.py [--size-mb 200] [--parquet-mb 100] [--hdfs hdfs:///tmp/bench]

HDFS is used when --hdfs is given, or HADOOP_CONF_DIR / RNN_SPARK_WEBHDFS_URL is set (then
``hdfs:///tmp/rnn-spark-bench-<hex>``). Baselines: plain ``open()`` locally, and the ``hdfs``
package's own streaming ``client.read`` / ``client.write`` for HDFS, to show the wrapper's cost.
Local reads right after writing come from the page cache: they measure the software path.
"""

import argparse
import json
import os
import secrets
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rnn_spark import fs

MB = 1 << 20


def _mbps(nbytes, seconds):
    return round(nbytes / MB / seconds, 1) if seconds > 0 else None


def _block():
    return np.random.default_rng(0).integers(0, 256, 16 * MB, dtype=np.uint8).tobytes()


def write_file(uri, size, piece=MB):
    block = _block()
    t0 = time.perf_counter()
    with fs.atomic_write(uri, overwrite=True) as f:
        done = 0
        while done < size:
            n = min(piece, size - done)
            off = done % len(block)
            f.write(block[off:off + n] if off + n <= len(block) else block[:n])
            done += n
    return time.perf_counter() - t0


def read_file(uri, piece=MB):
    t0 = time.perf_counter()
    n = 0
    with fs.open_read(uri) as f:
        while True:
            b = f.read(piece)
            if not b:
                break
            n += len(b)
    return n, time.perf_counter() - t0


def _summary(runs):
    """{'median': x, 'best': y} of a list of MB/s values (the machine is shared: noisy)."""
    runs = sorted(v for v in runs if v is not None)
    return {"median": runs[len(runs) // 2], "best": runs[-1]} if runs else None


def bench_io(base, size, baseline, repeat):
    u = fs.join(base, "big.bin")
    ws, rs, bws, brs = [], [], [], []
    for _ in range(repeat):
        ws.append(_mbps(size, write_file(u, size)))
        n, r = read_file(u)
        assert n == size, (n, size)
        rs.append(_mbps(size, r))
        base_out = baseline(u, size)
        bws.append(base_out["baseline_write_MBps"])
        brs.append(base_out["baseline_read_MBps"])
    fs.rm(u)
    return {"bytes": size, "repeat": repeat, "write_MBps": _summary(ws), "read_MBps": _summary(rs),
            "baseline": base_out["baseline"], "baseline_write_MBps": _summary(bws),
            "baseline_read_MBps": _summary(brs)}


def local_baseline(uri, size):
    path = fs.split(uri)[2] + ".raw"
    block = _block()
    t0 = time.perf_counter()
    with open(path, "wb") as f:
        for i in range(0, size, MB):
            f.write(block[i % len(block):i % len(block) + min(MB, size - i)])
        f.flush()
        os.fsync(f.fileno())
    w = time.perf_counter() - t0
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(MB):
            pass
    r = time.perf_counter() - t0
    os.unlink(path)
    return {"baseline": "python open()", "baseline_write_MBps": _mbps(size, w),
            "baseline_read_MBps": _mbps(size, r)}


def hdfs_baseline(uri, size):
    b = fs._backend(uri)
    path = fs.split(uri)[2] + ".raw"
    block = _block()

    def gen():
        for i in range(0, size, 4 * MB):
            off = i % len(block)
            yield block[off:off + min(4 * MB, size - i)]

    t0 = time.perf_counter()
    b.client.write(path, data=gen(), overwrite=True)
    w = time.perf_counter() - t0
    t0 = time.perf_counter()
    with b.client.read(path, chunk_size=MB) as chunks:
        for _ in chunks:
            pass
    r = time.perf_counter() - t0
    b.client.delete(path)
    return {"baseline": "hdfs package client.write/read", "baseline_write_MBps": _mbps(size, w),
            "baseline_read_MBps": _mbps(size, r)}


def bench_parquet(base, target_mb, repeat):
    rows = int(target_mb * MB / 16)  # two float64-ish columns, little compression
    rng = np.random.default_rng(1)
    table = pa.table({"x": rng.standard_normal(rows), "y": rng.integers(0, 1 << 62, rows)})
    u = fs.join(base, "t.parquet")
    with fs.atomic_write(u, overwrite=True) as f:
        pq.write_table(table, f, row_group_size=max(1, rows // 16), compression="none")
    size = fs.info(u)["size"]
    full, one = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with fs.open_read(u) as f:
            got = pq.read_table(f)  # pre_buffer=True: coalesced ranged reads
        full.append(_mbps(size, time.perf_counter() - t0))
        assert got.num_rows == rows
        t0 = time.perf_counter()
        with fs.open_read(u) as f:
            pf = pq.ParquetFile(f)  # footer + one row group, nothing else
            rg = pf.read_row_group(11)
        one.append(round((time.perf_counter() - t0) * 1000, 1))
    rg_bytes = pf.metadata.row_group(11).total_byte_size
    fs.rm(u)
    return {"file_bytes": size, "rows": rows, "read_table_MBps": _summary(full),
            "open_and_read_one_row_group_ms": {"median": sorted(one)[len(one) // 2],
                                               "best": min(one)},
            "row_group_bytes": rg_bytes, "row_group_rows": rg.num_rows}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--parquet-mb", type=float, default=100)
    ap.add_argument("--local-dir", default=None, help="default: a temp dir")
    ap.add_argument("--hdfs", default=None, help="HDFS directory URI to use (created, removed)")
    ap.add_argument("--no-local", action="store_true")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (median, best)")
    a = ap.parse_args(argv)
    size = int(a.size_mb * MB)
    results = {"size_mb": a.size_mb, "parquet_mb": a.parquet_mb, "cpus": os.cpu_count()}
    if not a.no_local:
        with tempfile.TemporaryDirectory(dir=a.local_dir) as d:
            results["local"] = bench_io(d, size, local_baseline, a.repeat)
            results["local"]["parquet"] = bench_parquet(d, a.parquet_mb, a.repeat)
    hdfs = a.hdfs
    if hdfs is None and (os.environ.get("HADOOP_CONF_DIR") or os.environ.get("RNN_SPARK_WEBHDFS_URL")):
        hdfs = f"hdfs:///tmp/rnn-spark-bench-{secrets.token_hex(4)}"
    if hdfs:
        fs.mkdirs(hdfs)
        try:
            results["hdfs"] = {"uri": hdfs, **bench_io(hdfs, size, hdfs_baseline, a.repeat)}
            results["hdfs"]["parquet"] = bench_parquet(hdfs, a.parquet_mb, a.repeat)
        finally:
            fs.rm(hdfs, recursive=True, missing_ok=True)
    results["libhdfs"] = ("not measured: pyarrow.fs.HadoopFileSystem needs libhdfs.so, which ships "
                          "only in the Hadoop binary distribution (not in the Maven jars, PyPI or "
                          "Debian packages reachable here)")
    json.dump(results, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
