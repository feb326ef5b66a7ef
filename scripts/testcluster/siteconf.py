"""The cluster's configuration: client site files (HADOOP_CONF_DIR) and the
settings handed to the MiniCluster JVM. One source for both so they agree."""
from __future__ import annotations

import os
from pathlib import Path
from xml.sax.saxutils import escape

from .layout import HOST, Layout

NM_MEMORY_MB = 8192
NM_VCORES = 8


def _addr(p: dict[str, int], name: str) -> str:
    return f"{HOST}:{p[name]}"


def client_sites(p: dict[str, int]) -> dict[str, dict[str, str]]:
    """What Spark, the hdfs package and hadoop clients need to find the cluster."""
    return {
        "core-site.xml": {
            "fs.defaultFS": f"hdfs://{_addr(p, 'namenode_rpc')}",
        },
        "hdfs-site.xml": {
            "dfs.namenode.rpc-address": _addr(p, "namenode_rpc"),
            "dfs.namenode.http-address": _addr(p, "namenode_http"),
            "dfs.webhdfs.enabled": "true",
            "dfs.replication": "1",
            "dfs.client.use.datanode.hostname": "false",
        },
        "yarn-site.xml": {
            "yarn.resourcemanager.hostname": HOST,
            "yarn.resourcemanager.address": _addr(p, "rm"),
            "yarn.resourcemanager.scheduler.address": _addr(p, "rm_scheduler"),
            "yarn.resourcemanager.resource-tracker.address": _addr(p, "rm_tracker"),
            "yarn.resourcemanager.admin.address": _addr(p, "rm_admin"),
            "yarn.resourcemanager.webapp.address": _addr(p, "rm_web"),
            "yarn.nodemanager.vmem-check-enabled": "false",
            "yarn.nodemanager.pmem-check-enabled": "false",
        },
        "mapred-site.xml": {
            "mapreduce.framework.name": "yarn",
            "mapreduce.jobhistory.address": _addr(p, "jhs"),
            "mapreduce.jobhistory.webapp.address": _addr(p, "jhs_web"),
        },
    }


def server_settings(p: dict[str, int], layout: Layout) -> dict[str, str]:
    """-D settings for MiniHadoopClusterManager (on top of the client ones)."""
    s: dict[str, str] = {}
    for props in client_sites(p).values():
        s.update(props)
    work = layout.work
    s.update({
        "hadoop.tmp.dir": str(work / "tmp"),
        "hdfs.minidfs.basedir": str(work / "dfs"),
        "dfs.datanode.hostname": HOST,
        "dfs.namenode.safemode.extension": "0",
        # YARN: room for several small Spark containers on a 2-core laptop.
        "yarn.minicluster.yarn.nodemanager.resource.memory-mb": str(NM_MEMORY_MB),
        "yarn.nodemanager.resource.memory-mb": str(NM_MEMORY_MB),
        "yarn.nodemanager.resource.cpu-vcores": str(NM_VCORES),
        "yarn.scheduler.minimum-allocation-mb": "128",
        "yarn.scheduler.maximum-allocation-mb": str(NM_MEMORY_MB // 2),
        "yarn.scheduler.maximum-allocation-vcores": "4",
        "yarn.scheduler.capacity.maximum-am-resource-percent": "0.5",
        "yarn.nodemanager.hostname": HOST,
        # Test machines have full disks; a 90 % default marks the node unhealthy.
        "yarn.nodemanager.disk-health-checker.max-disk-utilization-per-disk-percentage": "99.5",
        "yarn.nodemanager.disk-health-checker.min-free-space-per-disk-mb": "100",
        "yarn.nodemanager.delete.debug-delay-sec": "0",
        "yarn.log-aggregation-enable": "false",
        "yarn.nodemanager.log-dirs": str(layout.logs / "userlogs"),
        "mapreduce.jobhistory.admin.address": _addr(p, "jhs_admin"),
        "yarn.app.mapreduce.am.staging-dir": "/tmp/hadoop-yarn/staging",
    })
    return s


CAPACITY_SCHEDULER = {
    "yarn.scheduler.capacity.root.queues": "default",
    "yarn.scheduler.capacity.root.default.capacity": "100",
    "yarn.scheduler.capacity.root.default.maximum-capacity": "100",
    "yarn.scheduler.capacity.root.default.state": "RUNNING",
    "yarn.scheduler.capacity.root.default.user-limit-factor": "1",
    "yarn.scheduler.capacity.root.default.acl_submit_applications": "*",
    "yarn.scheduler.capacity.root.default.acl_administer_queue": "*",
    "yarn.scheduler.capacity.maximum-am-resource-percent": "0.5",
    "yarn.scheduler.capacity.resource-calculator":
        "org.apache.hadoop.yarn.util.resource.DefaultResourceCalculator",
}


def render(props: dict[str, str]) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             "<!-- Written by scripts/hadoop-cluster; regenerated on every start. -->",
             "<configuration>"]
    for k, v in props.items():
        lines.append(f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>")
    lines.append("</configuration>")
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_all(p: dict[str, int], layout: Layout, secure: bool = False) -> None:
    clients = client_sites(p)
    if secure:  # the security keys go to the clients' files and the daemons' classpath
        from . import barepython, secure as sec

        for name, props in sec.client_settings().items():
            clients[name].update(props)
        server = server_settings(p, layout)
        env = barepython.settings(layout)["yarn.nodemanager.admin-env"]
        server["yarn.nodemanager.admin-env"] = f"{env},{sec.container_env(layout)}"
        for props in [*clients.values(), *sec.server_settings(layout).values()]:
            server.update(props)
        # all of it in each site file: hdfs-default.xml and yarn-default.xml are loaded after
        # core-site.xml and would win over it
        for name in ("core-site.xml", "hdfs-site.xml", "yarn-site.xml"):
            write_atomic(layout.server_conf / name, render(server))
        write_atomic(layout.server_conf / "ssl-server.xml", render(sec.ssl_server(layout)))
    for name, props in clients.items():
        write_atomic(layout.conf / name, render(props))
    write_atomic(layout.conf / "capacity-scheduler.xml", render(CAPACITY_SCHEDULER))
    write_atomic(layout.server_conf / "capacity-scheduler.xml", render(CAPACITY_SCHEDULER))
