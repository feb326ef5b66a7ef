"""Class-data sharing for local Spark's driver JVM: its classes mapped from an archive, not parsed
and verified at every start.

A local SparkContext starts in 2.5-2.9 s with the archive instead of 4.6-5.5 s, and its first job
runs 0.4-1 s sooner (docs/benchmarks/startup.md). The archive belongs to one Java and one Spark
install, so its file name carries a key made of both (the java binary, pyspark's version and its
jars); a new install gets a new archive and the JVM itself refuses one whose class path differs
(silently: its cds log is off, and it starts as without).

The first local start that finds no archive starts a helper process in the background
(``python -m rnn_spark.runners.cds PATH``) and goes on without it: the helper runs a small Spark
job with ``-XX:ArchiveClassesAtExit``, stops its JVM, waits for the dump and renames it into place;
a lock file keeps a second helper from starting meanwhile. ``RNN_SPARK_CDS=0`` turns it all off;
``RNN_SPARK_CACHE_DIR`` moves the cache (default ``$XDG_CACHE_HOME/rnn-spark``, else
``~/.cache/rnn-spark``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CDS_ENV = "RNN_SPARK_CDS"
CACHE_ENV = "RNN_SPARK_CACHE_DIR"
SILENT = "-Xlog:cds=off -Xlog:cds+dynamic=off"  # an unusable archive: start without, say nothing
STALE_LOCK_SECONDS = 600


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rnn-spark"


def _java() -> Path | None:
    home = os.environ.get("JAVA_HOME")
    java = Path(home) / "bin" / "java" if home else None
    if java is None or not java.exists():
        found = shutil.which("java")
        java = Path(found) if found else None
    return java.resolve() if java is not None else None


def archive_path() -> Path | None:
    """Where this Java + Spark install's archive lives (None: no java found)."""
    import pyspark

    java = _java()
    if java is None:
        return None
    h = hashlib.sha256()
    st = java.stat()
    h.update(f"{java}|{st.st_size}|{int(st.st_mtime)}|{pyspark.__version__}".encode())
    jars = Path(os.environ.get("SPARK_HOME") or Path(pyspark.__file__).parent) / "jars"
    for jar in sorted(jars.glob("*.jar")):
        h.update(f"|{jar.name}:{jar.stat().st_size}".encode())
    return cache_dir() / f"spark-{pyspark.__version__}-{h.hexdigest()[:16]}.jsa"


def java_options() -> str:
    """JVM options for a local driver: the archive when there is one; otherwise none, and a
    helper is started to make it for the next start."""
    if os.environ.get(CDS_ENV, "1") == "0":
        return ""
    try:
        path = archive_path()
        if path is None:
            return ""
        if path.is_file() and path.stat().st_size > 0:
            return f"-XX:SharedArchiveFile={path} {SILENT}"
        _start_builder(path)
    except OSError:  # a read-only or full cache: start as without
        pass
    return ""


def _lock(path: Path) -> Path:
    return path.with_name(path.name + ".building")


def _start_builder(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock(path)
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        if time.time() - lock.stat().st_mtime < STALE_LOCK_SECONDS:
            return  # a helper is at work
        lock.unlink(missing_ok=True)
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    os.close(fd)
    env = {**os.environ, CDS_ENV: "0"}  # the helper's own JVM dumps, it does not load
    subprocess.Popen([sys.executable, "-m", "rnn_spark.runners.cds", str(path)], env=env,
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)


def build(path: Path) -> bool:
    """Make the archive at `path`: a local SparkContext on the same class path as a local driver,
    one job shaped like a training round (broadcast, Python tasks, collect), then the JVM's exit
    dump; renamed into place only when complete. True when the archive is there."""
    from pyspark import SparkConf, SparkContext

    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        opts = f"-XX:TieredStopAtLevel=1 -XX:ArchiveClassesAtExit={tmp} {SILENT}"
        conf = (SparkConf().setMaster("local[1]").setAppName("rnn-spark-cds")
                .set("spark.driver.extraJavaOptions", opts)
                .set("spark.ui.showConsoleProgress", "false"))
        sc = SparkContext.getOrCreate(conf)
        bc = sc.broadcast(list(range(1000)))
        sc.parallelize(range(4), 2).mapPartitions(lambda it: [sum(it) + len(bc.value)]).collect()
        bc.destroy()
        sc.stop()
        proc = SparkContext._gateway.proc  # the JVM (spark-submit execs it): EOF makes it exit
        proc.stdin.close()
        proc.wait(timeout=300)
        if tmp.is_file() and tmp.stat().st_size > 0:
            os.replace(tmp, path)
        return path.is_file()
    finally:
        tmp.unlink(missing_ok=True)
        _lock(path).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(0 if build(Path(sys.argv[1])) else 1)
