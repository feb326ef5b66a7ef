"""small_config(...): a tiny, fast training configuration for the trainer tests."""

from rnn_spark import config


def small_config(dataset: str, run_dir, **over) -> config.Config:
    base = {"data.path": dataset, "train.run_dir": str(run_dir), "model.hidden_sizes": [24],
            "model.embedding_size": 12, "train.k1": 16, "train.batch_size": 8,
            "train.steps_per_round": 2, "train.workers": 2, "train.max_rounds": 6,
            "train.validate_every": 3, "train.checkpoint_every": 2, "train.runner": "inline",
            "spark.master": "local[2]"}
    base.update(over)
    return config.load([], base)
