"""The node image: tagged by a hash of everything that goes into it (the build context files
that .dockerignore lets through, the base image and the build options), so `up` builds only
when an input changed, and Docker's layer cache rebuilds only the layers after the change."""
from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from . import ComposeError
from .engine import REPO, run

IMAGE_REPO = "rnn-spark/node"
DEFAULT_BASE = "debian:bookworm-slim"
# What .dockerignore lets into the build context (keep the two in step; a test checks it).
CONTEXT = ("pyproject.toml", "README.md", "rnn_spark", "jobs", "conf", "docker")
PROXY_ARGS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


@dataclass(frozen=True)
class BuildOptions:
    base_image: str
    ca_certs: str  # PEM text, "" for none
    proxies: tuple[tuple[str, str], ...]

    @classmethod
    def from_args(cls, base_image: str | None, ca_paths: list[str]) -> "BuildOptions":
        base = base_image or os.environ.get("RNN_SPARK_COMPOSE_BASE_IMAGE") or DEFAULT_BASE
        paths = list(ca_paths)
        if not paths and os.environ.get("RNN_SPARK_COMPOSE_CA_CERTS_FROM"):
            paths = os.environ["RNN_SPARK_COMPOSE_CA_CERTS_FROM"].split(":")
        return cls(base, read_ca_certs(paths),
                   tuple((k, os.environ[k]) for k in PROXY_ARGS if os.environ.get(k)))

    def build_args(self) -> list[str]:
        args = ["--build-arg", f"BASE_IMAGE={self.base_image}",
                "--build-arg", f"EXTRA_CA_CERTS={self.ca_certs}"]
        for k, v in self.proxies:
            args += ["--build-arg", f"{k}={v}"]
        return args


def read_ca_certs(paths: list[str]) -> str:
    """PEM text of the certificate files named (a directory stands for its *.crt/*.pem)."""
    pems = []
    for raw in paths:
        p = Path(raw)
        files = sorted([*p.glob("**/*.crt"), *p.glob("**/*.pem")]) if p.is_dir() else [p]
        if not p.exists():
            raise ComposeError(f"CA certificate path {raw} does not exist; pass a PEM file or a "
                               "directory of *.crt files (e.g. /usr/local/share/ca-certificates)")
        for f in files:
            text = f.read_text(errors="replace")
            if "-----BEGIN CERTIFICATE-----" not in text:
                raise ComposeError(f"{f} is not a PEM certificate; pass PEM (BEGIN CERTIFICATE) files")
            pems.append(text.strip())
    return "\n".join(pems)


def _context_files() -> list[Path]:
    files = []
    for name in CONTEXT:
        p = REPO / name
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files += [f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts
                      and f.suffix != ".pyc"]
    return sorted(files)


def base_image_id(base: str) -> str:
    r = run(["docker", "image", "inspect", "--format", "{{.Id}}", base], check=False)
    return r.stdout.strip() if r.returncode == 0 else ""


def tag(opts: BuildOptions) -> str:
    """Image tag: 12 hex digits of a hash of the build inputs."""
    h = hashlib.sha256()
    for f in _context_files():
        h.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes() + b"\0")
        h.update(b"x" if os.access(f, os.X_OK) else b"-")
    h.update((REPO / ".dockerignore").read_bytes())
    # A base given by name is pinned by its local id when present (a re-import changes it).
    h.update(f"{opts.base_image}\0{base_image_id(opts.base_image)}\0{opts.ca_certs}".encode())
    return h.hexdigest()[:12]


def image_exists(ref: str) -> bool:
    return run(["docker", "image", "inspect", ref], check=False).returncode == 0


def build(opts: BuildOptions, ref: str, quiet: bool = False) -> None:
    """docker build (BuildKit when buildx is installed, else the classic builder)."""
    env = dict(os.environ)
    if run(["docker", "buildx", "version"], check=False).returncode != 0:
        env["DOCKER_BUILDKIT"] = "0"
    cmd = ["docker", "build", "-f", str(REPO / "docker" / "Dockerfile"), *opts.build_args(),
           "-t", ref, "-t", f"{IMAGE_REPO}:dev", str(REPO)]
    print(f"compose-cluster: building {ref} (base {opts.base_image}"
          f"{', extra CA certificates' if opts.ca_certs else ''})", file=sys.stderr)
    r = run(cmd, env=env, check=False, capture=quiet, what="docker build")
    if r.returncode != 0:
        tail = ((r.stdout or "") + (r.stderr or "")).strip().splitlines()[-1:] if quiet else []
        hint = "" if base_image_id(opts.base_image) else (
            f"; base image {opts.base_image} is not here and may not be pullable: import one "
            "(mmdebstrap --variant=minbase bookworm - | docker import - NAME) and pass --base-image NAME")
        raise ComposeError(f"docker build of {ref} failed (exit {r.returncode})"
                           + (f": {tail[0]}" if tail else " (its output is above)") + hint)
