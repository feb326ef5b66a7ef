"""The five sections of a run's configuration (``[data]``, ``[model]``, ``[optim]``, ``[train]``,
``[spark]``): one dataclass each, every key with its default, one help line and its allowed values.
:mod:`rnn_spark.config` puts them together (``Config``), loads and checks them; import them from
there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnn_spark.spark_master import DEFAULT_MASTER


def opt(default: Any, help: str, choices: tuple | None = None, bool_words: bool = False, **kw):
    """A config field with its one-line help (and allowed values, checked on load).

    ``bool_words``: a string choice that also accepts booleans (true = "yes", false = "no"), so
    configurations written when the key was a boolean keep working."""
    meta = {"help": help, "choices": choices, "bool_words": bool_words}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda d=default: type(d)(d), metadata=meta, **kw)
    return field(default=default, metadata=meta, **kw)


@dataclass
class DataConfig:
    path: str = opt("", "dataset directory written by `rnn-spark ingest` (local path, file:// or hdfs://)")
    train_split: str = opt("train", "split to train on")
    val_split: str = opt("val", "split to validate on (\"\" = no validation; the default \"val\" is "
                         "skipped with a note when the dataset has no such split)")
    bucket: bool = opt(False, "group rows of similar length into the same minibatch (less padding)")


@dataclass
class ModelSection:
    cell: str = opt("lstm", "recurrent cell", ("rnn_tanh", "rnn_relu", "rnn", "lstm", "gru"))
    hidden_sizes: list = opt([128], "hidden size of each stacked layer, bottom first")
    embedding_size: int = opt(64, "token embedding size (token datasets only)")
    field_embedding_sizes: list = opt([], "embedding size of each categorical field of a mixed "
                                      "table dataset, in --categorical order; [] = per field "
                                      "min(50, ceil(1.6 * ids^0.56))")
    forget_bias: float = opt(0.0, "initial LSTM forget-gate bias")
    dtype: str = opt("float32", "parameter and activation dtype", ("float32", "float64"))
    bidirectional: bool = opt(False, "each layer also reads every sequence backwards and outputs "
                              "[forward, backward] (last-step targets: classify, regress; needs whole "
                              "sequences: k1 >= the longest, k2 = 0)")
    dropout: float = opt(0.0, "dropout probability on each layer's output: between stacked "
                         "layers and before the head (training only)")
    embedding_dropout: float = opt(0.0, "probability of dropping a token type from a sequence for "
                                   "a TBPTT window: its embedding reads zero (token datasets)")
    recurrent_dropout: float = opt(0.0, "variational dropout on the recurrent state: one mask per "
                                   "sequence, layer and TBPTT window on h(t-1) in the recurrent "
                                   "product")


@dataclass
class OptimConfig:
    optimizer: str = opt("adam", "local optimizer run by each worker", ("sgd", "adam", "adamw", "rmsprop"))
    lr: float = opt(0.002, "base learning rate of the local optimizer")
    lr_scaling: str = opt("auto", "the local learning rate for W workers: lr (none), lr * sqrt(W) "
                          "(sqrt), lr * W (linear); auto = sqrt for the average averager, none for "
                          "bmuf and nesterov (their momentum already lengthens the step)",
                          ("auto", "none", "sqrt", "linear"))
    momentum: float = opt(0.0, "momentum (sgd, rmsprop)")
    nesterov: bool = opt(False, "Nesterov momentum (sgd)")
    beta1: float = opt(0.9, "Adam beta1")
    beta2: float = opt(0.999, "Adam beta2")
    eps: float = opt(1e-8, "Adam / RMSProp epsilon")
    alpha: float = opt(0.99, "RMSProp smoothing constant")
    weight_decay: float = opt(0.0, "weight decay: L2 for sgd/adam/rmsprop, decoupled for adamw")
    clip_norm: float = opt(1.0, "clip gradients to this global norm before each update (0 = off)")
    schedule: str = opt("constant", "learning-rate schedule", ("constant", "step", "cosine"))
    warmup_steps: int = opt(0, "linear warm-up length in local minibatch steps")
    step_size: int = opt(1000, "step schedule: decay every this many local minibatch steps")
    gamma: float = opt(0.5, "step schedule: decay factor")
    min_lr: float = opt(0.0, "cosine schedule: final learning rate")
    total_steps: int = opt(0, "cosine schedule: length in local minibatch steps (0 = the planned run)")


@dataclass
class TrainConfig:
    run_dir: str = opt("runs/default", "run directory: config, metrics, checkpoints, final model")
    epochs: int = opt(1, "passes over the training split")
    max_rounds: int = opt(0, "stop after this many rounds in total (0 = no limit)")
    batch_size: int = opt(32, "sequences per minibatch on each worker")
    k1: int = opt(50, "TBPTT window: time steps per optimizer update")
    k2: int = opt(0, "TBPTT gradient horizon in steps, <= k1 (0 = k1)")
    loss: str = opt("auto", "the training loss: cross_entropy (lm, classify), mse, mae or huber "
                    "(regress); auto = the task's: cross_entropy or mse",
                    ("auto", "cross_entropy", "mse", "mae", "huber"))
    class_weights: str = opt("none", "classify: each class's weight in the cross-entropy (a "
                             "weighted mean, as PyTorch's): none, auto (n / (classes x n_c) from the "
                             "training split's label counts) or one weight >= 0 per class, "
                             "\"w0,w1,...\"")
    label_smoothing: float = opt(0.0, "lm, classify: label smoothing in [0, 1) (PyTorch's "
                                 "CrossEntropyLoss label_smoothing)")
    huber_delta: float = opt(1.0, "loss = huber: the error at which the loss turns from quadratic "
                             "to linear (PyTorch's HuberLoss delta)")
    workers: int = opt(2, "W: parallel workers (Spark tasks) per round")
    steps_per_round: int = opt(4, "H: minibatches each worker trains on per round")
    averager: str = opt("bmuf", "how the driver merges worker deltas", ("average", "bmuf", "nesterov"))
    block_momentum: float = opt(-1.0, "bmuf: block momentum eta (-1 = min(1 - 1/workers, 0.5))")
    block_lr: float = opt(1.0, "bmuf: block learning rate zeta")
    outer_lr: float = opt(0.7, "nesterov averager: outer learning rate")
    outer_momentum: float = opt(0.9, "nesterov averager: outer momentum")
    average_optimizer_state: bool = opt(True, "average the workers' optimizer state too (else reset each round)")
    seed: int = opt(0, "seed of initialisation, data order and every worker's randomness")
    checkpoint_every: int = opt(20, "rounds between checkpoints (0 = only at the end)")
    keep_checkpoints: int = opt(3, "newest checkpoints kept")
    validate_every: int = opt(20, "rounds between validations (0 = only at the end)")
    resume: str = opt("no", "continue from the newest intact checkpoint in run_dir: no, yes (say so "
                      "and start fresh when there is none), auto (quietly start fresh when there is none)",
                      ("no", "yes", "auto"), bool_words=True)
    runner: str = opt("spark", "where a round's tasks run", ("spark", "inline"))
    reduce: str = opt("auto", "where a round's results are summed (same bits either way): driver (every "
                      "task's weights go to the driver), tree (a fixed pairwise tree on the executors; "
                      "the driver gets one sum), auto (tree on Spark when workers >= 4 and workers x "
                      "parameters >= 16M)",
                      ("auto", "driver", "tree"))
    on_nonfinite: str = opt("stop", "a worker's loss or weights turn NaN/Inf: stop with an error (the "
                            "last checkpoint stays intact) or skip_worker (drop its result, warn)",
                            ("stop", "skip_worker"))
    verify_data: bool = opt(False, "workers check each shard's sha256 against the manifest (reads "
                                   "every shard whole once; the size is always checked)")
    early_stop_patience: int = opt(0, "stop after this many validations in a row without an "
                                   "improvement of at least early_stop_min_delta (0 = never stop early)")
    early_stop_min_delta: float = opt(0.0, "the smallest drop of the validation loss that counts "
                                      "as an improvement")
    stop_at_val_loss: float = opt(0.0, "stop as soon as a validation loss is at or below this "
                                  "target (0 = off)")
    export: str = opt("best", "the weights written to RUN/model: best (lowest validation loss; the "
                      "last round's when no validation ran) or last", ("best", "last"))
    metrics_flush_seconds: float = opt(30.0, "on HDFS, rewrite RUN/metrics.jsonl at least this "
                                       "often (local files: at most once a second)")
    progress_seconds: float = opt(30.0, "not on a terminal: seconds between progress lines (on a "
                                  "terminal one live line is redrawn)")
    tensorboard_dir: str = opt("", "write TensorBoard event files here (needs rnn-spark[tensorboard]; "
                               "\"\" = off)")
    mlflow: bool = opt(False, "log params, per-round metrics and the model to MLflow (needs "
                       "rnn-spark[mlflow])")
    mlflow_uri: str = opt("mlruns", "MLflow tracking URI (default: a local mlruns/ file store)")
    mlflow_experiment: str = opt("rnn-spark", "MLflow experiment name")


LOG_LEVELS = ("", "ALL", "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "OFF")


@dataclass
class SparkConfig:
    master: str = opt(DEFAULT_MASTER, "Spark master: local[N] (N task slots; local[*]: one per core), "
                      "yarn, spark://host:port (spark-submit's wins)")
    app_name: str = opt("rnn-spark", "Spark application name")
    task_cpus: int = opt(1, "cores per task; also the BLAS threads of each worker")
    conf: dict = opt({}, "extra Spark settings, e.g. {\"spark.executor.memory\" = \"4g\"}")
    resident: str = opt("auto", "training rounds run on long-lived tasks fed over a socket (auto; a "
                        "job per round after any trouble) or as one Spark job each (off)",
                        ("auto", "off"))
    log_level: str = opt("", "Spark's own log level (\"\" = quiet: conf/log4j2.properties, warnings "
                         "and errors only, start-up noise hidden)", LOG_LEVELS)


SECTIONS = {
    "data": DataConfig,
    "model": ModelSection,
    "optim": OptimConfig,
    "train": TrainConfig,
    "spark": SparkConfig,
}
