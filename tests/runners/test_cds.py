"""Class-data sharing for local Spark's driver JVM (runners/cds.py): the first local start finds no
archive and starts one helper to make it; later starts map it; a damaged or foreign archive is
ignored without a word; RNN_SPARK_CDS=0 turns it off."""

import os
import subprocess
import sys
import time

import pyspark.java_gateway  # noqa: F401  # binds subprocess.Popen now, not the fake below
import pytest

from rnn_spark.runners import cds


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(cds.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(cds.CDS_ENV, raising=False)
    return tmp_path / "cache"


@pytest.fixture()
def helpers(monkeypatch):
    started = []
    monkeypatch.setattr(cds.subprocess, "Popen", lambda cmd, **kw: started.append((cmd, kw)))
    return started


def test_no_archive_starts_one_helper_and_goes_on_without(cache, helpers):
    path = cds.archive_path()
    assert path.parent == cache and path.name.endswith(".jsa")
    assert cds.java_options() == "" and cds.java_options() == ""
    assert len(helpers) == 1  # the lock keeps a second one from starting
    cmd, kw = helpers[0]
    assert cmd == [sys.executable, "-m", "rnn_spark.runners.cds", str(path)]
    assert kw["env"][cds.CDS_ENV] == "0" and kw["start_new_session"]
    lock = path.with_name(path.name + ".building")
    old = time.time() - cds.STALE_LOCK_SECONDS - 1
    os.utime(lock, (old, old))  # a helper that died long ago
    assert cds.java_options() == "" and len(helpers) == 2


def test_an_archive_is_mapped_silently_and_can_be_turned_off(cache, helpers, monkeypatch):
    path = cds.archive_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"x")
    assert cds.java_options() == f"-XX:SharedArchiveFile={path} {cds.SILENT}"
    monkeypatch.setenv(cds.CDS_ENV, "0")
    assert cds.java_options() == "" and not helpers


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch, helpers):
    (tmp_path / "file").write_text("not a directory")
    monkeypatch.setenv(cds.CACHE_ENV, str(tmp_path / "file" / "cache"))
    monkeypatch.delenv(cds.CDS_ENV, raising=False)
    assert cds.java_options() == "" and not helpers


JOB = """
from rnn_spark.runners.spark import SparkRunner
r = SparkRunner("local[1]")
assert r.sc.parallelize(range(10), 2).map(lambda x: x * 2).sum() == 90
mx = r.sc._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
print([a for a in mx.getInputArguments() if "SharedArchiveFile" in a])
r.close()
"""


def _start(env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", JOB], env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.spark
def test_the_helper_makes_an_archive_that_local_starts_use(cache):
    env = {**os.environ, cds.CACHE_ENV: str(cache), cds.CDS_ENV: "1"}
    path = cds.archive_path()
    built = subprocess.run([sys.executable, "-m", "rnn_spark.runners.cds", str(path)], env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-2000:]
    assert path.is_file() and path.stat().st_size > 1_000_000
    assert sorted(p.name for p in cache.iterdir()) == [path.name]  # no temp file, no lock left
    used = _start(env)
    assert used.returncode == 0, used.stderr[-2000:]
    assert f"-XX:SharedArchiveFile={path}" in used.stdout
    path.write_bytes(b"damaged")  # a damaged archive: the JVM starts without it, saying nothing
    damaged = _start(env)
    assert damaged.returncode == 0, damaged.stderr[-2000:]
    assert "shared archive" not in damaged.stderr.lower() and "[cds" not in damaged.stderr
