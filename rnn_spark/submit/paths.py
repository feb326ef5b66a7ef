"""Which paths a submitted job can use: checked here, before anything is packed or uploaded.

On YARN the executors, and in cluster mode the driver too, run in containers on other machines,
each in its own working directory. A relative local path given to them names nothing there; an
absolute one works only on a file system every node mounts at the same place (then give it as
file:///...). A local ``--config`` file reaches a cluster-mode driver only when shipped with
``--files`` (it lands in the container's working directory under its own name).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from rnn_spark import fs
from rnn_spark.errors import UserError

FIX = "give an hdfs:// URI (or file:///... on a file system every node mounts)"


@dataclass(frozen=True)
class JobPath:
    """One path a job reads or writes, as the user gave it."""

    flag: str                 # how the message names it: "--data", "data.path (--data)"
    uri: str
    by_tasks: bool = False    # read or written by the executors, not only by the driver


def relative_local(uri: str) -> bool:
    """A plain local path that does not start at the root (file:// URIs are absolute)."""
    scheme, prefix, path = fs.split(uri)
    return scheme == "file" and not prefix and not path.startswith("/")


def check_paths(paths, deploy_mode: str) -> None:
    """One-line UserError for the first path the job cannot reach from its containers."""
    for p in paths:
        if not p.uri or not relative_local(p.uri):
            continue
        if deploy_mode == "cluster":
            raise UserError(f"{p.flag} {p.uri}: a relative local path; with --deploy-mode "
                            f"cluster the driver runs in a YARN container, not in this "
                            f"directory; {FIX}")
        if p.by_tasks:
            raise UserError(f"{p.flag} {p.uri}: a relative local path; Spark's executors on "
                            f"YARN run in their own directories on other machines; {FIX}")


def shipped_files(files: str | None) -> dict[str, str]:
    """--files F1,F2 -> {its name in a container's working directory: the local file}; an
    item FILE#NAME (spark-submit's alias) is named NAME there."""
    out = {}
    for item in (files or "").split(","):
        local, _, alias = item.strip().partition("#")
        if local and not fs.is_remote(local):
            out[alias or posixpath.basename(local)] = local
    return out


def config_file(path: str, deploy_mode: str, files: str | None) -> str | None:
    """The file to read here for a job's ``--config path`` (None: remote, read on the cluster
    only), refusing one the job could not read."""
    if fs.is_remote(path):
        return None
    if deploy_mode != "cluster":
        return path
    shipped = shipped_files(files)
    if "/" not in path and path in shipped:
        return shipped[path]
    raise UserError(f"--config {path}: with --deploy-mode cluster the driver runs in a YARN "
                    f"container and cannot read this machine's files; ship it (submit --files "
                    f"{path} ... --config {posixpath.basename(path)}) or put it on HDFS")
