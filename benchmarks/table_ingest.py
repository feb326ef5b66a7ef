#!/usr/bin/env python3
"""`ingest table` throughput on Spark against a plain Spark job that makes the same sequences
(``groupBy(user).agg(sort_array(collect_list(struct(ts, event, amount))))`` written as Parquet),
and the memory the ingest takes as the table grows. Prints one JSON object.

  python3 benchmarks/table_ingest.py [--rows 500000 2000000 ...] [--master local[2]]
                                     [--driver-memory 512m] [--repeat 2] [--out FILE]

Input: a Parquet events table (user: string, ~20 rows per user; ts: long; event: string of 8
values; amount: double; churn: int) generated with pyarrow. Each size is ingested with
``--group-by user --order-by ts --categorical event --numeric amount --label churn`` and run
through the baseline, alternately, ``--repeat`` times (the best time of each is kept).

Memory, per ingest: the driver's Python process (its peak RSS, VmHWM reset before the ingest,
less its RSS just before: what the ingest added to the driver), the JVM (the local master's
driver and executors, heap capped by ``--driver-memory``) and the largest Spark Python worker,
both sampled from /proc every 0.2 s; beside the table's size in memory (Arrow, uncompressed).
A driver that collected rows would grow with the table; this one stays flat (and
tests/ingest/test_table_driver.py checks that what reaches the driver does not grow with it).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling import peak_rss_reset  # noqa: E402

EVENTS = np.array(["view", "cart", "buy", "home", "search", "login", "logout", "help"])


def make_table(path: str, rows: int, seed: int = 0, per_file: int = 1_000_000) -> int:
    """Write ``rows`` event rows as Parquet files under ``path``; -> Arrow bytes in memory."""
    rng = np.random.default_rng(seed)
    os.makedirs(path, exist_ok=True)
    users = max(1, rows // 20)
    size = 0
    for k, start in enumerate(range(0, rows, per_file)):
        n = min(per_file, rows - start)
        u = rng.integers(0, users, n)
        t = pa.table({"user": pa.array(np.char.add("u", u.astype(str))),
                      "ts": rng.integers(0, 10**9, n),
                      "event": pa.array(EVENTS[rng.integers(0, len(EVENTS), n)]),
                      "amount": rng.normal(10, 3, n).round(2),
                      "churn": (u % 3 == 0).astype(np.int64)})
        size += t.nbytes
        pq.write_table(t, os.path.join(path, f"part-{k:04d}.parquet"))
    return size


def rss_mb() -> float:
    """This process's resident size now (VmRSS) and its peak (VmHWM), in MiB."""
    got = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            got[line[:5]] = int(line.split()[1]) / 1024
    return got.get("VmRSS", float("nan")), got.get("VmHWM", float("nan"))


def commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class PeakRSS:
    """Peak resident set size (bytes) of this process, of the JVM children and of Python
    children (Spark's workers), sampled from /proc."""

    def __init__(self, every: float = 0.2):
        self.every, self.peak = every, {"driver_python": 0, "jvm": 0, "python_worker": 0}
        self._stop = threading.Event()

    @staticmethod
    def _rss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            return 0

    def _children(self, pid: int) -> list[int]:
        out, todo = [], [pid]
        while todo:
            p = todo.pop()
            kids = []
            try:
                for tid in os.listdir(f"/proc/{p}/task"):  # any thread may have forked
                    with open(f"/proc/{p}/task/{tid}/children") as f:
                        kids += [int(x) for x in f.read().split()]
            except OSError:
                pass
            out += kids
            todo += kids
        return out

    def _sample(self) -> None:
        me = os.getpid()
        self.peak["driver_python"] = max(self.peak["driver_python"], self._rss(me))
        for pid in self._children(me):
            try:
                with open(f"/proc/{pid}/comm") as f:
                    comm = f.read().strip()
            except OSError:
                continue
            key = "jvm" if comm == "java" else "python_worker" if comm.startswith("python") \
                else None
            if key:
                self.peak[key] = max(self.peak[key], self._rss(pid))

    def __enter__(self):
        def run():
            while not self._stop.wait(self.every):
                self._sample()
        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


