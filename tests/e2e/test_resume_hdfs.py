"""#21.6 on the real HDFS: a run directory on hdfs:// is resumed with only --run-dir after a
Ctrl-C (its config.toml there is the base), to the same weights as an undisturbed local run; a
damaged config.toml there, or an hdfs:// directory that is no run, is one line and nothing changes."""

import sys
import sysconfig
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from fault_tools import (assert_same_weights, fault_env, interrupt, job_env,  # noqa: E402
                         train_argv, weights)

from rnn_spark import config, fs  # noqa: E402
from rnn_spark.cli import main  # noqa: E402
from rnn_spark.ingest import ingest_text  # noqa: E402
from rnn_spark.training.loop import train  # noqa: E402

pytestmark = pytest.mark.e2e
ARGS = ["--runner", "inline", "--hidden-sizes", "8", "--embedding-size", "4", "--k1", "8",
        "--batch-size", "4", "--steps-per-round", "1", "--workers", "2", "--max-rounds", "5",
        "--checkpoint-every", "2", "--validate-every", "2"]


def tree(root: str) -> dict:
    return {u: fs.read_bytes(u) for u in fs.walk_files(root, include_hidden=True)}


def run_cli(capsys, argv):
    capsys.readouterr()
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def test_resume_with_only_an_hdfs_run_dir(hdfs, hadoop_cluster, tmp_path, capsys):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ds = fs.join(hdfs, "ds")
    ingest_text([str(stdlib / "json" / "*.py")], ds, seq_len=33, rows_per_group=64,
                val_fraction=0.1, seed=3, quiet=True)
    local = tmp_path / "undisturbed"
    flags = dict(zip([a[2:].replace("-", "_") for a in ARGS[::2]], ARGS[1::2]))
    over = {k: ([int(flags[k])] if k == "hidden_sizes" else flags[k]) for k in flags}
    train(config.load([], {"data.path": ds, "train.run_dir": str(local), **over}), quiet=True)

    run, faults = fs.join(hdfs, "run"), tmp_path / "faults"
    log = interrupt(train_argv("--data", ds, "--run-dir", run, *ARGS),
                    job_env(hadoop_cluster.env, **fault_env(faults, 3)), faults, tmp_path / "a.log")
    assert log.rstrip().endswith(
        f"rnn-spark: interrupted in round 4/5; the newest checkpoint is round-000001 (rounds "
        f"1..2); continue with: rnn-spark train --run-dir {run} --resume"), log

    # the bad inputs first: nothing on HDFS changes
    before = tree(hdfs)
    rc, _, err = run_cli(capsys, ["train", "--run-dir", fs.join(hdfs, "nothing"), "--resume"])
    assert rc == 2 and err.count("\n") == 1 and "does not exist, so there is no run" in err
    rc, _, err = run_cli(capsys, ["train", "--run-dir", run, "--resume", "--cell", "gru"])
    assert rc == 2 and err.count("\n") == 1 and "model.cell (--cell) lstm -> gru" in err
    good = fs.read_text(fs.join(run, "config.toml"))
    fs.write_text(fs.join(run, "config.toml"), "[train\n", overwrite=True)
    rc, _, err = run_cli(capsys, ["train", "--run-dir", run, "--resume"])
    assert rc == 2 and err.count("\n") == 1 and "config.toml: damaged (not valid TOML" in err
    fs.write_text(fs.join(run, "config.toml"), good, overwrite=True)
    assert tree(hdfs) == before

    rc, out, err = run_cli(capsys, ["train", "--run-dir", run, "--resume", "--quiet"])
    assert rc == 0, err
    assert_same_weights(weights(fs.join(run, "model")), weights(str(local / "model")))
