"""Helpers of the safety tests: run the CLI, and prove that a refused command touched nothing."""

import hashlib
import json
import os
import shutil
from pathlib import Path

from rnn_spark.cli import main


def snapshot(root) -> dict:
    """Every file and directory below root (relative path -> sha256 of a file, or 'dir')."""
    root = Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[str(Path(dirpath, d).relative_to(root))] = "dir"
        for f in filenames:
            p = Path(dirpath, f)
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def tiny_args(dataset, run_dir, *extra) -> list[str]:
    return ["train", "--data", str(dataset), "--run-dir", str(run_dir), "--runner", "inline",
            "--max-rounds", "2", "--hidden-sizes", "8", "--embedding-size", "4", "--k1", "8",
            "--batch-size", "4", "--steps-per-round", "1", "--workers", "2",
            "--checkpoint-every", "1", "--validate-every", "1", *extra]


def run_cli(capsys, args) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(capsys, args, watch, *needles) -> str:
    """The command fails with one line on stderr, exit 2, and every directory in `watch` is
    exactly as it was (nothing created, nothing deleted, nothing changed)."""
    before = {str(w): snapshot(w) for w in watch}
    rc, out, err = run_cli(capsys, args)
    lines = [l for l in err.splitlines() if l.strip() and not l.startswith("rnn-spark: ")]
    assert rc == 2, (rc, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert {str(w): snapshot(w) for w in watch} == before
    return lines[0]


def strict_json(line: str) -> dict:
    """json.loads that refuses NaN / Infinity."""
    def bad(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(line, parse_constant=bad)


def copy_dataset(src, dst) -> Path:
    shutil.copytree(src, dst)
    return Path(dst)
