"""small_config(...): a tiny, fast training configuration for the trainer tests; SMALL_FLAGS: the
same as `rnn-spark train` flags (without --data, --run-dir, --runner)."""

from rnn_spark import config


def small_config(dataset: str, run_dir, **over) -> config.Config:
    base = {"data.path": dataset, "train.run_dir": str(run_dir), "model.hidden_sizes": [24],
            "model.embedding_size": 12, "train.k1": 16, "train.batch_size": 8,
            "train.steps_per_round": 2, "train.workers": 2, "train.max_rounds": 6,
            "train.validate_every": 3, "train.checkpoint_every": 2, "train.runner": "inline",
            "spark.master": "local[2]"}
    base.update(over)
    return config.load([], base)


# small_config as flags: 6 rounds, validations after rounds 2 and 5, checkpoints after 1, 3, 5
SMALL_FLAGS = ["--hidden-sizes", "24", "--embedding-size", "12", "--k1", "16", "--batch-size", "8",
               "--steps-per-round", "2", "--workers", "2", "--max-rounds", "6",
               "--validate-every", "3", "--checkpoint-every", "2"]


def train_then_replay(cfg: config.Config, rounds: int, dropout=None) -> dict:
    """Train ``cfg`` (one worker), then replay its rounds with one model and one optimizer that
    live across rounds, no driver in between (no float64 fold, no optimizer state round trip);
    -> the replayed model's state dict. ``dropout(spec, task)``: the dropout seeds the replay
    gives ``local_steps`` (None = none)."""
    from rnn_spark.engine import Model
    from rnn_spark.training.loop import Trainer
    from rnn_spark.training.worker import local_steps, task_minibatches, task_rng

    trainer = Trainer(cfg, quiet=True)
    try:
        trainer.run()
        spec = trainer.spec
        model = Model(trainer.model_cfg, seed=cfg.train.seed)
        model.loss_spec = spec.loss  # as the worker does
        opt = spec.optimizer.build(model.num_params, model.flat.dtype)
        lr_at = spec.schedule.build()
        for g in range(rounds):
            (task,) = trainer.tasks_for_round(g)
            mbs = task_minibatches(task, spec, model.flat.dtype, task_rng(spec, task))
            local_steps(model, opt, lr_at, cfg.optim.clip_norm, mbs, task.step0, cfg.train.k1,
                        cfg.train.k1, None if dropout is None else dropout(spec, task))
    finally:
        trainer.close()
    return model.state_dict()
