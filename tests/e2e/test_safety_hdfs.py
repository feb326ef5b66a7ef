"""Run directories on the real HDFS: the --overwrite rule, damaged-checkpoint fallback, finished
runs and config checks behave as on local disks (issue #8.1, #8.4, #8.5, #8.6)."""

import json
import sysconfig
from pathlib import Path

import pytest

from rnn_spark import fs
from rnn_spark.cli import main
from rnn_spark.ingest import ingest_text

pytestmark = pytest.mark.e2e


def tree(root: str) -> dict:
    return {u: fs.read_bytes(u) for u in fs.walk_files(root, include_hidden=True)}


def args(ds, run, *extra):
    return ["train", "--data", ds, "--run-dir", run, "--runner", "inline", "--max-rounds", "2",
            "--hidden-sizes", "8", "--embedding-size", "4", "--k1", "8", "--batch-size", "4",
            "--steps-per-round", "1", "--workers", "2", "--checkpoint-every", "1",
            "--validate-every", "1", "--quiet", *extra]


def run_cli(capsys, argv):
    capsys.readouterr()
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_run_dir_safety_on_hdfs(hdfs, capsys):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ds = fs.join(hdfs, "ds")
    ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=33, rows_per_group=64,
                val_fraction=0.1, seed=3, quiet=True)
    run = fs.join(hdfs, "run")

    # the dataset is never a run directory, with or without --overwrite
    before = tree(hdfs)
    for extra in ([], ["--overwrite"]):
        rc, _, err = run_cli(capsys, args(ds, ds, *extra))
        assert rc == 2 and err.count("\n") == 1 and "--run-dir" in err
    # user files are never replaced
    fs.write_text(fs.join(hdfs, "mine", "notes.txt"), "precious")
    before = tree(hdfs)
    rc, _, err = run_cli(capsys, args(ds, fs.join(hdfs, "mine"), "--overwrite"))
    assert rc == 2 and "not a run directory" in err
    assert tree(hdfs) == before

    assert run_cli(capsys, args(ds, run))[0] == 0
    assert fs.exists(fs.join(run, ".rnn-spark-run"))
    assert fs.exists(fs.join(run, "checkpoints", "round-000001", "checksums.json"))

    # a finished run changes nothing
    before = tree(run)
    rc, out, err = run_cli(capsys, args(ds, run, "--resume"))
    assert rc == 0 and "already finished at round 1" in err and json.loads(out)["rounds"] == 2
    assert tree(run) == before

    # a changed model is one line
    rc, _, err = run_cli(capsys, args(ds, run, "--resume", "--max-rounds", "3", "--cell", "gru"))
    assert rc == 2 and "model.cell (--cell) lstm -> gru" in err and tree(run) == before

    # a damaged newest checkpoint: said, skipped, resumed from the one before
    weights = fs.join(run, "checkpoints", "round-000001", "weights.npz")
    fs.write_bytes(weights, fs.read_bytes(weights)[:100], overwrite=True)
    rc, out, err = run_cli(capsys, args(ds, run, "--resume", "--max-rounds", "3"))
    assert rc == 0, err
    assert "round-000001 is damaged (weights.npz: sha256 mismatch); resuming from round-000000" in err
    assert json.loads(out)["rounds"] == 3

    # --overwrite replaces the run directory rnn-spark made
    assert run_cli(capsys, args(ds, run, "--overwrite"))[0] == 0
    assert fs.read_text(fs.join(hdfs, "mine", "notes.txt")) == "precious"
