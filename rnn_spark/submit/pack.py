"""Build the Python environment that YARN containers run: ``env.tar.gz``.

A fresh venv (``python -m venv --without-pip``) gets this rnn-spark as a wheel (built from the
package source, also from an editable checkout) and its runtime dependencies pinned to the versions
installed here; ``venv-pack`` packs it. pyspark and py4j are left out: executors and a cluster-mode
driver import them from the pyspark.zip / py4j zip that spark-submit puts on their PYTHONPATH.

The archive is cached under ``$XDG_CACHE_HOME/rnn-spark/envs`` (default ``~/.cache``), named by a
content hash of rnn-spark's files, the pinned requirement set and the interpreter, so an unchanged
checkout is packed once. The venv's ``bin/python`` links to this machine's interpreter: the nodes
need a Python of the same minor version at the same path (see docs/guides/yarn.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import filecmp
import hashlib
import importlib.metadata as md
import json
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from rnn_spark.errors import UserError
from rnn_spark.fs.guard import check_not_inside

DIST = "rnn-spark"
# Executors get these from the cluster's Spark (spark-submit ships pyspark.zip and py4j's zip).
PROVIDED_BY_SPARK = frozenset({"pyspark", "py4j"})
# Shipped too when installed here: optional packages rnn-spark uses at run time if present
# (cryptography: a cluster-mode driver's resident-task TLS, the tls extra; tokenizers: a bpe or
# word text ingest's and its language models' tasks, the text extra; pandas: the executors of
# predict_udf and rnn_spark.ml's transform, predict_batch_udf, the udf extra). Not the kerberos
# extra: in YARN containers rnn-spark authenticates with the container's delegation tokens
# (rnn_spark.fs.hadoop_tokens), and gssapi's binary would bind this machine's libkrb5.
OPTIONAL_IF_INSTALLED: tuple[str, ...] = ("cryptography", "tokenizers", "pandas")
FORMAT = 1  # bump when the way the archive is built changes


@dataclass(frozen=True)
class PackedEnv:
    """A packed environment on local disk and what it holds."""

    path: Path
    key: str                      # content hash (hex)
    python_version: str           # "3.11"
    interpreter: str              # what the archive's bin/python links to (must exist on nodes)
    requirements: tuple[str, ...]  # pinned "name==version", rnn-spark's wheel not included
    size: int
    built: bool                   # False when taken from the cache

    def metadata(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        d["requirements"] = list(self.requirements)
        return d


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "rnn-spark" / "envs"


def _canon(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


TOOLS = {"venv_pack": "venv-pack", "packaging": "packaging"}  # module: distribution


def check_tools() -> None:
    """What packing needs on this machine (the [submit] extra), checked before anything else."""
    import importlib.util

    missing = [dist for mod, dist in TOOLS.items() if importlib.util.find_spec(mod) is None]
    if missing:
        raise UserError(f"packing an environment needs {' and '.join(missing)}: pip install "
                        "'rnn-spark[submit]', or pass --env-archive with an archive built "
                        "elsewhere (rnn-spark pack-env --out env.tar.gz)")


def pinned_requirements() -> tuple[str, ...]:
    """rnn-spark's runtime dependency closure, pinned to the installed versions (sorted)."""
    from packaging.requirements import Requirement

    seen: dict[str, str] = {}
    todo = [Requirement(r) for r in _requires(DIST)]
    todo += [Requirement(n) for n in OPTIONAL_IF_INSTALLED if _version(n)]
    while todo:
        req = todo.pop()
        name = _canon(req.name)
        if name in seen or name in PROVIDED_BY_SPARK:
            continue
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        version = _version(req.name)
        if version is None:
            raise UserError(f"{req.name} (needed by rnn-spark: {req}) is not installed in "
                            f"{sys.executable}; pip install '{req}' and pack again")
        seen[name] = version
        todo += [Requirement(r) for r in _requires(req.name) or ()]
    return tuple(sorted(f"{n}=={v}" for n, v in seen.items()))


def _requires(name: str) -> list[str]:
    if name == DIST and _pyproject():  # a checkout: its pyproject.toml is the source of truth
        return _pyproject().get("project", {}).get("dependencies", [])
    try:
        return md.requires(name) or []
    except md.PackageNotFoundError:
        return []


def _version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def package_root() -> Path:
    import rnn_spark

    return Path(rnn_spark.__file__).resolve().parent


def _pyproject() -> dict:
    f = package_root().parent / "pyproject.toml"
    if not f.exists():
        return {}
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(f.read_text())


def source_files() -> list[tuple[str, Path]]:
    """(archive name, file) of the rnn_spark package, sorted; no caches or bytecode."""
    root = package_root()
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_file() and "__pycache__" not in rel.parts and p.suffix not in (".pyc", ".pyo"):
            out.append((str(Path("rnn_spark") / rel), p))
    return out


def interpreter() -> str:
    """The interpreter a venv made from here links to."""
    base = getattr(sys, "_base_executable", None) or sys.executable
    return str(Path(base).absolute())


def content_key(requirements: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps({"format": FORMAT, "requirements": list(requirements),
                         "interpreter": interpreter(), "python": platform.python_version(),
                         "platform": sysconfig.get_platform()}, sort_keys=True).encode())
    for name, path in source_files():
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def archive_name(key: str) -> str:
    return f"rnn-spark-env-{key[:20]}.tar.gz"


