"""Put the packed environment (and pyspark's jars) on the cluster's file system, once.

``<staging>/<archive name>`` is named by the content hash, so a later submit of the same code
finds it and uploads nothing. Uploads go through a temporary name and a rename: a concurrent or
killed submit never leaves a half-written archive under the final name.
"""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from rnn_spark import fs
from rnn_spark.errors import UserError
from rnn_spark.fs.uri import path_of

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar")


def default_staging_dir() -> str:
    """Under the home of the user the cluster knows us as: the Kerberos principal's short name
    (``alice@REALM`` -> ``alice``), a delegation token's owner, else ``HADOOP_USER_NAME`` or the
    login name (simple auth)."""
    from rnn_spark.fs.hdfs_config import user_name

    return f"hdfs:///user/{user_name()}/.rnn-spark/envs"


def upload_once(local: Path, remote: str) -> bool:
    """Copy ``local`` to ``remote`` unless it exists there already; True if it uploaded.

    Never replaces: when two submits of the same environment upload at once, the second finds
    the first's file at its rename and keeps it (YARN fails an application whose archive
    changed under it after submission)."""
    if fs.exists(remote):
        return False
    fs.mkdirs(fs.parent(remote))
    try:
        with open(local, "rb") as src, fs.atomic_write(remote, overwrite=False) as dst:
            while True:
                chunk = src.read(8 << 20)
                if not chunk:
                    break
                dst.write(chunk)
    except fs.FsExists:
        return False
    return True


def stage_env(local: Path, name: str, staging_dir: str) -> tuple[str, bool]:
    """(URI of the archive on the cluster, whether it was uploaded now)."""
    remote = fs.join(staging_dir, name)
    return remote, upload_once(local, remote)


def prebuilt_archive(spec: str, check_remote: bool = True) -> tuple[Path | None, str]:
    """``--env-archive`` -> (local file to stage or None, name or URI). Checks it before use."""
    if not spec.endswith(ARCHIVE_SUFFIXES):
        raise UserError(f"--env-archive {spec}: not an archive (.tar.gz, .tgz, .zip or .tar); "
                        "give the file rnn-spark pack-env wrote")
    if fs.is_remote(spec):
        if check_remote and not fs.exists(spec):
            raise UserError(f"--env-archive {spec}: not found; upload it first or give a "
                            "local file (rnn-spark pack-env --out env.tar.gz)")
        return None, spec
    path = Path(spec).expanduser()
    if spec.startswith("file://"):
        path = Path(path_of(spec))
    if not path.is_file():
        raise UserError(f"--env-archive {spec}: no such file; build one with "
                        "rnn-spark pack-env --out env.tar.gz")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(8 << 20), b""):
            h.update(chunk)
    suffix = next(s for s in ARCHIVE_SUFFIXES if spec.endswith(s))
    return path.absolute(), f"prebuilt-{h.hexdigest()[:20]}{suffix}"


def spark_jars_archive(staging_dir: str, cache: Path, upload: bool = True) -> str:
    """hdfs:// URI of a zip of pyspark's jars (spark.yarn.archive), uploaded once per version:
    without it every submit uploads Spark's ~400 MB of jars to the application's staging dir."""
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    names = sorted(p.name for p in jars.glob("*.jar"))
    key = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    name = f"spark-jars-{pyspark.__version__}-{key}.zip"
    remote = fs.join(staging_dir, name)
    if not upload or fs.exists(remote):
        return remote
    local = cache / name
    if not local.exists():
        tmp = local.with_name(f".{name}.tmp{os.getpid()}")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for n in names:
                z.write(jars / n, n)
        os.replace(tmp, local)
    upload_once(local, remote)
    return remote
