"""The documentation site, built once per session with scripts/docs (strict: any warning fails)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The built site (HTML). Skips without the docs extra; fails when the build warns.
    ``RNN_SPARK_DOCS_SITE``: a site scripts/docs has just built from this checkout (.ci/run) is
    checked instead of building another."""
    given = os.environ.get("RNN_SPARK_DOCS_SITE")
    if given and (Path(given) / "index.html").is_file():
        return Path(given)
    for module in ("sphinx", "myst_parser", "sphinx_click", "furo"):
        pytest.importorskip(module, reason="the docs extra is not installed: "
                                           "python3 -m pip install -e '.[docs]'")
    out = tmp_path_factory.mktemp("site") / "html"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    p = subprocess.run([str(ROOT / "scripts" / "docs"), "--out", str(out)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, f"scripts/docs failed:\n{p.stdout[-3000:]}\n{p.stderr[-6000:]}"
    return out
