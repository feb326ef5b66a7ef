"""pyproject.toml builds without setuptools' deprecation warnings (#21: `project.license` as a
TOML table warned that such builds stop being supported after 2027-02-18)."""

from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from rnn_spark.config import tomllib  # tomli on Python 3.10

PYPROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def test_license_is_an_spdx_string_and_setuptools_can_read_it():
    assert PYPROJECT["project"]["license"] == "Apache-2.0"  # PEP 639 form, not {text = ...}
    assert not any(c.startswith("License ::") for c in PYPROJECT["project"].get("classifiers", []))
    (req,) = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]
              if Requirement(r).name == "setuptools"]
    # the first setuptools that reads a license expression is 77.0.0: no older one may build it
    assert not req.specifier.contains(Version("76.1.0")) and req.specifier.contains(Version("77.0.3"))
