"""#21.2 on the real HDFS: --overwrite replaces only an output of the command's own kind, and
nothing is written inside a run, a model or a dataset (the guard walks HDFS parents too)."""

import sysconfig
from pathlib import Path

import pytest

from rnn_spark import fs
from rnn_spark.cli import main
from rnn_spark.ingest import ingest_text

pytestmark = pytest.mark.e2e


def tree(root: str) -> dict:
    return {u: fs.read_bytes(u) for u in fs.walk_files(root, include_hidden=True)}


def cli(capsys, *argv):
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr()[1]


def train(ds, run):
    return ["train", "--data", ds, "--run-dir", run, "--runner", "inline", "--max-rounds", "2",
            "--hidden-sizes", "8", "--embedding-size", "4", "--k1", "8", "--batch-size", "4",
            "--steps-per-round", "1", "--workers", "2", "--checkpoint-every", "1", "--quiet"]


def test_overwrite_kinds_on_hdfs(hdfs, capsys, tmp_path):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ds = fs.join(hdfs, "ds")
    ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=33, rows_per_group=64,
                val_fraction=0.1, seed=3, quiet=True)
    a, b = fs.join(hdfs, "a"), fs.join(hdfs, "b")
    assert cli(capsys, *train(ds, a))[0] == 0
    assert cli(capsys, *train(ds, b))[0] == 0

    before = tree(hdfs)
    refused = [
        ["export", "--model", a, "--out", fs.join(b, "best"), "--format", "onnx", "--overwrite"],
        ["export", "--model", a, "--out", fs.join(b, "model"), "--format", "pytorch",
         "--overwrite"],
        ["export", "--model", a, "--out", fs.join(b, "checkpoints", "round-000001"),
         "--format", "onnx", "--overwrite"],
        ["export", "--model", a, "--out", b, "--format", "onnx", "--overwrite"],
        ["export", "--model", a, "--out", ds, "--format", "onnx", "--overwrite"],
        ["predict", "--model", a, "--data", ds, "--out", fs.join(b, "preds"), "--overwrite"],
        ["ingest", "text", str(stdlib / "json" / "decoder.py"), "--out",
         fs.join(b, "model", "ds"), "--seq-len", "8", "-q", "--overwrite"],
        [*train(ds, fs.join(b, "model")), "--overwrite"],
        ["report", a, "--out", fs.join(b, "best", "r.html")],
    ]
    for argv in refused:
        rc, err = cli(capsys, *argv)
        assert rc == 2 and err.count("\n") == 1 and err.startswith("error: "), (argv, err)
        assert tree(hdfs) == before, argv
    import rnn_spark as rs
    assert rs.load_model(fs.join(b, "best")).task == "lm"

    # an export replaces an export (of either format), on HDFS as on local disks
    exp = fs.join(hdfs, "exp")
    assert cli(capsys, "export", "--model", a, "--out", exp, "--format", "onnx")[0] == 0
    assert fs.exists(fs.join(exp, ".rnn-spark-export"))
    rc, err = cli(capsys, "export", "--model", a, "--out", exp, "--format", "pytorch",
                  "--overwrite")
    assert rc == 0, err
    assert sorted(fs.basename(u) for u in fs.ls(exp)) == [".rnn-spark-export", "model.json",
                                                          "model.pt", "rnn_model.py"]
