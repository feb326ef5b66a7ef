"""scripts/quickstart (the README's first command) without its training run: --help, and the
install-once logic, with stand-ins for `python3 -m venv`, the environment's pip and rnn-spark
(#21: it ran pip install -e . on every run, into whatever python3 came first)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

PYTHON3 = """#!/usr/bin/env bash
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  echo "venv $3" >> "$LOG"
  mkdir -p "$3/bin" && cp "$STUBS/venv-python" "$3/bin/python"
  [ -z "${FAIL_VENV:-}" ] || { echo "Error: ensurepip is not available" >&2; exit 1; }
  exit 0
fi
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then  # never into the Python running the tests
  echo "pip into python3" >> "$LOG"; exit 0
fi
exec REAL "$@"
"""
VENV_PYTHON = """#!/usr/bin/env bash
bin=$(dirname "$0")
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then
  echo "pip $3 ${*: -2}" >> "$LOG"; cp "$STUBS/rnn-spark" "$bin/rnn-spark"; touch "$bin/../installed"
  exit 0
fi
[ "$1" = "-c" ] && [ -e "$bin/../installed" ]
"""
RNN_SPARK = """#!/usr/bin/env bash
echo "rnn-spark $1" >> "$LOG"
"""


@pytest.fixture()
def checkout(tmp_path):
    """A copy of the script and pyproject.toml, and PATH with the python3 stand-in first."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "quickstart", repo / "scripts" / "quickstart")
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for name, text in (("python3", PYTHON3.replace("REAL", sys.executable)),
                       ("venv-python", VENV_PYTHON), ("rnn-spark", RNN_SPARK)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    return repo, stubs, tmp_path / "log"


def run(checkout, *args, **env):
    repo, stubs, log = checkout
    e = {k: v for k, v in os.environ.items() if not k.startswith("RNN_SPARK_")}
    e.update(PATH=f"{stubs}{os.pathsep}{os.environ['PATH']}", STUBS=str(stubs), LOG=str(log),
             **env)
    if log.exists():
        log.unlink()
    r = subprocess.run([str(repo / "scripts" / "quickstart"), *args], env=e, capture_output=True,
                       text=True, timeout=60)
    return r, log.read_text().splitlines() if log.exists() else []


def test_help_says_where_it_installs_and_installs_nothing(checkout):
    r, log = run(checkout, "--help")
    assert r.returncode == 0 and "source .venv/bin/activate" in r.stdout
    assert log == [] and not (checkout[0] / ".venv").exists()


def test_installs_once_into_the_checkouts_venv(checkout):
    repo = checkout[0]
    venv = repo / ".venv"
    r, log = run(checkout, "--epochs", "1")
    assert r.returncode == 0, r.stderr
    assert log == [f"venv {venv}", f"pip install -e {repo}", "rnn-spark ingest", "rnn-spark train"]
    assert f"installing rnn-spark and its dependencies into {venv}" in r.stderr
    assert f"source {venv}/bin/activate" in r.stderr
    r, log = run(checkout)  # the second run installs nothing
    assert r.returncode == 0, r.stderr
    assert log == ["rnn-spark ingest", "rnn-spark train"]
    assert f"rnn-spark is installed in {venv}: nothing to install" in r.stderr
    with open(repo / "pyproject.toml", "a") as f:  # new dependencies: installed again
        f.write("\n# changed\n")
    r, log = run(checkout)
    assert log == [f"pip install -e {repo}", "rnn-spark ingest", "rnn-spark train"]


def test_a_python_without_venv_is_one_line_and_leaves_nothing(checkout):
    r, log = run(checkout, FAIL_VENV="1")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines()[-1].startswith("quickstart: python3 -m venv failed")
    assert "rnn-spark ingest" not in log and not (checkout[0] / ".venv").exists()


def test_skip_install_uses_rnn_spark_on_path(checkout):
    r, log = run(checkout, RNN_SPARK_SKIP_INSTALL="1")
    assert r.returncode == 0, r.stderr
    assert log == ["rnn-spark ingest", "rnn-spark train"]
