"""What keeps the pages honest without building them: the pictures are the script's, every
environment variable the code reads is documented, scripts/docs refuses bad arguments."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_svg_pictures_are_what_the_script_draws():
    p = subprocess.run([sys.executable, str(ROOT / "docs" / "_tools" / "pictures.py"), "--check"],
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr


def test_every_environment_variable_is_documented():
    page = (ROOT / "docs" / "reference" / "environment.md").read_text()
    documented = set(re.findall(r"RNN_SPARK_[A-Z0-9_]*[A-Z0-9]", page))
    documented |= {f"RNN_SPARK_COMPOSE{s}" for s in re.findall(r"`(_[A-Z0-9_]+_PORT)`", page)}
    used = set()
    skip = {"target", "__pycache__", ".cluster"}   # build output, caches, a running test cluster
    files = [p for d in ("rnn_spark", "jobs", "scripts", ".ci", "docker") for p in (ROOT / d).rglob("*")
             if p.is_file() and p.suffix not in (".pyc", ".jar", ".png") and not skip & set(p.parts)]
    files += [ROOT / "docker-compose.yml"] + list((ROOT / "tests").rglob("conftest.py"))
    for f in files:
        used |= set(re.findall(r"RNN_SPARK_[A-Z0-9_]*[A-Z0-9]\b", f.read_text(errors="ignore")))
    used -= {"RNN_SPARK_USER_ERROR"}  # a marker inside error text, not a variable
    missing = sorted(used - documented)
    assert not missing, f"not in docs/reference/environment.md: {missing}"


@pytest.mark.parametrize("args, words", [
    (["bogus"], "unknown command 'bogus'"),
    (["--out"], "--out needs one directory"),
    (["build", "x"], "build takes no arguments"),
    (["serve", "eighty"], "serve takes a port number"),
])
def test_scripts_docs_refuses_bad_arguments(args, words, tmp_path):
    before = sorted(ROOT.iterdir())
    p = subprocess.run([str(ROOT / "scripts" / "docs"), *args], capture_output=True, text=True,
                       cwd=tmp_path)
    assert p.returncode == 2
    err = p.stderr.strip()
    assert words in err and "\n" not in err, err
    assert sorted(ROOT.iterdir()) == before  # nothing created (no site/)


def test_scripts_docs_without_the_docs_extra_names_it(tmp_path):
    """A Python without Sphinx (a fresh machine): one line naming the extra, nothing built."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "python3"
    fake.write_text("#!/bin/sh\nexit 1\n")   # every import fails, as without the docs extra
    fake.chmod(0o755)
    out = tmp_path / "site"
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    p = subprocess.run([str(ROOT / "scripts" / "docs"), "--out", str(out)], capture_output=True,
                       text=True, env=env)
    assert p.returncode == 2
    assert p.stderr.strip() == ("error: scripts/docs needs the docs extra: "
                                "python3 -m pip install -e '.[docs]'")
    assert not out.exists()
