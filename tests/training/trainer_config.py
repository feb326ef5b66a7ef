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
