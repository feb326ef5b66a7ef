"""The one config -> engine translation (training/protocol.py)."""

import numpy as np
import pytest

from rnn_spark import config
from rnn_spark.training.protocol import AveragerSpec, OptimizerSpec, ScheduleSpec


def cfg(**over) -> config.Config:
    return config.load([], over)


@pytest.mark.parametrize("over, expected", [
    ({"optim.optimizer": "adam", "optim.beta1": 0.8, "optim.beta2": 0.99, "optim.eps": 1e-6},
     {"name": "adam", "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.0}),
    ({"optim.optimizer": "adamw", "optim.weight_decay": 0.05},
     {"name": "adamw", "betas": [0.9, 0.999], "weight_decay": 0.05}),
    ({"optim.optimizer": "sgd", "optim.momentum": 0.9, "optim.nesterov": True},
     {"name": "sgd", "momentum": 0.9, "nesterov": True, "weight_decay": 0.0}),
    ({"optim.optimizer": "rmsprop", "optim.alpha": 0.9, "optim.momentum": 0.5},
     {"name": "rmsprop", "alpha": 0.9, "momentum": 0.5}),
])
def test_optimizer_options_reach_the_engine_under_its_names(over, expected):
    spec = OptimizerSpec.from_config(cfg(**over).optim)
    built = spec.build(10, np.float32).config()
    assert {k: built[k] for k in expected} == expected
    assert spec.clip_norm == 1.0


def test_schedule_total_steps_defaults_to_the_planned_run():
    assert ScheduleSpec.from_config(cfg(**{"optim.schedule": "cosine"}).optim, 120).build().config() \
        == ScheduleSpec.from_config(cfg(**{"optim.schedule": "cosine", "optim.total_steps": 120}).optim,
                                    7).build().config()
    lr = ScheduleSpec.from_config(cfg(**{"optim.schedule": "step", "optim.step_size": 2,
                                         "optim.gamma": 0.5, "optim.lr": 1.0}).optim, 0).build()
    assert [lr(s) for s in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]


def test_averager_config_keys_become_its_option_names():
    bmuf = AveragerSpec.from_config(cfg(**{"train.averager": "bmuf", "train.block_lr": 0.5}).train)
    assert bmuf.build(4, workers=4).options == {"eta": 0.5, "zeta": 0.5, "nesterov": True}  # min(1-1/W, .5)
    bmuf = AveragerSpec.from_config(cfg(**{"train.averager": "bmuf", "train.block_momentum": 0.0}).train)
    assert bmuf.build(4, workers=4).options["eta"] == 0.0
    nest = AveragerSpec.from_config(cfg(**{"train.averager": "nesterov", "train.outer_lr": 1.0,
                                           "train.outer_momentum": 0.0}).train)
    assert nest.build(4, workers=2).options == {"lr": 1.0, "mu": 0.0, "nesterov": True}
    assert AveragerSpec.from_config(cfg().train).build(4, workers=2).name == "bmuf"


@pytest.mark.parametrize("averager, scaling, factor", [
    ("bmuf", "auto", 1.0), ("nesterov", "auto", 1.0), ("average", "auto", 2.0),
    ("bmuf", "sqrt", 2.0), ("average", "none", 1.0), ("bmuf", "linear", 4.0)])
def test_lr_scaling_for_four_workers(averager, scaling, factor):
    """auto: sqrt(W) for plain averaging only; bmuf's and nesterov's momentum already lengthen
    the step. An explicit choice is taken as given."""
    c = cfg(**{"train.averager": averager, "optim.lr_scaling": scaling, "optim.lr": 0.5})
    assert ScheduleSpec.from_config(c.optim, 10, 4, c.train.averager).base_lr == 0.5 * factor
    assert ScheduleSpec.from_config(c.optim, 10, 1, c.train.averager).base_lr == 0.5  # W=1: lr


def test_defaults_scale_nothing_under_bmuf():
    from rnn_spark.training.protocol import RunSpec  # noqa: F401 -- the path the trainer takes
    c = cfg()
    assert (c.optim.lr_scaling, c.train.averager) == ("auto", "bmuf")
    assert ScheduleSpec.from_config(c.optim, 10, 2, c.train.averager).base_lr == c.optim.lr
