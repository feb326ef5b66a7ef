"""spark-submit entry point of `rnn-spark submit env-check`: what Python do the executors run?

    rnn-spark submit --num-executors 2 env-check [--tasks N] [--out hdfs:///tmp/envcheck.json]

Runs N small tasks (default: spark.executor.instances, else 2) and prints one JSON object: the
driver's and each task's interpreter (sys.executable, version, prefix, container working
directory) and where numpy, pyarrow, hdfs, click and rnn_spark are imported from (null: missing),
and their HDFS credentials: whether a Kerberos ticket is there (``klist -s``; null without klist)
and the HDFS delegation token of the container (kind, service, owner; null: none).
``--probe URI`` makes each task write ``URI/task-N`` through rnn_spark.fs and read it back
(``"probe": "ok"`` or the one-line error): can the executors use HDFS with those credentials?
Needs only pyspark on the driver, so it also diagnoses a node without rnn-spark. Exit code 2 with
one line when the executors cannot start the environment's Python.
"""

import json
import sys

MODULES = ("numpy", "pyarrow", "hdfs", "click", "rnn_spark")


def credentials():
    """What a process here can authenticate to HDFS with (no Kerberos library needed)."""
    import os
    import shutil
    import subprocess

    klist = shutil.which("klist")
    ticket = None
    if klist:
        ticket = subprocess.run([klist, "-s"], capture_output=True, timeout=30).returncode == 0
    token = None
    try:
        from rnn_spark.fs import hadoop_tokens

        tok = hadoop_tokens.container_token()
        if tok is not None:
            info = hadoop_tokens.describe(tok)
            token = {"kind": tok.kind, "service": tok.service,
                     "owner": info.owner if info else None}
    except ImportError:
        pass
    return {"kerberos_ticket": ticket, "hdfs_token": token,
            "token_file": os.environ.get("HADOOP_TOKEN_FILE_LOCATION")}


def probe(uri, i):
    """Write and read back uri/task-i: "ok" or the one-line error."""
    try:
        from rnn_spark import fs

        path = fs.join(uri, f"task-{i}")
        fs.write_text(path, f"task {i}\n", overwrite=True)
        return "ok" if fs.read_text(path) == f"task {i}\n" else "read back something else"
    except Exception as exc:  # reported, not raised: the report is the point
        return f"error: {exc}"


def describe(i=None, probe_uri=None):
    import importlib
    import os
    import platform

    mods = {}
    for m in MODULES:
        try:
            mods[m] = importlib.import_module(m).__file__
        except ImportError:
            mods[m] = None
    out = {"executable": sys.executable, "python": platform.python_version(),
           "prefix": sys.prefix, "cwd": os.getcwd(),
           "container": os.environ.get("CONTAINER_ID"), "modules": mods,
           "credentials": credentials()}
    if probe_uri and i is not None:
        out["probe"] = probe(probe_uri, i)
    return out


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(prog="rnn-spark submit env-check")
    ap.add_argument("--tasks", type=int, default=0)
    ap.add_argument("--out", help="also write the JSON report to this URI (cluster deploy mode)")
    ap.add_argument("--probe", metavar="URI",
                    help="each task writes URI/task-N and reads it back (HDFS from executors)")
    a = ap.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()  # spark-submit --name names it
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    n = a.tasks or int(sc.getConf().get("spark.executor.instances", "2"))
    try:
        uri = a.probe
        tasks = sc.parallelize(range(n), n).map(lambda i: describe(i, uri)).collect()
    except Exception as exc:  # py4j / Spark: the executors' side failed
        first = next((ln.strip() for ln in str(exc).splitlines()
                      if "Cannot run program" in ln or "Error" in ln), str(exc).splitlines()[0])
        print(f"error: the executors could not run {sc.pythonExec}: {first[:300]}; the nodes need "
              "the Python the environment was packed with (see docs/guides/yarn.md)",
              file=sys.stderr)
        spark.stop()
        return 2
    report = {"driver": describe(), "python_exec": sc.pythonExec, "tasks": tasks}
    text = json.dumps(report, indent=2)
    if a.out:
        from rnn_spark import fs

        fs.write_text(a.out, text + "\n", overwrite=True)
    print(text)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
