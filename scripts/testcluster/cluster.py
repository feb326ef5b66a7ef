"""start / stop / status of the test cluster (see layout.py for the files)."""
from __future__ import annotations

import contextlib
import fcntl
import getpass
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import ClusterError, barepython, datanodes, health, maven, procs, secure, siteconf
from .layout import HOST, PORTS, Layout, ports

MAIN = "org.apache.hadoop.mapreduce.MiniHadoopClusterManager"
SECURE_MAIN = secure.JAVA_SOURCE.name  # the secured cluster (start --secure)
# Java 17 closes JDK internals that Hadoop 3 still reflects into.
ADD_OPENS = [f"--add-opens={m}=ALL-UNNAMED" for m in (
    "java.base/java.lang", "java.base/java.lang.reflect", "java.base/java.io",
    "java.base/java.net", "java.base/java.nio", "java.base/java.util",
    "java.base/java.util.concurrent", "java.base/java.util.concurrent.atomic",
    "java.base/sun.nio.ch", "java.base/sun.nio.cs", "java.base/sun.security.action",
    "java.base/sun.util.calendar", "java.security.jgss/sun.security.krb5")]


def log(msg: str) -> None:
    print(f"hadoop-cluster: {msg}", file=sys.stderr, flush=True)


def user() -> str:
    return os.environ.get("HADOOP_USER_NAME") or getpass.getuser()


def export_line(layout: Layout) -> str:
    line = f"export HADOOP_CONF_DIR={layout.conf}"
    if secure.krb5_conf(layout).exists() and _is_secure(layout):
        line += f" KRB5_CONFIG={secure.krb5_conf(layout)}"
    return line


def _is_secure(layout: Layout) -> bool:
    try:
        return bool(json.loads(layout.info_file.read_text()).get("secure"))
    except (OSError, ValueError):
        return False


def read_pid(layout: Layout) -> int | None:
    try:
        return int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def ours(pid: int, layout: Layout) -> bool:
    """pid is alive and is this directory's MiniCluster JVM (not a reused pid)."""
    cmd = procs.cmdline(pid, 10**6)
    return procs.alive(pid) and (MAIN in cmd or SECURE_MAIN in cmd) and \
        procs.cwd(pid) == layout.work


def java_home() -> Path:
    java = shutil.which("java")
    if os.environ.get("JAVA_HOME") and (Path(os.environ["JAVA_HOME"]) / "bin/java").exists():
        home = Path(os.environ["JAVA_HOME"])
    elif java is None:
        raise ClusterError("java is not on PATH and JAVA_HOME is unset; install a Java 17 JDK")
    else:
        home = Path(java).resolve().parent.parent
    out = subprocess.run([str(home / "bin/java"), "-version"], capture_output=True, text=True,
                         timeout=60).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    major = int(m.group(1)) if m else 0
    major = int(m.group(2) or 0) if major == 1 else major  # "1.8.0" style
    if major < 11:
        raise ClusterError(f"{home / 'bin/java'} is Java {major or '?'}; Hadoop {maven.hadoop_version()} "
                           "needs Java 11+ (17 recommended): set JAVA_HOME to a Java 17 JDK")
    return home


def _check_ports(p: dict[str, int]) -> None:
    taken = [(n, port) for n, port in p.items() if not procs.port_free(HOST, port)]
    if not taken:
        return
    name, port = taken[0]
    more = f" (also taken: {', '.join(str(q) for _, q in taken[1:])})" if taken[1:] else ""
    owner = procs.port_owner(port)
    who = ""
    if owner:
        c = procs.cwd(owner)
        cmd = procs.cmdline(owner, 10**6)
        if c is not None and (MAIN in cmd or SECURE_MAIN in cmd) and \
                (c.parent / "cluster.pid").exists():
            raise ClusterError(
                f"port {port} ({PORTS[name][1]}) is held by another test cluster (pid {owner}, "
                f"dir {c.parent}){more}; stop it with `RNN_SPARK_CLUSTER_DIR={c.parent} "
                "scripts/hadoop-cluster stop` or set RNN_SPARK_CLUSTER_PORT_OFFSET")
        who = f" by pid {owner} ({procs.cmdline(owner, 100)})"
    raise ClusterError(
        f"port {port} ({PORTS[name][1]}) on {HOST} is already in use{who}{more}; stop that "
        "process or set RNN_SPARK_CLUSTER_PORT_OFFSET=<n> to shift all cluster ports")


def _clean_stale(layout: Layout) -> None:
    pid = read_pid(layout)
    if pid is not None:
        log(f"removing stale state of an earlier run in {layout.root} (pid {pid} is not running)")
    left = procs.under(layout.root)
    if left:
        log(f"stopping {len(left)} leftover process(es) of an earlier run: {left}")
        procs.terminate(left, grace=10)
    for f in (layout.pid_file, layout.info_file):
        f.unlink(missing_ok=True)


