"""A worker's loss or weights turning NaN/Inf (injected with RNN_SPARK_INJECT_NAN), and #8.11:
bmuf validates and keeps the stored weights it exports, not its look-ahead broadcast."""

import json

import numpy as np
import pytest
from safety_helpers import run_cli, strict_json, tiny_args
from trainer_config import small_config

from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.loop import Trainer
from rnn_spark.training.protocol import EvalTask, Shared
from rnn_spark.training.rundir import RunDir
from rnn_spark.training.worker import eval_task


def four_rounds(dataset, run, *extra):
    return tiny_args(dataset, run, "--max-rounds", "4", "--quiet", *extra)


def same_model(a, b) -> bool:
    wa, wb = ckpt.read_model(str(a / "model"))[0], ckpt.read_model(str(b / "model"))[0]
    return wa.keys() == wb.keys() and all(np.array_equal(wa[k], wb[k]) for k in wa)


def test_stop_names_round_and_worker_and_keeps_the_checkpoints(char_dataset, tmp_path, capsys,
                                                                monkeypatch):
    clean = tmp_path / "clean"
    assert run_cli(capsys, four_rounds(char_dataset, clean))[0] == 0
    run = tmp_path / "run"
    monkeypatch.setenv("RNN_SPARK_INJECT_NAN", "2:1")
    rc, out, err = run_cli(capsys, four_rounds(char_dataset, run))
    assert rc == 2 and out == ""
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: round 2, worker 1: training diverged")
    assert "--on-nonfinite skip_worker" in lines[0] and "Traceback" not in err
    assert not (run / "model").exists()
    newest, damaged = ckpt.newest_intact(RunDir(str(run)))
    assert newest.round == 1 and damaged == []
    # the intact checkpoints resume to exactly the undisturbed run's weights
    monkeypatch.delenv("RNN_SPARK_INJECT_NAN")
    assert run_cli(capsys, four_rounds(char_dataset, run, "--resume"))[0] == 0
    assert same_model(clean, run)


def test_skip_worker_drops_the_result_with_a_warning(char_dataset, tmp_path, capsys, monkeypatch):
    clean = tmp_path / "clean"
    assert run_cli(capsys, four_rounds(char_dataset, clean))[0] == 0
    monkeypatch.setenv("RNN_SPARK_INJECT_NAN", "2:1,3:0,3:1")  # round 3: every worker
    run = tmp_path / "run"
    rc, out, err = run_cli(capsys, four_rounds(char_dataset, run, "--on-nonfinite", "skip_worker"))
    assert rc == 0, err
    warnings = [l for l in err.splitlines() if "warning:" in l]
    assert len(warnings) == 3 and "round 2, worker 1: result dropped" in warnings[0]
    summary = strict_json(out.splitlines()[-1])
    assert summary["rounds"] == 4
    assert not same_model(clean, run)
    weights = ckpt.read_model(str(run / "model"))[0]
    assert all(np.all(np.isfinite(v)) for v in weights.values())


def test_on_nonfinite_is_checked(char_dataset, tmp_path, capsys):
    rc, _, err = run_cli(capsys, four_rounds(char_dataset, tmp_path / "r", "--on-nonfinite", "skip"))
    assert rc == 2 and "--on-nonfinite" in err and not (tmp_path / "r").exists()


def test_bmuf_validates_the_weights_it_exports(char_dataset, tmp_path):
    cfg = small_config(char_dataset, tmp_path / "run", **{
        "train.averager": "bmuf", "train.max_rounds": 4, "train.validate_every": 4,
        "optim.lr": 0.01})
    trainer = Trainer(cfg, quiet=True)
    try:
        trainer.run()
        stored = trainer.state.global_w.astype(trainer.state.dtype)
        assert not np.array_equal(stored, trainer.state.bcast)  # the look-ahead differs

        def val_loss(weights):
            res = eval_task(EvalTask(worker=0, units=tuple(trainer.val_units)),
                            Shared(trainer.spec, weights))
            return res.loss_sum / res.count
    finally:
        trainer.close()
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    recorded = [r["loss"] for r in lines if r["kind"] == "val"][-1]
    assert recorded == pytest.approx(val_loss(stored), rel=1e-6)
    assert abs(recorded - val_loss(trainer.state.bcast)) > 1e-6
    exported = ckpt.read_model(str(tmp_path / "run" / "model"))[0]
    best = ckpt.load_checkpoint(str(tmp_path / "run" / "best"))
    assert np.array_equal(best.weights["global"].astype(trainer.state.dtype), stored)
    assert exported  # the model written is the same stored vector (cast), see test_trainer
