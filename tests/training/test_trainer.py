"""The round loop: invariants of the determinism contract, resume, outputs, user errors."""

import json

import numpy as np
import pytest
from trainer_config import small_config, train_then_replay

from rnn_spark import data, fs
from rnn_spark.cli import main
from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training.loop import train


def final_weights(run_dir) -> dict:
    return ckpt.read_model(str(run_dir / "model"))[0]


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_one_worker_one_step_average_is_plain_training(char_dataset, tmp_path):
    """W=1, H=1, average == the engine trained alone on the same minibatches, bit for bit."""
    cfg = small_config(char_dataset, tmp_path / "run", **{
        "train.workers": 1, "train.steps_per_round": 1, "train.max_rounds": 5,
        "optim.optimizer": "adam", "optim.schedule": "cosine", "optim.warmup_steps": 2})
    replayed = train_then_replay(cfg, 5)
    assert same(final_weights(tmp_path / "run"), replayed)


@pytest.mark.parametrize("averager", ["average", "bmuf", "nesterov"])
def test_same_seed_same_weights_and_seed_matters(char_dataset, tmp_path, averager):
    a = train(small_config(char_dataset, tmp_path / "a", **{"train.averager": averager}), quiet=True)
    b = train(small_config(char_dataset, tmp_path / "b", **{"train.averager": averager}), quiet=True)
    c = train(small_config(char_dataset, tmp_path / "c", **{"train.averager": averager,
                                                             "train.seed": 1}), quiet=True)
    assert a["train_loss"] == b["train_loss"]
    assert same(final_weights(tmp_path / "a"), final_weights(tmp_path / "b"))
    assert not same(final_weights(tmp_path / "a"), final_weights(tmp_path / "c"))


def test_resume_continues_bit_for_bit(char_dataset, tmp_path):
    over = {"train.max_rounds": 7, "train.checkpoint_every": 3, "train.averager": "bmuf"}
    train(small_config(char_dataset, tmp_path / "full", **over), quiet=True)
    # the same run stopped after round 3 (a checkpoint), then resumed to the end
    train(small_config(char_dataset, tmp_path / "cut", **{**over, "train.max_rounds": 4}), quiet=True)
    train(small_config(char_dataset, tmp_path / "cut", **{**over, "train.resume": True}), quiet=True)
    assert same(final_weights(tmp_path / "full"), final_weights(tmp_path / "cut"))
    rounds = [json.loads(l)["round"] for l in (tmp_path / "cut" / "metrics.jsonl").read_text().splitlines()
              if json.loads(l)["kind"] == "round"]
    assert rounds == list(range(7))


def test_run_directory_layout_and_no_pickles(char_dataset, tmp_path):
    run = tmp_path / "run"
    summary = train(small_config(char_dataset, run, **{"train.keep_checkpoints": 2}), quiet=True)
    assert summary["rounds"] == 6
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["round-000003", "round-000005"]
    for d in (run / "checkpoints" / "round-000005", run / "best"):
        weights, state, meta = ckpt.read_checkpoint(str(d))  # allow_pickle=False inside
        assert set(weights) == {"global", "broadcast"}
        assert any(k.startswith("optim.") for k in state)
        assert meta["config"]["train"]["run_dir"] == str(run)
    lines = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["round"] for r in lines if r["kind"] == "round"] == list(range(6))
    assert [r["round"] for r in lines if r["kind"] == "val"] == [2, 5]
    assert all(np.isfinite(r["loss"]) and r["targets"] > 0 for r in lines if r["kind"] == "round")
    weights, model_json = ckpt.read_model(str(run / "model"))
    assert model_json["model"]["cell"] == "lstm" and len(model_json["vocab"]) > 0
    assert set(weights) >= {"embedding.weight", "rnn.weight_ih_l0", "head.weight"}
    assert (run / "config.toml").read_text().startswith("[data]")


def test_training_reduces_the_loss(char_dataset, tmp_path):
    summary = train(small_config(char_dataset, tmp_path / "run", **{
        "train.max_rounds": 0, "train.epochs": 3, "optim.lr": 0.01, "train.validate_every": 0}),
        quiet=True)
    lines = [json.loads(l) for l in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    first = [r["loss"] for r in lines if r["kind"] == "round"][0]
    vocab = data.read_manifest(char_dataset).vocab_size
    assert first > 0.9 * np.log(vocab)  # about uniform over the vocabulary at the start
    assert summary["val"]["loss"] < first - 1.0


def test_cli_errors_are_one_line(char_dataset, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--data", char_dataset, "--run-dir", str(run), "--runner", "inline",
            "--max-rounds", "2", "--hidden-sizes", "8", "--quiet"]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2  # an earlier run's checkpoints: refuse unless --resume/--overwrite
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--resume" in err and len(err.strip().splitlines()) == 1
    assert main(args + ["--overwrite"]) == 0
    capsys.readouterr()
    assert main(["train", "--data", str(tmp_path / "nope"), "--run-dir", str(tmp_path / "r2"),
                 "--runner", "inline"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and len(err.strip().splitlines()) == 1
    assert not fs.exists(str(tmp_path / "r2" / "checkpoints"))


@pytest.mark.spark
@pytest.mark.parametrize("resident", ["auto", "off"])
def test_spark_runner_equals_inline_on_resident_tasks_or_a_job_per_round(char_dataset, tmp_path,
                                                                           resident):
    """The rounds and validations on resident tasks (the default) or as a Spark job each: the
    inline runner's bits either way."""
    extra = {"train.validate_every": 2}
    inline = train(small_config(char_dataset, tmp_path / "inline", **extra), quiet=True)
    spark = train(small_config(char_dataset, tmp_path / "spark", **extra, **{
        "train.runner": "spark", "spark.master": "local[2]", "spark.resident": resident}),
        quiet=True)
    assert spark["train_loss"] == inline["train_loss"]
    assert spark["val"]["loss"] == inline["val"]["loss"]
    assert same(final_weights(tmp_path / "inline"), final_weights(tmp_path / "spark"))
    rounds = [json.loads(x) for x in (tmp_path / "spark" / "metrics.jsonl").read_text().splitlines()]
    broadcasts = {r["broadcast_s"] > 0 for r in rounds if r["kind"] == "round"}
    assert broadcasts == ({False} if resident == "auto" else {True})


@pytest.mark.spark
def test_spark_runner_equals_inline_even_with_task_retries(char_dataset, tmp_path, monkeypatch):
    inline = train(small_config(char_dataset, tmp_path / "inline"), quiet=True)
    monkeypatch.setenv("RNN_SPARK_FAIL_FIRST_ATTEMPT", "1")  # every job's task 0 fails once
    spark = train(small_config(char_dataset, tmp_path / "spark", **{
        "train.runner": "spark", "spark.master": "local[2,4]"}), quiet=True)
    assert spark["train_loss"] == inline["train_loss"]
    assert same(final_weights(tmp_path / "inline"), final_weights(tmp_path / "spark"))
