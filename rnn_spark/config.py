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

from rnn_spark.config_sections import (  # noqa: F401  (the sections are this module's API)
    LOG_LEVELS, SECTIONS, DataConfig, ModelSection, OptimConfig, SparkConfig, TrainConfig, opt)
from rnn_spark.errors import ConfigError

for _section in SECTIONS.values():  # documented and imported as rnn_spark.config's
    _section.__module__ = __name__

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


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
            ("model.field_embedding_sizes", all(int(e) >= 1 for e in m.field_embedding_sizes),
             "a list of positive sizes, one per categorical field (or [] for the rule)"),
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
