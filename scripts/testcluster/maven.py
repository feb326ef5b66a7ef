"""Resolve the cluster's jars with Maven (cached in ~/.m2) into a classpath file.

Offline first (a warm ~/.m2 needs no network); online only when something is
missing, with connect/read timeouts and an overall deadline so an unreachable
repository gives one clear message instead of a hang."""
from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

from . import ClusterError
from .layout import REPO, Layout

POM = REPO / "scripts" / "pom.xml"
PLUGIN = "3.6.1"  # maven-dependency-plugin; full coordinates avoid prefix lookups
NET_ERRORS = re.compile(
    r"(Could not transfer|Unknown host|UnknownHostException|Connection refused|"
    r"connect timed out|Read timed out|Network is unreachable|No route to host|"
    r"offline mode)",
    re.I)


def hadoop_version() -> str:
    m = re.search(r"<hadoop.version>([^<]+)</hadoop.version>", POM.read_text())
    assert m, "scripts/pom.xml has no <hadoop.version>"
    return m.group(1)


def check_pyspark_match() -> None:
    """The cluster must speak the Hadoop version Spark's client jars were built for."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.submodule_search_locations:
        return
    jars = Path(list(spec.submodule_search_locations)[0]) / "jars"
    found = sorted(jars.glob("hadoop-client-api-*.jar"))
    if not found:
        return
    theirs = found[0].name[len("hadoop-client-api-"):-len(".jar")]
    ours = hadoop_version()
    if theirs != ours:
        raise ClusterError(
            f"scripts/pom.xml pins Hadoop {ours} but the installed pyspark ships "
            f"hadoop-client-api {theirs} ({found[0]}); set <hadoop.version>{theirs}"
            "</hadoop.version> in scripts/pom.xml")


def _key() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()[:16]


def _cached(layout: Layout) -> list[str] | None:
    f = layout.classpath_file
    if not f.exists():
        return None
    key, _, cp = f.read_text().partition("\n")
    jars = cp.strip().split(os.pathsep)
    if key != _key() or not jars or not all(Path(j).is_file() for j in jars):
        return None
    return jars


def _mvn_cmd(out: Path, offline: bool) -> list[str]:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ClusterError("Maven (mvn) is not on PATH; install Maven 3.6+ "
                           "(e.g. apt-get install maven) to fetch the Hadoop jars")
    cmd = [mvn, "-B", "-q", "-f", str(POM)]
    if offline:
        cmd.append("-o")
    if os.environ.get("RNN_SPARK_MAVEN_SETTINGS"):
        cmd += ["-s", os.environ["RNN_SPARK_MAVEN_SETTINGS"]]
    if os.environ.get("RNN_SPARK_MAVEN_REPO_LOCAL"):
        cmd.append("-Dmaven.repo.local=" + os.environ["RNN_SPARK_MAVEN_REPO_LOCAL"])
    cmd += [
        "-Daether.connector.connectTimeout=15000",
        "-Daether.connector.requestTimeout=60000",
        "-Dmaven.wagon.http.retryHandler.count=1",
        f"org.apache.maven.plugins:maven-dependency-plugin:{PLUGIN}:build-classpath",
        f"-Dmdep.outputFile={out}",
    ]
    return cmd


def resolve(layout: Layout, log=print, java_home: Path | None = None) -> list[str]:
    """Return the jar list, running Maven when the cache is missing or stale."""
    jars = _cached(layout)
    if jars:
        return jars
    layout.root.mkdir(parents=True, exist_ok=True)
    out = layout.root / ".classpath.mvn"
    timeout = float(os.environ.get("RNN_SPARK_MAVEN_TIMEOUT", "900"))
    last = ""
    for offline in (True, False):
        if not offline:
            log(f"fetching Hadoop {hadoop_version()} jars with Maven "
                f"(first run: ~150 MB into ~/.m2, timeout {timeout:.0f}s)")
        try:
            env = dict(os.environ, **({"JAVA_HOME": str(java_home)} if java_home else {}))
            r = subprocess.run(_mvn_cmd(out, offline), capture_output=True, text=True,
                               timeout=timeout, stdin=subprocess.DEVNULL, env=env)
        except subprocess.TimeoutExpired:
            raise ClusterError(
                f"Maven did not finish fetching the Hadoop jars within {timeout:.0f}s "
                "(slow or unreachable repository); check the network/proxy or raise "
                "RNN_SPARK_MAVEN_TIMEOUT") from None
        if r.returncode == 0 and out.exists():
            cp = out.read_text().strip()
            out.unlink()
            tmp = layout.classpath_file.with_suffix(".tmp")
            tmp.write_text(_key() + "\n" + cp + "\n")
            os.replace(tmp, layout.classpath_file)
            return cp.split(os.pathsep)
        last = (r.stdout + r.stderr)
    last = re.sub(r"\x1b\[[0-9;]*m", "", last)
    net = [ln.strip() for ln in last.splitlines() if NET_ERRORS.search(ln)]
    first = next((ln.strip() for ln in last.splitlines()
                  if "ERROR" in ln and ln.strip() != "[ERROR]"), last.strip()[:300])
    if net:
        line = net[-1].replace(" -> [Help 1]", "")
        repo = re.search(r"from/to \S+ \((https?://[^)]+)\)", line)
        cause = line.rsplit(": ", 1)[-1] if ": " in line else line
        raise ClusterError(
            f"Maven could not download the Hadoop jars from "
            f"{repo.group(1) if repo else 'the repository'} ({cause[:160]}); check the "
            "network/proxy (~/.m2/settings.xml) or copy a populated ~/.m2 to this machine")
    raise ClusterError(f"Maven failed to resolve scripts/pom.xml: {first[:300]}")
