#!/usr/bin/env python3
"""Throughput of text ingest (MB of input text per second) to local disk and to HDFS, and of
streaming the result back as minibatches. Prints one JSON object.

  python3 benchmarks/ingest.py [--size-mb 32] [--files 4] [--seq-len 256] [--spark local[2]]
                               [--hdfs hdfs:///tmp/bench]

HDFS is used when --hdfs is given, or HADOOP_CONF_DIR / RNN_SPARK_WEBHDFS_URL is set (then
``hdfs:///tmp/rnn-spark-bench-ingest-<hex>``). Input: synthetic UTF-8 words (mixed ASCII and
Greek), split over --files files. Each case runs once after a small warm-up ingest.
"""

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import time

from rnn_spark import fs
from rnn_spark.data import iter_minibatches
from rnn_spark.ingest import ingest_text

MB = 1 << 20
WORDS = ["the", "alpha", "beta", "gamma", "délta", "εψιλον", "zeta", "network", "of", "a"]


def make_input(d, size_mb, files):
    rnd = random.Random(0)
    per = size_mb * MB // files
    total = 0
    for k in range(files):
        words, n = [], 0
        while n < per:
            w = rnd.choice(WORDS)
            words.append(w)
            n += len(w.encode()) + 1
        data = " ".join(words).encode()
        with open(os.path.join(d, f"part{k:03d}.txt"), "wb") as f:
            f.write(data)
        total += len(data)
    return total


def timed_ingest(srcs, out, size, **kw):
    t0 = time.perf_counter()
    m = ingest_text(srcs, out, overwrite=True, quiet=True, **kw)
    dt = time.perf_counter() - t0
    shard_bytes = sum(s["bytes"] for sp in m.splits for s in m.shards(sp))
    return m, {"seconds": round(dt, 2), "input_MB_per_s": round(size / MB / dt, 2),
               "shard_MB": round(shard_bytes / MB, 1),
               "sequences": sum(m.counts(s)["sequences"] for s in m.splits)}


def timed_stream(m, batch=64):
    units = m.work_units("train")
    t0 = time.perf_counter()
    tokens = sum(b.n_targets for b in iter_minibatches(units, batch, manifest=m, seed=0,
                                                        bucket=True))
    dt = time.perf_counter() - t0
    return {"seconds": round(dt, 2), "tokens_per_s": round(tokens / dt)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=32)
    ap.add_argument("--files", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=256)
    ap.add_argument("--spark", default=None, help="also run the Spark engine on this master")
    ap.add_argument("--hdfs", default=None)
    a = ap.parse_args(argv)
    hdfs = a.hdfs
    if hdfs is None and (os.environ.get("HADOOP_CONF_DIR") or
                         os.environ.get("RNN_SPARK_WEBHDFS_URL")):
        hdfs = f"hdfs:///tmp/rnn-spark-bench-ingest-{secrets.token_hex(4)}"
    res = {"size_MB": a.size_mb, "files": a.files, "seq_len": a.seq_len, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in")
        os.mkdir(src)
        size = make_input(src, a.size_mb, a.files)
        srcs = [os.path.join(src, "*.txt")]
        ingest_text([os.path.join(src, "part000.txt")], os.path.join(tmp, "warm"), seq_len=32)
        cases = [("local_char", os.path.join(tmp, "o1"), dict(vocab="char")),
                 ("local_byte", os.path.join(tmp, "o2"), dict(vocab="byte"))]
        if hdfs:
            cases += [("hdfs_char", fs.join(hdfs, "o1"), dict(vocab="char")),
                      ("hdfs_byte", fs.join(hdfs, "o2"), dict(vocab="byte"))]
        if a.spark:
            cases.append((f"spark_{a.spark}_char", os.path.join(tmp, "o3"),
                          dict(vocab="char", engine="spark", master=a.spark)))
        try:
            for name, out, kw in cases:
                m, r = timed_ingest(srcs, out, size, seq_len=a.seq_len, **kw)
                if name in ("local_char", "hdfs_char"):
                    r["stream"] = timed_stream(m)
                res["cases"][name] = r
                print(f"{name}: {r}", file=sys.stderr)
        finally:
            if hdfs:
                fs.rm(hdfs, recursive=True, missing_ok=True)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
