"""train.reduce = tree on Spark: the round's sums are made on the executors (a shuffle stage per
level of the fixed tree) and the driver gets one vector -- with bitwise the weights of the inline
runner's driver-side fold, also when Spark retries tasks."""

import numpy as np
import pytest
from trainer_config import small_config

from rnn_spark.training.loop import Trainer

pytestmark = pytest.mark.spark


def run(cfg) -> tuple[np.ndarray, float, Trainer]:
    trainer = Trainer(cfg, quiet=True)
    try:
        summary = trainer.run()
        return trainer.state.global_w.copy(), summary["train_loss"], trainer
    finally:
        trainer.close()


def test_tree_reduce_of_32_tasks_equals_inline_bitwise(char_dataset, tmp_path):
    over = {"train.workers": 32, "train.steps_per_round": 1, "train.batch_size": 4,
            "train.max_rounds": 2, "train.validate_every": 0, "train.checkpoint_every": 0}
    inline_w, inline_loss, _ = run(small_config(char_dataset, tmp_path / "inline", **over))
    tree_w, tree_loss, trainer = run(small_config(char_dataset, tmp_path / "tree", **{
        **over, "train.runner": "spark", "train.reduce": "tree"}))
    assert trainer.reduce_on_executors()
    assert tree_loss == inline_loss
    assert np.array_equal(tree_w, inline_w)


def test_tree_reduce_with_task_retries_equals_inline(char_dataset, tmp_path, monkeypatch):
    over = {"train.workers": 5, "train.max_rounds": 3, "train.validate_every": 0}
    inline_w, inline_loss, _ = run(small_config(char_dataset, tmp_path / "inline", **over))
    monkeypatch.setenv("RNN_SPARK_FAIL_FIRST_ATTEMPT", "1")  # every job's task 0 fails once
    tree_w, tree_loss, _ = run(small_config(char_dataset, tmp_path / "tree", **{
        **over, "train.runner": "spark", "spark.master": "local[2,4]", "train.reduce": "tree"}))
    assert tree_loss == inline_loss
    assert np.array_equal(tree_w, inline_w)
