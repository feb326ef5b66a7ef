"""Typed configuration of a training run.

Precedence: dataclass defaults < ``conf/*.toml`` files (in the order given) < CLI flags / overrides;
`train --resume` puts the run's own config.toml between the defaults and the files.
Every key has one help line (field metadata); ``conf/defaults.toml`` is generated from them
(`rnn-spark config --defaults`) and a test keeps the two in sync. The resolved configuration is saved
as ``RUN/config.toml`` and in every checkpoint, so a run can be reproduced from its checkpoint alone.

Python API, CLI flags and config keys share names: ``[optim] lr`` is ``--lr`` and ``optim.lr``.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from dataclasses import dataclass, field, fields
from typing import Any

from rnn_spark.errors import ConfigError
from rnn_spark.spark_master import DEFAULT_MASTER

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


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
    forget_bias: float = opt(0.0, "initial LSTM forget-gate bias")
    dtype: str = opt("float32", "parameter and activation dtype", ("float32", "float64"))
    bidirectional: bool = opt(False, "each layer also reads every sequence backwards and outputs "
                              "[forward, backward] (classify and regress; needs whole sequences: "
                              "k1 >= the longest, k2 = 0)")
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


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelSection = field(default_factory=ModelSection)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    spark: SparkConfig = field(default_factory=SparkConfig)

    # -- access -------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {name: dataclasses.asdict(getattr(self, name)) for name in SECTIONS}

    @classmethod
    def from_dict(cls, d: dict, source: str = "config") -> "Config":
        cfg = cls()
        cfg.update(d, source)
        return cfg

    def update(self, d: dict, source: str = "config") -> None:
        """Apply a parsed TOML document (``[section]`` tables of keys)."""
        for section, values in d.items():
            if section not in SECTIONS and not isinstance(values, dict):
                owners = _owners(section)
                where = f"{source}: {section} = {_shown(values)} is outside any section"
                if owners:
                    raise ConfigError(f"{where}; {_lives_in(section, owners)}")
                raise ConfigError(f"{where} and no section has a key {section}; keys go under "
                                  + ", ".join(f"[{s}]" for s in SECTIONS))
            if section not in SECTIONS:
                raise ConfigError(f"{source}: unknown section [{section}]; valid: {', '.join(SECTIONS)}")
            if not isinstance(values, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            for key, value in values.items():
                self.set(f"{section}.{key}", value, source, toml=True)

    def set(self, dotted: str, value: Any, source: str = "override", toml: bool = False) -> None:
        """Set one key; ``toml``: the value comes from a TOML file (its error hints say TOML)."""
        section, key = _split_key(dotted, source)
        obj = getattr(self, section)
        f = {f.name: f for f in fields(obj)}.get(key)
        if f is None:
            owners = _owners(key)
            raise ConfigError(f"{source}: unknown key {section}.{key}; " + (
                _lives_in(key, owners) if owners else
                "valid: " + ", ".join(x.name for x in fields(obj))))
        setattr(obj, key, _coerce(f, value, f"{source}: {key_name(section + '.' + key)}", toml))

    def validate(self) -> "Config":
        """Check every value that can be checked without the data; errors name the key and flag."""
        t, m, o = self.train, self.model, self.optim
        for section in SECTIONS:
            for f in fields(SECTIONS[section]):
                value = getattr(getattr(self, section), f.name)
                if isinstance(value, float) and not math.isfinite(value):
                    raise ConfigError(f"{key_name(section + '.' + f.name)} must be a finite number, "
                                      f"got {value}")
        checks = [
            ("train.epochs", t.epochs >= 1, ">= 1"),
            ("train.batch_size", t.batch_size >= 1, ">= 1"),
            ("train.k1", t.k1 >= 1, ">= 1"),
            ("train.k2", 0 <= t.k2 <= t.k1, f"between 0 and k1={t.k1} (0 = k1)"),
            ("train.workers", t.workers >= 1, ">= 1"),
            ("train.steps_per_round", t.steps_per_round >= 1, ">= 1"),
            ("train.max_rounds", t.max_rounds >= 0, ">= 0 (0 = no limit)"),
            ("train.keep_checkpoints", t.keep_checkpoints >= 1, ">= 1"),
            ("train.checkpoint_every", t.checkpoint_every >= 0, ">= 0 (0 = only at the end)"),
            ("train.validate_every", t.validate_every >= 0, ">= 0 (0 = only at the end)"),
            ("train.seed", t.seed >= 0, ">= 0"),
            ("train.block_momentum", t.block_momentum == -1 or 0 <= t.block_momentum < 1,
             "in [0, 1), or -1 for min(1 - 1/workers, 0.5)"),
            ("train.block_lr", t.block_lr > 0, "> 0"),
            ("train.outer_lr", t.outer_lr > 0, "> 0"),
            ("train.outer_momentum", 0 <= t.outer_momentum < 1, "in [0, 1)"),
            ("model.hidden_sizes", len(m.hidden_sizes) >= 1 and all(int(h) >= 1 for h in m.hidden_sizes),
             "a non-empty list of positive sizes, e.g. 128,128"),
            ("model.embedding_size", m.embedding_size >= 1, ">= 1"),
            ("model.dropout", 0 <= m.dropout < 1, "a probability in [0, 1)"),
            ("model.embedding_dropout", 0 <= m.embedding_dropout < 1, "a probability in [0, 1)"),
            ("model.recurrent_dropout", 0 <= m.recurrent_dropout < 1, "a probability in [0, 1)"),
            ("optim.lr", o.lr > 0, "> 0"),
            ("optim.momentum", 0 <= o.momentum < 1, "in [0, 1)"),
            ("optim.beta1", 0 <= o.beta1 < 1, "in [0, 1)"),
            ("optim.beta2", 0 <= o.beta2 < 1, "in [0, 1)"),
            ("optim.eps", o.eps >= 0, ">= 0"),
            ("optim.alpha", 0 <= o.alpha <= 1, "in [0, 1]"),
            ("optim.weight_decay", o.weight_decay >= 0, ">= 0"),
            ("optim.clip_norm", o.clip_norm >= 0, ">= 0 (0 = off)"),
            ("optim.warmup_steps", o.warmup_steps >= 0, ">= 0"),
            ("optim.step_size", o.step_size >= 1, ">= 1"),
            ("optim.gamma", o.gamma > 0, "> 0"),
            ("optim.min_lr", 0 <= o.min_lr <= o.lr, f"between 0 and optim.lr={o.lr}"),
            ("optim.total_steps", o.total_steps >= 0, ">= 0 (0 = the planned run)"),
            ("spark.task_cpus", self.spark.task_cpus >= 1, ">= 1"),
            ("train.early_stop_patience", t.early_stop_patience >= 0, ">= 0 (0 = off)"),
            ("train.early_stop_min_delta", t.early_stop_min_delta >= 0, ">= 0"),
            ("train.stop_at_val_loss", t.stop_at_val_loss >= 0, ">= 0 (0 = off)"),
            ("train.metrics_flush_seconds", t.metrics_flush_seconds > 0, "> 0"),
            ("train.progress_seconds", t.progress_seconds > 0, "> 0"),
            ("train.label_smoothing", 0 <= t.label_smoothing < 1, "in [0, 1)"),
            ("train.huber_delta", t.huber_delta > 0, "> 0"),
        ]
        for key, ok, what in checks:
            if not ok:
                section, name = key.split(".")
                value = getattr(getattr(self, section), name)
                raise ConfigError(f"{key_name(key)} must be {what}, got {_show(value)}")
        if not _SPARK_MASTER.match(self.spark.master):
            raise ConfigError(f"{key_name('spark.master')} {self.spark.master!r} is not a Spark "
                              f"master; use local[N], local[N,F], local[*], yarn, spark://HOST:PORT "
                              f"or k8s://URL")
        parse_class_weights(t.class_weights)
        if m.bidirectional and 0 < t.k2 < t.k1:
            raise ConfigError(f"{key_name('model.bidirectional')} needs the whole sequence's "
                              f"backward pass: {key_name('train.k2')} = {t.k2} would cut it; "
                              f"leave --k2 at 0 (= k1)")
        if o.nesterov and o.optimizer == "sgd" and o.momentum <= 0:
            raise ConfigError(f"{key_name('optim.nesterov')} needs {key_name('optim.momentum')} > 0")
        return self

    def to_toml(self) -> str:
        return dumps_toml(self.to_dict())


def parse_class_weights(text: str) -> str | tuple[float, ...] | None:
    """train.class_weights read: None (none), "auto", or one weight per class (a TOML list
    arrives as its text, "[1.0, 10.0]", and is read the same)."""
    s = str(text).strip().strip("[]").strip()
    if s.lower() in ("none", ""):
        return None
    if s.lower() == "auto":
        return "auto"
    where = f"{key_name('train.class_weights')} {str(text)!r}"
    try:
        w = tuple(float(p) for p in s.split(","))
    except ValueError:
        raise ConfigError(f"{where}: expected none, auto or one weight per class like "
                          f"\"1,10\"") from None
    bad = [x for x in w if not (math.isfinite(x) and x >= 0)]
    if bad:
        raise ConfigError(f"{where}: weight {bad[0]:g} is not a finite number >= 0; give one "
                          f"weight >= 0 per class")
    if len(w) < 2 or not any(w):
        raise ConfigError(f"{where}: give one weight per class (at least 2, not all 0), or auto")
    return w


_SPARK_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|yarn|(spark|k8s|mesos)://\S+)$")
FLAG_ALIASES = {"data.path": "data",  # data.path reads better as --data
                "spark.log_level": "spark_log_level"}


def flag_name(dotted: str) -> str:
    """The CLI flag of a config key: optim.lr -> --lr, data.path -> --data."""
    return "--" + FLAG_ALIASES.get(dotted, dotted.split(".", 1)[-1]).replace("_", "-")


def key_name(dotted: str) -> str:
    """How messages name a key: both spellings a user may have typed, e.g. 'optim.lr (--lr)'."""
    return f"{dotted} ({flag_name(dotted)})"


def _show(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, str) else str(value)


def _shown(value: Any) -> str:
    """A TOML value as it was written (near enough) for a message."""
    try:
        return _toml_value(value)
    except TypeError:  # dates and times
        return str(value)


def _owners(key: str) -> list[str]:
    """The sections that have a key named ``key``."""
    return [s for s, c in SECTIONS.items() if key in {f.name for f in fields(c)}]


def _lives_in(key: str, owners: list[str]) -> str:
    if len(owners) == 1:
        return f"{key} is a key of [{owners[0]}]: write it under [{owners[0]}]"
    return (f"{key} is a key of " + " and ".join(f"[{s}]" for s in owners)
            + ": write it under the one you mean")


def _split_key(dotted: str, source: str) -> tuple[str, str]:
    if "." in dotted:
        section, key = dotted.split(".", 1)
        if section not in SECTIONS:
            raise ConfigError(f"{source}: unknown section in {dotted!r}; valid: {', '.join(SECTIONS)}")
        return section, key
    owners = _owners(dotted)
    if len(owners) != 1:
        raise ConfigError(f"{source}: unknown key {dotted!r}; write it as section.key "
                          f"(sections: {', '.join(SECTIONS)})")
    return owners[0], dotted


def _coerce(f: dataclasses.Field, value: Any, where: str, toml: bool = False) -> Any:
    kind = type(f.default) if f.default is not dataclasses.MISSING else type(f.default_factory())
    given = value
    if f.metadata.get("bool_words"):
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
            value = "yes" if value.strip().lower() in ("true", "1") else "no"
    try:
        if kind is bool:
            if isinstance(value, str):
                low = value.strip().lower()
                if low not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(value)
                value = low in ("true", "1", "yes")
            elif not isinstance(value, bool):
                raise ValueError(value)
        elif kind is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            value = int(value)
        elif kind is float:
            if isinstance(value, bool):
                raise ValueError(value)
            value = float(value)
        elif kind is list:
            if isinstance(value, str):
                value = value.replace(" ", "").split(",")
            if isinstance(value, (str, bytes, dict)) or any(isinstance(v, (bool, float)) for v in value):
                raise ValueError(value)
            value = [int(v) for v in value]  # "16,,16" -> int("") fails: refused, not dropped
        elif kind is dict:
            if not isinstance(value, dict):
                raise ValueError(value)
            value = {str(k): str(v) for k, v in value.items()}
        else:
            value = str(value)
    except (TypeError, ValueError):
        what = kind.__name__
        if kind is list:
            what = ("a TOML list of integers like [128] or [128, 128]" if toml else
                    "comma-separated integers like 128,128")
        raise ConfigError(f"{where}: expected {what}, got {given!r}") from None
    choices = f.metadata.get("choices")
    if choices and value not in choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(choices)}")
    return value


def load(files: list[str] = (), overrides: dict[str, Any] | None = None,
         base: dict | None = None, base_source: str = "base", validate: bool = True) -> Config:
    """defaults < ``base`` (a resumed run's own config.toml, read by training/runconfig.py) < each
    TOML file in order < overrides ({"section.key" or "key": value})."""
    from rnn_spark import fs

    cfg = Config()
    if base:
        cfg.update(base, source=base_source)
    for path in files:
        try:
            text = fs.read_text(path)
        except fs.FsError:
            raise
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        cfg.update(data, source=path)
    for key, value in (overrides or {}).items():
        cfg.set(key, value, source="command line")
    return cfg.validate() if validate else cfg


# -- a tiny TOML writer (scalars, flat lists, one level of tables) --------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_toml_value(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def dumps_toml(d: dict, comments: bool = False) -> str:
    out = []
    for section, values in d.items():
        out.append(f"[{section}]")
        helps = {f.name: f.metadata.get("help", "") for f in fields(SECTIONS[section])} if comments else {}
        for key, value in values.items():
            if comments and helps.get(key):
                out.append(f"# {helps[key]}")
            out.append(f"{key} = {_toml_value(value)}")
        out.append("")
    return "\n".join(out)


def defaults_toml() -> str:
    head = ("# rnn-spark: every configuration key with its default and one line of help.\n"
            "# Generated by `rnn-spark config --defaults`; precedence: defaults < --config files < flags.\n\n")
    return head + dumps_toml(Config().to_dict(), comments=True)
