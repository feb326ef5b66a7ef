"""What `rnn-spark submit` costs: packing the environment, uploading it, starting on YARN.

Needs a cluster (HADOOP_CONF_DIR, e.g. the test cluster: eval "$(scripts/hadoop-cluster start)").
Prints JSON:

* archive: build time cold (an empty rnn-spark cache; pip's own download cache as it is) and
  cached (the second `pack_env`), size, number of pinned packages;
* upload: time to put the archive into a fresh HDFS staging directory (MB/s);
* yarn: `rnn-spark submit train` in client mode on a small hdfs:// dataset -- seconds from the
  command's start to the YARN application id (packing and uploading cached), and to the first
  training round's progress line.

    python3 benchmarks/submit.py [--skip-yarn | --only-yarn] [--staging hdfs:///tmp/bench-submit]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from rnn_spark import fs, ingest
from rnn_spark.submit import pack, stage

REPO = Path(__file__).resolve().parents[1]
SMALL = ["--executor-memory", "512m", "--driver-memory", "512m", "--num-executors", "2",
         "--conf", "spark.executor.memoryOverhead=384m", "--conf", "spark.yarn.am.memory=512m",
         "--conf", "spark.ui.enabled=false"]
TRAIN = ["--runner", "spark", "--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16",
         "--batch-size", "8", "--steps-per-round", "2", "--workers", "2", "--max-rounds", "2",
         "--seed", "7"]


def bench_archive() -> tuple[dict, pack.PackedEnv]:
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get("XDG_CACHE_HOME")
        os.environ["XDG_CACHE_HOME"] = tmp
        try:
            t0 = time.perf_counter()
            env = pack.pack_env()
            out["cold_build_s"] = round(time.perf_counter() - t0, 2)
        finally:
            if old is None:
                os.environ.pop("XDG_CACHE_HOME")
            else:
                os.environ["XDG_CACHE_HOME"] = old
    pack.pack_env()  # the user's cache (may build once)
    t0 = time.perf_counter()
    env = pack.pack_env()
    out["cached_s"] = round(time.perf_counter() - t0, 3)
    out["size_mb"] = round(env.size / 1e6, 1)
    out["pinned_packages"] = len(env.requirements)
    return out, env


def bench_upload(env: pack.PackedEnv, staging: str) -> dict:
    t0 = time.perf_counter()
    stage.stage_env(env.path, env.path.name, staging)
    secs = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, uploaded = stage.stage_env(env.path, env.path.name, staging)
    again = time.perf_counter() - t0
    return {"upload_s": round(secs, 2), "mb_per_s": round(env.size / 1e6 / secs, 1),
            "second_submit_check_s": round(again, 3), "second_submit_uploaded": uploaded}


def bench_yarn(staging: str) -> dict:
    ds = fs.join(staging, "data")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ingest.ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=33, rows_per_group=64,
                     seed=3, overwrite=True, quiet=True, engine="local")
    cmd = [sys.executable, "-c", "import sys; from rnn_spark.cli import main; sys.exit(main())",
           "submit", *SMALL, "train", "--data", ds, "--run-dir", fs.join(staging, "run"), *TRAIN]
    env = {k: v for k, v in os.environ.items() if k not in ("PYSPARK_PYTHON", "PYSPARK_DRIVER_PYTHON")}
    t0 = time.perf_counter()
    marks: dict = {}
    # spark-submit merges a client-mode driver's stderr (the progress lines) into its stdout
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    for line in proc.stdout:
        now = round(time.perf_counter() - t0, 2)
        if "YARN application" in line and "app_id_s" not in marks:
            marks["app_id_s"] = now
        if re.search(r"\[train\] .*round", line) and "first_round_s" not in marks:
            marks["first_round_s"] = now
    marks["exit_code"] = proc.wait()
    marks["total_s"] = round(time.perf_counter() - t0, 2)
    if "app_id_s" in marks and "first_round_s" in marks:
        marks["app_to_first_round_s"] = round(marks["first_round_s"] - marks["app_id_s"], 2)
    return marks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--staging", default=f"hdfs:///tmp/bench-submit-{secrets.token_hex(4)}")
    ap.add_argument("--skip-yarn", action="store_true")
    ap.add_argument("--only-yarn", action="store_true", help="skip the archive and upload parts")
    a = ap.parse_args()
    report: dict = {}
    if not a.only_yarn:
        report["archive"], env = bench_archive()
    try:
        if not a.only_yarn:
            report["upload"] = bench_upload(env, a.staging)
        if not a.skip_yarn:
            report["yarn"] = bench_yarn(a.staging)
    finally:
        fs.rm(a.staging, recursive=True, missing_ok=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
