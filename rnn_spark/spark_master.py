"""The Spark master: the one default, and what a master needs from this machine before a JVM
is started for it (no pyspark import here).

``DEFAULT_MASTER`` is ``local[*]`` for every command (train, evaluate, predict, ingest): local
Spark with one task slot per core of this machine. A round runs its W tasks at once as long as
there are cores for them (``local[2]`` would run W = 4 workers in two waves on any machine), an
ingest scans as many files at once as there are cores, and the default W = 2 workers still gets
two slots on the smallest machine Spark runs on. The number of workers is chosen by
``--workers``, never by the master, so the results do not depend on it (the determinism contract).

:func:`check_master`: ``yarn`` needs the cluster's client configuration, found through
``HADOOP_CONF_DIR`` or ``YARN_CONF_DIR``; without it spark-submit stops with a Java stack (or,
with a directory lacking ``yarn-site.xml``, retries a ResourceManager at 0.0.0.0:8032 for
minutes). Checked first, in one line.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Mapping

from rnn_spark.errors import UserError

DEFAULT_MASTER = "local[*]"

CONF_VARS = ("HADOOP_CONF_DIR", "YARN_CONF_DIR")
# A yarn-site.xml is not needed when the ResourceManager's address comes as a Spark setting.
RM_KEYS = ("spark.hadoop.yarn.resourcemanager.",)

_FIX = ("export HADOOP_CONF_DIR=<the directory holding the cluster's yarn-site.xml and "
        "core-site.xml> (often /etc/hadoop/conf)")


def spark_conf_dir() -> Path | None:
    """The directory Spark reads spark-env.sh (and its classpath's site files) from."""
    if os.environ.get("SPARK_CONF_DIR"):
        return Path(os.environ["SPARK_CONF_DIR"])
    home = os.environ.get("SPARK_HOME")
    if not home:
        spec = importlib.util.find_spec("pyspark")  # pip's pyspark is its own SPARK_HOME
        if spec is None or not spec.origin:
            return None
        home = str(Path(spec.origin).parent)
    return Path(home) / "conf"


def _spark_env_sets_conf_dir(conf_dir: Path | None) -> bool:
    """spark-env.sh (sourced by spark-submit) may export HADOOP_CONF_DIR itself."""
    if conf_dir is None:
        return False
    try:
        text = (conf_dir / "spark-env.sh").read_text(errors="replace")
    except OSError:
        return False
    return any(v in text for v in CONF_VARS)


def under_spark_submit() -> bool:
    """This Python was started by spark-submit (its JVM is up; its --master wins over ours)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def check_master(master: str, conf: Mapping[str, str] | None = None,
                 flag: str = "--master") -> None:
    """One-line UserError when ``master`` cannot start from here; nothing is touched. Under
    spark-submit the master is spark-submit's, already started: nothing to check. ``flag``: how
    the message names the setting ("--master", "spark.master (--master) =")."""
    if master != "yarn" or under_spark_submit():
        return
    conf = conf or {}
    given = [(v, os.environ[v]) for v in CONF_VARS if os.environ.get(v)]
    sconf = spark_conf_dir()
    if not given:
        if _spark_env_sets_conf_dir(sconf):
            return  # spark-submit will have it; Spark says so itself if not
        raise UserError(f"{flag} yarn: neither HADOOP_CONF_DIR nor YARN_CONF_DIR is set, so "
                        f"Spark cannot find the cluster; {_FIX}")
    for var, d in given:
        if not os.path.isdir(d):
            raise UserError(f"{flag} yarn: {var}={d} is not a directory; {_FIX}")
    if any(k.startswith(RM_KEYS) for k in conf):
        return
    dirs = [d for _, d in given] + ([str(sconf)] if sconf is not None else [])
    if not any(os.path.isfile(os.path.join(d, "yarn-site.xml")) for d in dirs):
        where = " or ".join(f"{v}={d}" for v, d in given)
        raise UserError(f"{flag} yarn: no yarn-site.xml in {where}, so Spark would look for the "
                        f"ResourceManager at 0.0.0.0:8032; point it at the cluster's client "
                        f"configuration ({_FIX})")
