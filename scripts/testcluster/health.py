"""Is the cluster answering? Small HTTP probes of the NameNode (JMX, WebHDFS)
and the ResourceManager (REST), stdlib only."""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import quote

from .layout import HOST


def _get(url: str, timeout: float = 3.0, method: str = "GET"):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode() or "null")


def _bean(base: str, name: str) -> dict:
    beans = _get(f"{base}/jmx?qry={quote(name)}").get("beans") or [{}]
    return beans[0]


def probe(p: dict[str, int], user: str, secure: dict | None = None) -> dict:
    """A snapshot: {'hdfs': {...}|None, 'yarn': {...}|None, 'errors': [...]}.

    On the secured cluster every web endpoint wants SPNEGO, which the standard library cannot
    do: there an HTTP 401 from WebHDFS and from the ResourceManager is the right answer, and the
    node counts are those the cluster JVM wrote when it was up (``secure``: work/secure.json)."""
    if secure is not None:
        return _probe_secure(p, secure)
    out: dict = {"hdfs": None, "yarn": None, "errors": []}
    nn = f"http://{HOST}:{p['namenode_http']}"
    try:
        state = _bean(nn, "Hadoop:service=NameNode,name=FSNamesystemState")
        info = _bean(nn, "Hadoop:service=NameNode,name=NameNodeInfo")
        _get(f"{nn}/webhdfs/v1/?op=GETFILESTATUS&user.name={quote(user)}")
        out["hdfs"] = {
            "live_datanodes": int(state.get("NumLiveDataNodes", 0)),
            "safemode": bool(info.get("Safemode")),
            "capacity_remaining_gb": round(state.get("CapacityRemaining", 0) / 2**30, 1),
            "files_total": state.get("FilesTotal"),
        }
    except (OSError, ValueError, urllib.error.URLError) as e:
        out["errors"].append(f"NameNode {nn}: {e}")
    rm = f"http://{HOST}:{p['rm_web']}"
    try:
        info = _get(f"{rm}/ws/v1/cluster/info")["clusterInfo"]
        m = _get(f"{rm}/ws/v1/cluster/metrics")["clusterMetrics"]
        out["yarn"] = {
            "state": info.get("state"),
            "active_nodes": m.get("activeNodes", 0),
            "unhealthy_nodes": m.get("unhealthyNodes", 0),
            "available_mb": m.get("availableMB"),
            "available_vcores": m.get("availableVirtualCores"),
            "apps_running": m.get("appsRunning"),
        }
    except (OSError, ValueError, KeyError, urllib.error.URLError) as e:
        out["errors"].append(f"ResourceManager {rm}: {e}")
    return out


def _expect_401(url: str, anonymous_ok: bool = False) -> None:
    try:
        _get(url)
    except urllib.error.HTTPError as e:
        if e.code == 401:
            return
        raise
    if anonymous_ok:
        return
    raise OSError(f"{url} answered without authentication: it is not secured")


def _probe_secure(p: dict[str, int], info: dict) -> dict:
    out: dict = {"hdfs": None, "yarn": None, "errors": []}
    nn = f"http://{HOST}:{p['namenode_http']}"
    try:
        _expect_401(f"{nn}/webhdfs/v1/?op=GETFILESTATUS")
        out["hdfs"] = {"live_datanodes": info["nodes"], "safemode": False, "kerberos": True}
    except (OSError, ValueError, urllib.error.URLError) as e:
        out["errors"].append(f"NameNode {nn}: {e}")
    rm = f"http://{HOST}:{p['rm_web']}"
    try:
        _expect_401(f"{rm}/ws/v1/cluster/info", anonymous_ok=True)
        out["yarn"] = {"state": "STARTED", "active_nodes": info["nodes"], "unhealthy_nodes": 0,
                       "kerberos": True}
    except (OSError, ValueError, urllib.error.URLError) as e:
        out["errors"].append(f"ResourceManager {rm}: {e}")
    return out


def ready(snap: dict, datanodes: int = 1, nodemanagers: int = 1) -> bool:
    h, y = snap["hdfs"], snap["yarn"]
    return bool(h and y and h["live_datanodes"] >= datanodes and not h["safemode"]
                and y["state"] == "STARTED" and y["active_nodes"] >= nodemanagers)


def webhdfs(p: dict[str, int], user: str, path: str, op: str, method: str, **params) -> None:
    q = "&".join(f"{k}={quote(str(v))}" for k, v in params.items())
    url = (f"http://{HOST}:{p['namenode_http']}/webhdfs/v1{quote(path)}"
           f"?op={op}&user.name={quote(user)}" + (f"&{q}" if q else ""))
    _get(url, timeout=10, method=method)