def baseline(spark, src: str, out: str) -> float:
    from pyspark.sql import functions as F
    t0 = time.perf_counter()
    local = (lambda p: p if "://" in p else "file://" + p)  # (HADOOP_CONF_DIR: default FS HDFS)
    (spark.read.parquet(local(src)).groupBy("user")
     .agg(F.sort_array(F.collect_list(F.struct("ts", "event", "amount"))).alias("steps"),
          F.first("churn").alias("churn"))
     .write.mode("overwrite").parquet(local(out)))
    return time.perf_counter() - t0


def ingest(src: str, out: str) -> tuple[float, dict, dict]:
    """-> (seconds, sequences per split, memory: the driver's growth and the children's peaks)."""
    from rnn_spark.ingest.table import ingest_table
    before, _ = rss_mb()
    peak_rss_reset()
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        m = ingest_table(out, path=src, format="parquet", engine="spark", group_by=["user"],
                         order_by="ts", categorical=["event"], numeric=["amount"],
                         label="churn", overwrite=True)
        dt = time.perf_counter() - t0
    _, peak = rss_mb()
    memory = {"driver_python_before_MB": round(before, 1),
              "driver_python_peak_MB": round(peak, 1),
              "driver_python_added_MB": round(peak - before, 1),
              "jvm_peak_MB": round(mem.peak["jvm"] / 2**20, 1),
              "python_worker_peak_MB": round(mem.peak["python_worker"] / 2**20, 1)}
    return dt, {s: m.counts(s) for s in m.splits}, memory


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="+", default=[500_000, 2_000_000])
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="512m")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--warm-rows", type=int, default=20_000, help=argparse.SUPPRESS)
    ap.add_argument("--dir", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--out", default=None, help="also write the JSON here")
    a = ap.parse_args(argv)
    os.environ.setdefault("PYSPARK_SUBMIT_ARGS", f"--driver-memory {a.driver_memory} "
                                                 "pyspark-shell")
    from rnn_spark.runners.spark import get_spark_session
    work = a.dir or tempfile.mkdtemp(prefix="rnn-spark-bench-table-")
    spark = get_spark_session(a.master, "rnn-spark bench table",
                              {"spark.driver.memory": a.driver_memory,
                               "spark.ui.enabled": "false"})
    spark.sparkContext.setLogLevel("ERROR")
    results = []
    head = {"master": a.master, "driver_memory": a.driver_memory, "cores": os.cpu_count(),
            "date": datetime.date.today().isoformat(), "commit": commit(),
            "command": "python3 benchmarks/table_ingest.py " + " ".join(
                sys.argv[1:] if argv is None else argv)}
    try:
        warm = os.path.join(work, "warm")
        make_table(warm, a.warm_rows)
        baseline(spark, warm, os.path.join(work, "warm-base"))
        ingest(warm, os.path.join(work, "warm-ingest"))
        for rows in a.rows:
            src = os.path.join(work, f"events-{rows}")
            arrow_bytes = make_table(src, rows)
            times = {"baseline": [], "ingest": []}
            memory = []
            for _ in range(a.repeat):
                times["baseline"].append(baseline(spark, src, os.path.join(work, "base")))
                dt, counts, mem = ingest(src, os.path.join(work, "ingest"))
                times["ingest"].append(dt)
                memory.append(mem)
            best = {k: min(v) for k, v in times.items()}
            worst = {k: max(m[k] for m in memory) for k in memory[0]}
            results.append({
                "rows": rows, "table_arrow_MB": round(arrow_bytes / 2**20, 1),
                "parquet_MB": round(sum(os.path.getsize(os.path.join(src, f))
                                        for f in os.listdir(src)) / 2**20, 1),
                "baseline_s": round(best["baseline"], 2), "ingest_s": round(best["ingest"], 2),
                "baseline_rows_per_s": int(rows / best["baseline"]),
                "ingest_rows_per_s": int(rows / best["ingest"]),
                "ingest_over_baseline": round(best["ingest"] / best["baseline"], 2),
                "all_s": {k: [round(x, 2) for x in v] for k, v in times.items()},
                "sequences": counts,
                "memory": worst,   # the largest of each over the repeats
                "load_average": [round(x, 2) for x in os.getloadavg()]})
            shutil.rmtree(src)
            print(json.dumps(results[-1]), file=sys.stderr, flush=True)
            if a.out:  # after every size: a run stopped early keeps the sizes it finished
                Path(a.out).write_text(json.dumps(dict(head, results=results), indent=1) + "\n")
    finally:
        spark.stop()
        if a.dir is None:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(dict(head, results=results), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