def pack_env(out: str | None = None, log=None) -> PackedEnv:
    """Build (or take from the cache) the packed environment; copy it to ``out`` if given."""
    log = log or (lambda msg: None)
    check_tools()
    target = _check_out(out)
    reqs = pinned_requirements()
    key = content_key(reqs)
    cache = cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"cannot create the environment cache {cache}: {e.strerror}; "
                        "set XDG_CACHE_HOME to a writable directory") from None
    path = cache / archive_name(key)
    built = False
    with _lock(cache / ".lock"):
        if not path.exists():
            log(f"packing the Python environment ({len(reqs)} pinned packages + rnn-spark) "
                f"into {path}")
            _build(path, reqs)
            built = True
    env = PackedEnv(path=path, key=key, python_version=f"{sys.version_info[0]}.{sys.version_info[1]}",
                    interpreter=interpreter(), requirements=reqs, size=path.stat().st_size,
                    built=built)
    meta = path.with_suffix("").with_suffix(".json")
    if not meta.exists():
        _write_atomic(meta, json.dumps({**env.metadata(), "built": True}, indent=2) + "\n")
    if target is not None:
        tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
        shutil.copyfile(path, tmp)
        os.replace(tmp, target)
        env = PackedEnv(**{**env.__dict__, "path": target})
    return env


def _check_out(out: str | None) -> Path | None:
    if out is None:
        return None
    target = Path(out).expanduser().absolute()
    if target.is_dir():
        raise UserError(f"--out {out}: is a directory; give a file name such as env.tar.gz")
    if not target.name.endswith((".tar.gz", ".tgz")):
        raise UserError(f"--out {out}: the archive is a .tar.gz; name it e.g. env.tar.gz")
    parent = target.parent
    if not parent.is_dir():
        raise UserError(f"--out {out}: directory {parent} does not exist; create it first")
    check_not_inside(str(target), "environment archive")
    if target.exists() and not _packed_here(target):
        raise UserError(f"--out {out}: exists and is not an archive pack-env wrote (a copy of one "
                        f"in {cache_dir()}); it is left as it is: choose another path or remove "
                        "it yourself")
    try:  # root passes os.access everywhere: try it
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{target.name}."):
            pass
    except OSError as e:
        raise UserError(f"--out {out}: cannot write in {parent} ({e.strerror}); "
                        "choose another path") from None
    return target


def _packed_here(target: Path) -> bool:
    """``target`` is a copy of an archive in the cache (same size, same bytes): pack-env wrote it,
    so --out may replace it; any other file is the user's."""
    size = target.stat().st_size
    return any(p.stat().st_size == size and filecmp.cmp(p, target, shallow=False)
               for p in sorted(cache_dir().glob(archive_name("*"))))


@contextlib.contextmanager
def _lock(path: Path):
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def _run(cmd: list[str], what: str, cwd: str | None = None) -> None:
    # No PYTHONPATH and a scratch working directory: pip in the new venv must not see this
    # checkout (its rnn_spark.egg-info would make it skip our wheel as "already installed")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        tail = " | ".join((r.stderr or r.stdout).strip().splitlines()[-3:])
        raise UserError(f"packing the environment: {what} failed ({tail}); "
                        "check network access to the package index, then pack again")


def _build(path: Path, reqs: tuple[str, ...]) -> None:
    import venv_pack  # checked by check_tools

    with tempfile.TemporaryDirectory(prefix=".build-", dir=path.parent) as tmp:
        wheel = _build_wheel(Path(tmp))
        venv = Path(tmp) / "env"
        _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], "python -m venv")
        _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
              "--no-deps", "--no-input", "--disable-pip-version-check", "--no-warn-script-location",
              "--ignore-installed", "-q", *reqs, str(wheel)], "pip install of the pinned requirements",
             cwd=tmp)
        if not list((venv / "lib").glob("python*/site-packages/rnn_spark/__init__.py")):
            raise UserError("packing the environment: rnn-spark's wheel did not install into it")
        part = Path(tmp) / "env.tar.gz"
        venv_pack.pack(prefix=str(venv), output=str(part), verbose=False, compress_level=4)
        os.replace(part, path)


def _build_wheel(tmp: Path) -> Path:
    """A wheel of rnn_spark as it is here: its files copied into a scratch project (the user's
    checkout gets no build/ or egg-info), built with pip wheel (setuptools, no download)."""
    proj = tmp / "src"
    for name, p in source_files():
        dst = proj / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst)
    from rnn_spark import __version__

    (proj / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{DIST}"\nversion = "{__version__}"\nrequires-python = ">=3.10"\n'
        '[project.scripts]\nrnn-spark = "rnn_spark.cli:main"\n'
        '[tool.setuptools.packages.find]\ninclude = ["rnn_spark*"]\n'
        '[tool.setuptools.package-data]\n"*" = ["*"]\n')
    wheels = tmp / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "-q", "-w", str(wheels), str(proj)],
         "building the rnn-spark wheel", cwd=str(tmp))
    found = sorted(wheels.glob("*.whl"))
    if not found:
        raise UserError("packing the environment: pip wheel made no wheel of rnn-spark")
    return found[0]
