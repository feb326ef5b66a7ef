"""spark-submit entry point of `rnn-spark submit env-check`: what Python do the executors run?

    rnn-spark submit --num-executors 2 env-check [--tasks N] [--out hdfs:///tmp/envcheck.json]

Runs N small tasks (default: spark.executor.instances, else 2) and prints one JSON object: the
driver's and each task's interpreter (sys.executable, version, prefix, container working
directory) and where numpy, pyarrow, hdfs, click and rnn_spark are imported from (null: missing).
Needs only pyspark on the driver, so it also diagnoses a node without rnn-spark. Exit code 2 with
one line when the executors cannot start the environment's Python.
"""

import json
import sys

MODULES = ("numpy", "pyarrow", "hdfs", "click", "rnn_spark")


def describe(_=None):
    import importlib
    import os
    import platform

    mods = {}
    for m in MODULES:
        try:
            mods[m] = importlib.import_module(m).__file__
        except ImportError:
            mods[m] = None
    return {"executable": sys.executable, "python": platform.python_version(),
            "prefix": sys.prefix, "cwd": os.getcwd(),
            "container": os.environ.get("CONTAINER_ID"), "modules": mods}


def main(argv):
    import argparse

    ap = argparse.ArgumentParser(prog="rnn-spark submit env-check")
    ap.add_argument("--tasks", type=int, default=0)
    ap.add_argument("--out", help="also write the JSON report to this URI (cluster deploy mode)")
    a = ap.parse_args(argv)
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()  # spark-submit --name names it
    sc = spark.sparkContext
    sc.setLogLevel("WARN")
    n = a.tasks or int(sc.getConf().get("spark.executor.instances", "2"))
    try:
        tasks = sc.parallelize(range(n), n).map(describe).collect()
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
