"""The executor-side reduction (train.reduce = tree) adds in the same fixed tree as the driver's
fold: bitwise the same sums for any W (powers of two or not) and any fan-in of the blocks."""

import numpy as np
import pytest

from rnn_spark.runners.base import combine_blocks
from rnn_spark.training import partial
from rnn_spark.training.protocol import TaskResult
from rnn_spark.training.reduce import ordered_sum
from rnn_spark.training.state import RoundSums


def results(workers: int, size: int = 257, seed: int = 0) -> list[TaskResult]:
    rng = np.random.default_rng(seed)
    out = []
    for w in range(workers):
        # values spread over many magnitudes, so a different order would change the bits
        weights = (rng.standard_normal(size) * 10.0 ** rng.integers(-6, 6, size)).astype(np.float32)
        opt = {"m": rng.standard_normal(size).astype(np.float32)}
        out.append(TaskResult(worker=w, weights=weights, n=int(rng.integers(0, 500)),
                              loss_sum=float(rng.random()), updates=2, rows=8, opt_state=opt,
                              opt_steps=3, seconds=0.1, tokens=5))
    return out


@pytest.mark.parametrize("workers", [1, 2, 5, 7, 32])
@pytest.mark.parametrize("fan_in", [2, 4, 8])
def test_blocks_of_any_fan_in_give_the_driver_fold_bits(workers, fan_in):
    base32 = np.random.default_rng(9).standard_normal(257).astype(np.float32)
    base = base32.astype(np.float64)
    res = results(workers)
    driver = RoundSums(base, workers)
    for r in reversed(res):  # arrival order does not matter to the driver's tree
        driver.add(r)
    root = combine_blocks([partial.leaf(r, base) for r in res], partial.combine, fan_in)
    assert (root.first, root.stop) == (0, workers)
    expect = ordered_sum([(r.worker, r.n * (r.weights.astype(np.float64) - base)) for r in res])
    assert np.array_equal(root.delta, expect)
    assert np.array_equal(root.delta, driver.delta.result())
    assert np.array_equal(root.opt["m"], driver.opt["m"].result())
    tree = RoundSums(base, workers)
    tree.add_partial(root)
    assert [s.worker for s in root.stats] == list(range(workers))
    assert (tree.n, tree.loss_sum, tree.rows, tree.opt_steps) == (
        driver.n, sum(r.loss_sum for r in res), driver.rows, driver.opt_steps)


def test_combine_refuses_ranges_that_do_not_touch():
    base = np.zeros(257)
    a, _, c = (partial.leaf(r, base) for r in results(3))
    with pytest.raises(ValueError, match=r"\[0, 1\) and \[2, 3\) are not consecutive"):
        partial.combine([a, c])


def test_a_partial_sum_of_some_workers_is_not_a_round():
    base = np.zeros(257)
    sums = RoundSums(base, 3)
    with pytest.raises(ValueError, match=r"\[0, 1\), expected all 3"):
        sums.add_partial(partial.leaf(results(1)[0], base))


def test_reduce_flag_refuses_an_unknown_mode_in_one_line(char_dataset, tmp_path, capsys):
    from rnn_spark.cli import main

    run = tmp_path / "run"
    assert main(["train", "--data", char_dataset, "--run-dir", str(run), "--runner", "inline",
                 "--reduce", "sideways", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "train.reduce" in err and "sideways" in err and len(err.splitlines()) == 1
    assert not run.exists()


def test_inline_runner_with_tree_reduce_trains_the_same_bits(char_dataset, tmp_path):
    from trainer_config import small_config

    from rnn_spark.training.loop import Trainer

    weights = []
    for mode in ("driver", "tree"):
        trainer = Trainer(small_config(char_dataset, tmp_path / mode, **{
            "train.workers": 5, "train.max_rounds": 2, "train.reduce": mode}), quiet=True)
        trainer.run()
        assert trainer.reduce_on_executors() == (mode == "tree")
        weights.append(trainer.state.global_w)
    assert np.array_equal(*weights)


def test_nonfinite_policy_is_the_same_with_the_tree(char_dataset, tmp_path, monkeypatch, capsys):
    from trainer_config import small_config

    from rnn_spark.errors import UserError
    from rnn_spark.training.loop import Trainer

    monkeypatch.setenv("RNN_SPARK_INJECT_NAN", "1:1")  # round 1, worker 1 returns NaN
    outcome = {}
    for mode in ("driver", "tree"):
        for policy in ("skip_worker", "stop"):
            trainer = Trainer(small_config(char_dataset, tmp_path / f"{mode}-{policy}", **{
                "train.workers": 3, "train.max_rounds": 3, "train.reduce": mode,
                "train.on_nonfinite": policy}), quiet=True)
            try:
                trainer.run()
                outcome[mode, policy] = trainer.state.global_w
            except UserError as exc:
                outcome[mode, policy] = str(exc).replace(mode, "MODE")
            warned = [ln for ln in capsys.readouterr().err.splitlines() if "result dropped" in ln]
            assert len(warned) == (policy == "skip_worker")
    assert np.array_equal(outcome["driver", "skip_worker"], outcome["tree", "skip_worker"])
    assert "round 1, worker 1: training diverged" in outcome["tree", "stop"]
    assert outcome["driver", "stop"] == outcome["tree", "stop"]


@pytest.mark.parametrize("workers,hidden,mode,tree", [
    (4, 1000, "auto", True),      # W >= 4 and W x P >= 16M
    (2, 1000, "auto", False),     # two workers: the tree sends as many bytes, and costs a stage
    (4, 24, "auto", False),       # a small model: the driver fold is cheaper
    (4, 1000, "driver", False),
    (2, 24, "tree", True),
])
def test_auto_picks_the_tree_for_many_workers_and_big_models(char_dataset, tmp_path, workers,
                                                             hidden, mode, tree):
    from trainer_config import small_config

    from rnn_spark.runners.inline import InlineRunner
    from rnn_spark.training.loop import Trainer

    cfg = small_config(char_dataset, tmp_path, **{
        "train.runner": "spark", "train.workers": workers, "model.hidden_sizes": [hidden],
        "train.reduce": mode})
    assert Trainer(cfg, runner=InlineRunner(), quiet=True).reduce_on_executors() == tree
