"""The containers' default Python: a bare interpreter, as on a real cluster's nodes.

YARN containers get no site-packages of this machine: ``python3`` on their PATH is a venv made
from this machine's interpreter without system site-packages and without pip (no numpy, pyarrow,
hdfs, click or rnn_spark). A job that needs them must ship them (``rnn-spark submit`` does).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from . import ClusterError
from .layout import Layout

STANDARD_PATH = "/usr/local/bin:/usr/bin:/bin"


def home(layout: Layout) -> Path:
    return layout.root / "bare-python"


def ensure(layout: Layout) -> Path:
    """Create the bare venv once (kept across restarts); returns its bin/python3."""
    venv = home(layout)
    python = venv / "bin" / "python3"
    if not python.exists():
        r = subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)],
                           capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            raise ClusterError(f"could not create the containers' bare Python in {venv}: "
                               f"{(r.stderr or r.stdout).strip()[-300:]}")
    return python


def settings(layout: Layout) -> dict[str, str]:
    """NodeManager settings: every container's PATH starts with the bare venv's bin/."""
    return {"yarn.nodemanager.admin-env":
            f"MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX,PATH={home(layout) / 'bin'}:{STANDARD_PATH}"}