def _wait_ready(layout: Layout, pid: int, p: dict[str, int], timeout: float, n: int,
                sec: bool = False) -> dict:
    deadline = time.monotonic() + timeout
    snap: dict = {"errors": ["no probe yet"]}
    while time.monotonic() < deadline:
        if not procs.alive(pid):
            raise ClusterError(f"the cluster JVM (pid {pid}) exited during startup: "
                               f"{_log_error(layout)}; full log: {layout.log_file}")
        if sec and not secure.ready_file(layout).exists():
            time.sleep(0.5)
            continue
        snap = health.probe(p, user(), json.loads(secure.ready_file(layout).read_text())
                            if sec else None)
        if health.ready(snap, n, n):
            return snap
        time.sleep(0.5)
    raise ClusterError(
        f"the cluster did not become ready within {timeout:.0f}s "
        f"({'; '.join(snap.get('errors') or [json.dumps(snap)])}); see {layout.log_file}, "
        "then run scripts/hadoop-cluster stop")


def _log_error(layout: Layout) -> str:
    try:
        lines = layout.log_file.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    for ln in lines:
        if "Exception" in ln or "ERROR" in ln:
            return ln.strip()[:300]
    return (lines[-1].strip()[:300] if lines else "empty log")


@contextlib.contextmanager
def _locked(layout: Layout):
    """One start/stop at a time per cluster directory (a second `start` waits, then reuses)."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with open(layout.root / ".lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def start(layout: Layout, timeout: float = 180, nodes: int = 1, sec: bool = False) -> dict:
    with _locked(layout):
        return _start(layout, timeout, nodes, sec)


def add_datanode(layout: Layout, name: str | None = None) -> dict:
    """Start one more DataNode JVM (or restart `name` on its old storage); see datanodes.py."""
    datanodes.check_name(name)
    with _locked(layout):
        return _add_datanode(layout, name)


def _add_datanode(layout: Layout, name: str | None) -> dict:
    pid = read_pid(layout)
    if pid is None or not ours(pid, layout):
        raise ClusterError(f"no cluster runs in {layout.root}; start one first: "
                           "scripts/hadoop-cluster start")
    jhome = java_home()
    return datanodes.start_one(layout, str(jhome / "bin/java"), ADD_OPENS,
                               maven.resolve(layout, log, jhome), user(), name)


def stop(layout: Layout, quiet: bool = False) -> bool:
    """Stop the JVM and every process below the cluster directory. Idempotent."""
    with _locked(layout):
        return _stop(layout, quiet)


def _start(layout: Layout, timeout: float, nodes: int, sec: bool) -> dict:
    t0 = time.monotonic()
    p = ports()
    pid = read_pid(layout)
    if pid is not None and ours(pid, layout):
        if _is_secure(layout) != sec:
            raise ClusterError(
                f"a {'secured' if _is_secure(layout) else 'plain'} cluster already runs in "
                f"{layout.root} (pid {pid}); stop it first or use another RNN_SPARK_CLUSTER_DIR")
        log(f"a cluster is already running in {layout.root} (pid {pid}); checking it")
        try:
            _wait_ready(layout, pid, p, min(timeout, 60), 1, sec)
        except ClusterError:
            raise ClusterError(
                f"a cluster from an earlier run (pid {pid}, {layout.root}) is running but not "
                "answering; run `scripts/hadoop-cluster stop` and start again") from None
        log("it is healthy; reusing it")
        return json.loads(layout.info_file.read_text())
    _clean_stale(layout)
    maven.check_pyspark_match()
    _check_ports(p)
    jhome = java_home()
    jars = maven.resolve(layout, log, jhome)
    bare_python = barepython.ensure(layout)
    siteconf.write_all(p, layout, secure=sec)
    shutil.rmtree(layout.work, ignore_errors=True)
    layout.work.mkdir(parents=True)
    layout.logs.mkdir(parents=True, exist_ok=True)
    if layout.log_file.exists():
        os.replace(layout.log_file, layout.log_file.with_suffix(".log.1"))
    heap = os.environ.get("RNN_SPARK_CLUSTER_HEAP", "1g")
    cmd = [str(jhome / "bin/java"), f"-Xmx{heap}", "-XX:+UseSerialGC", *ADD_OPENS,
           f"-Dtest.build.data={layout.work / 'data'}", f"-Dhadoop.log.dir={layout.logs}",
           "-Djava.net.preferIPv4Stack=true",
           "-cp", os.pathsep.join([str(layout.server_conf), *jars])]
    if sec:  # KDC + secured HDFS and YARN: settings from server-conf/core-site.xml
        for f in (secure.krb5_conf(layout), secure.no_ccache(layout)):
            f.unlink(missing_ok=True)
        secure.make_tls(layout, jhome)
        cmd += [secure.java_krb5_opt(layout), str(secure.JAVA_SOURCE), str(layout.root),
                str(nodes), str(p["namenode_rpc"]), str(p["namenode_http"])]
    else:
        cmd += [MAIN, "-format", "-datanodes", str(nodes), "-nodemanagers", str(nodes),
                "-nnport", str(p["namenode_rpc"]), "-nnhttpport", str(p["namenode_http"]),
                "-rmport", str(p["rm"]), "-jhsport", str(p["jhs"]),
                "-writeDetails", str(layout.work / "details.json")]
        for k, v in {**siteconf.server_settings(p, layout), **barepython.settings(layout)}.items():
            cmd += ["-D", f"{k}={v}"]
    # Containers inherit JAVA_HOME, HADOOP_CONF_DIR and PATH from the NodeManager.
    env = dict(os.environ, JAVA_HOME=str(jhome), HADOOP_CONF_DIR=str(layout.conf),
               YARN_CONF_DIR=str(layout.conf))
    for var in ("KRB5CCNAME", "KRB5_CONFIG", "HADOOP_TOKEN_FILE_LOCATION", "JDK_JAVA_OPTIONS"):
        env.pop(var, None)  # nothing of the caller's Kerberos state reaches the daemons
    with open(layout.log_file, "ab") as out:
        proc = subprocess.Popen(cmd, cwd=layout.work, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    layout.pid_file.write_text(f"{proc.pid}\n")
    log(f"started the MiniCluster JVM (pid {proc.pid}); waiting for HDFS and YARN")
    try:
        snap = _wait_ready(layout, proc.pid, p, timeout, nodes, sec)
        for path, perm in (() if sec else (("/tmp", "1777"), (f"/user/{user()}", "755"))):
            health.webhdfs(p, user(), path, "MKDIRS", "PUT", permission=perm)
            health.webhdfs(p, user(), path, "SETPERMISSION", "PUT", permission=perm)
    except BaseException:
        _stop(layout, quiet=True)
        raise
    info = {
        "pid": proc.pid, "dir": str(layout.root), "conf_dir": str(layout.conf),
        "namenode_uri": f"hdfs://{HOST}:{p['namenode_rpc']}",
        "webhdfs_url": f"http://{HOST}:{p['namenode_http']}",
        "rm_url": f"http://{HOST}:{p['rm_web']}", "ports": p,
        "user": secure.USERS[0] if sec else user(),
        "hadoop_version": maven.hadoop_version(), "nodes": nodes, "python": str(bare_python),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "startup_seconds": round(time.monotonic() - t0, 1),
        "rss_mib_at_start": procs.rss_kib(proc.pid) // 1024, "health": snap,
        "secure": _secure_info(layout) if sec else None,
    }
    siteconf.write_atomic(layout.info_file, json.dumps(info, indent=2) + "\n")
    log(f"ready in {info['startup_seconds']}s: {info['namenode_uri']}, {info['webhdfs_url']}, "
        f"{info['rm_url']}")
    return info


def _secure_info(layout: Layout) -> dict:
    info = json.loads(secure.ready_file(layout).read_text())
    info.update(krb5_conf=str(secure.krb5_conf(layout)),
                ca_bundle=str(secure.tls_dir(layout) / "ca.pem"),
                swebhdfs=f"swebhdfs://{HOST}:{info['namenode_https_port']}",
                keytabs={u: str(secure.keytab(layout, u)) for u in ("service", *secure.USERS)})
    return info


def _stop(layout: Layout, quiet: bool) -> bool:
    pid = read_pid(layout)
    targets = []
    if pid is not None and ours(pid, layout):
        targets.append(pid)
    targets += [q for q in procs.under(layout.root) if q not in targets]
    stuck = procs.terminate(targets, grace=20) if targets else []
    if stuck:
        raise ClusterError(f"could not stop pid(s) {stuck} of the cluster in {layout.root}")
    for f in (layout.pid_file, layout.info_file):
        f.unlink(missing_ok=True)
    shutil.rmtree(layout.work, ignore_errors=True)
    if not quiet:
        log(f"stopped ({len(targets)} process(es))" if targets else
            f"no cluster was running in {layout.root}")
    return bool(targets)


def status(layout: Layout) -> tuple[int, dict]:
    """(exit code, report): 0 healthy, 1 not running, 3 running but not healthy."""
    pid = read_pid(layout)
    rep: dict = {"dir": str(layout.root), "pid": pid, "running": False}
    if pid is None or not ours(pid, layout):
        rep["stale_pid_file"] = pid is not None
        rep["leftover_processes"] = procs.under(layout.root)
        return 1, rep
    rep["running"] = True
    try:
        rep.update(json.loads(layout.info_file.read_text()))
    except (OSError, ValueError):
        rep["starting"] = True
    rep["pid"] = pid
    rep["rss_mib"] = procs.rss_kib(pid) // 1024
    kids = [q for q in procs.under(layout.root) if q != pid]
    rep["container_processes"] = len(kids)
    rep["containers_rss_mib"] = sum(procs.rss_kib(q) for q in kids) // 1024
    rep["health"] = health.probe(ports(), user(), rep.get("secure"))
    rep["healthy"] = health.ready(rep["health"], rep.get("nodes", 1), rep.get("nodes", 1))
    rep["extra_datanodes"] = datanodes.describe(layout)
    return (0 if rep["healthy"] else 3), rep
