"""The engine is pure NumPy: no Spark, Arrow, CLI, HDFS or file I/O imports in its sources."""

import ast
import pathlib

import rnn_spark.engine

FORBIDDEN = {"pyspark", "pyarrow", "click", "hdfs", "pandas", "requests", "socket", "subprocess",
             "pickle", "shutil", "urllib", "http"}


def test_engine_imports_nothing_forbidden():
    root = pathlib.Path(rnn_spark.engine.__file__).parent
    files = sorted(root.glob("*.py"))
    assert len(files) >= 8
    bad = []
    for f in files:
        tree = ast.parse(f.read_text(), str(f))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom) and node.level > 1:
                # outside the engine only ..errors (plain exception classes) may be reached
                if node.module != "errors":
                    bad.append(f"{f.name}: from {'.' * node.level}{node.module}")
            for n in names:
                inside = n.startswith("rnn_spark.engine") or n == "rnn_spark.errors"
                if n.split(".")[0] in FORBIDDEN or (n.startswith("rnn_spark") and not inside):
                    bad.append(f"{f.name}: import {n}")
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "open":
                bad.append(f"{f.name}: open()")
    assert not bad, bad
