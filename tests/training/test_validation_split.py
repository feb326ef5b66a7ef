"""Validation is cut by rows, not by row groups: every worker evaluates a near-equal share (a split
with one row group included), and the loss is the same whatever the number of workers."""

from dataclasses import replace

import numpy as np
import pytest
from trainer_config import small_config

from rnn_spark.training.loop import Trainer
from rnn_spark.training.protocol import EvalTask, Shared, eval_tasks
from rnn_spark.training.worker import EVAL_BATCH_ROWS, eval_batch_rows, eval_task


def test_each_worker_gets_a_share_of_one_row_group(char_dataset, tmp_path):
    trainer = Trainer(small_config(char_dataset, tmp_path / "r", **{"train.workers": 3}), quiet=True)
    units = trainer.val_units
    one = units[:1]
    tasks = eval_tasks(one, 3)
    assert [t.worker for t in tasks] == [0, 1, 2]
    shares = [sum(s.stop - s.start for s in t.slices) for t in tasks]
    assert sum(shares) == one[0].rows and max(shares) - min(shares) <= 1
    assert all(t.units == tuple(one) for t in tasks)
    many = eval_tasks(units, 2)
    for t in many:  # slices index the task's own units
        assert all(0 <= s.unit < len(t.units) and s.stop <= t.units[s.unit].rows for s in t.slices)
    assert sum(s.stop - s.start for t in many for s in t.slices) == sum(u.rows for u in units)


def test_the_loss_does_not_depend_on_how_validation_is_cut(char_dataset, tmp_path):
    trainer = Trainer(small_config(char_dataset, tmp_path / "r"), quiet=True)
    shared = Shared(trainer.spec, trainer.state.global_w.astype(trainer.state.dtype))
    whole = eval_task(EvalTask(worker=0, units=tuple(trainer.val_units)), shared)
    for w in (1, 2, 5):
        parts = [eval_task(t, shared) for t in eval_tasks(trainer.val_units, w)]
        assert sum(p.count for p in parts) == whole.count
        assert sum(p.correct for p in parts) == whole.correct
        assert sum(p.loss_sum for p in parts) == pytest.approx(whole.loss_sum, rel=1e-6)


def test_the_validation_batch_grows_within_its_memory_budget(char_dataset, tmp_path):
    trainer = Trainer(small_config(char_dataset, tmp_path / "r"), quiet=True)
    spec, units = trainer.spec, tuple(trainer.val_units)
    rows = eval_batch_rows(spec, units)
    assert spec.batch_size <= rows <= EVAL_BATCH_ROWS
    huge = replace(spec, model=replace(spec.model, hidden_sizes=[1 << 20]))
    assert eval_batch_rows(huge, units) == spec.batch_size  # never below the training batch
    assert np.isfinite(eval_task(EvalTask(0, units), Shared(spec, trainer.state.global_w
                                                             .astype(trainer.state.dtype))).loss_sum)
