"""``ingest table``: the options (:class:`TableSpec`), checked before anything is read, and the
column checks made against the source's schema before any data is.

Two shapes of input:

* event rows (``--group-by`` + ``--order-by``): each group's rows, ordered, cut into sessions
  (``--session-gap``) and windows (``--max-len``/``--stride``); each step holds the
  ``--categorical`` and ``--numeric`` columns of one row;
* one sequence per row (``--sequence COL``): an ``array<int>`` of token ids, an ``array<double>``
  (one value per step) or an ``array<array<double>>`` (a vector per step) -- what the
  ``rnn_spark.ml`` Estimators hand over.

What is learned: ``--label COL`` (per sequence, ``--label-from``), ``--next COL`` (the next step's
value of an input column, at every step) or ``--horizon H`` (the ``--target`` columns of the H
rows after the sequence).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import pyarrow as pa

from rnn_spark.errors import ConfigError, DataError

LABEL_FROM = ("last", "first", "max", "constant")
SPLIT_BY = ("group", "time")
FORMATS = ("parquet", "orc", "csv", "json")

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(us|ms|s|m|min|h|d|w)?\s*")
_UNIT_US = {"us": 1, "ms": 1e3, "s": 1e6, "m": 60e6, "min": 60e6, "h": 3600e6, "d": 86400e6,
            "w": 7 * 86400e6}


@dataclass(frozen=True)
class TableSpec:
    """What ``ingest table`` makes of the rows (options named as the CLI's flags)."""

    group_by: tuple[str, ...] = ()
    order_by: str | None = None
    session_gap: str | None = None
    max_len: int | None = None
    stride: int | None = None
    min_len: int = 1
    categorical: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    sequence: str | None = None
    min_freq: int = 1
    max_vocab: int | None = None
    vocab_size: int | None = None
    label: str | None = None
    label_from: str = "last"
    task: str = "classify"
    num_classes: int | None = None
    next: str | None = None
    horizon: int = 0
    target: tuple[str, ...] = ()
    split_by: str = "group"
    split_at: str | None = None
    val_fraction: float = 0.1
    normalize: bool = True
    seed: int = 0

    def __post_init__(self):
        for name in ("group_by", "categorical", "numeric", "target"):
            value = getattr(self, name)
            object.__setattr__(self, name, tuple(value or ()))

    # -- derived -------------------------------------------------------------------------------
    @property
    def events(self) -> bool:
        """Event rows (grouped and ordered), not one sequence per row."""
        return self.sequence is None

    @property
    def learn(self) -> str:
        return "label" if self.label else "next" if self.next else "horizon"

    @property
    def targets(self) -> tuple[str, ...]:
        """The forecast's target columns (--horizon): --target, else the --numeric columns."""
        return self.target or self.numeric

    @property
    def need(self) -> int:
        """Rows after a window its targets come from."""
        return self.horizon if self.learn == "horizon" else 1 if self.learn == "next" else 0

    def columns(self) -> list[str]:
        """Every source column the ingest reads, each once, in a fixed order."""
        cols = [*self.group_by, self.order_by, self.sequence, *self.categorical, *self.numeric,
                self.label, *(self.targets if self.learn == "horizon" else ())]
        return list(dict.fromkeys(c for c in cols if c))

    def options(self) -> dict:
        """The options as the manifest records them."""
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    # -- checks ----------------------------------------------------------------------------
    def check(self) -> "TableSpec":
        """Every check that needs no data; one-line ConfigError naming the flag."""
        say = _fail
        if self.sequence:
            for flag, v in (("--group-by", self.group_by), ("--order-by", self.order_by),
                            ("--session-gap", self.session_gap),
                            ("--categorical", self.categorical), ("--numeric", self.numeric)):
                if v:
                    say(f"{flag}: not with --sequence (a row holds the whole sequence); give "
                        "--sequence alone or the event-row options alone")
        else:
            if not self.group_by:
                say("--group-by: needed to make sequences of event rows (e.g. --group-by "
                    "user_id), or pass --sequence COL when each row already holds one")
            if not self.order_by:
                say("--order-by: needed to order each group's rows (e.g. --order-by ts)")
            if not (self.categorical or self.numeric):
                say("no input column: pass --categorical COL,... and/or --numeric COL,...")
            both = set(self.categorical) & set(self.numeric)
            if both:
                say(f"--categorical and --numeric both name {sorted(both)[0]!r}; give it once")
            for col in self.group_by:
                if col in self.categorical or col in self.numeric:
                    say(f"--group-by {col}: a group key is the same on every step; leave it out "
                        "of --categorical/--numeric")
        learned = [f for f, v in (("--label", self.label), ("--next", self.next),
                                  ("--horizon", self.horizon)) if v]
        if len(learned) != 1:
            say("say what is learned with one of --label COL, --next COL or --horizon N"
                if not learned else f"{' and '.join(learned)}: give only one of them")
        if self.label_from not in LABEL_FROM:
            say(f"--label-from: {self.label_from!r} is not one of {', '.join(LABEL_FROM)}")
        if self.task not in ("classify", "regress"):
            say(f"--task: {self.task!r} is not one of classify, regress")
        if self.split_by not in SPLIT_BY:
            say(f"--split-by: {self.split_by!r} is not one of {', '.join(SPLIT_BY)}")
        if self.split_by == "time" and not self.order_by:
            say("--split-by time: needs --order-by (the time to cut at); use --split-by group")
        if self.split_at is not None and self.split_by != "time":
            say("--split-at: only with --split-by time")
        if not 0 <= self.val_fraction < 1:
            say(f"--val-fraction: {self.val_fraction} must be in [0, 1)")
        for flag, v, low in (("--max-len", self.max_len, 1), ("--stride", self.stride, 1),
                             ("--min-len", self.min_len, 1), ("--min-freq", self.min_freq, 1),
                             ("--max-vocab", self.max_vocab, 2),
                             ("--vocab-size", self.vocab_size, 1),
                             ("--num-classes", self.num_classes, 2), ("--horizon", self.horizon, 0),
                             ("--seed", self.seed, 0)):
            if v is not None and v < low:
                say(f"{flag}: {v} must be >= {low}")
        if self.stride and not self.max_len:
            say("--stride: only with --max-len (windows of at most --max-len steps)")
        if self.max_len and self.min_len > self.max_len:
            say(f"--min-len {self.min_len} is longer than --max-len {self.max_len}")
        if self.next and self.events and self.next not in self.categorical + self.numeric:
            say(f"--next {self.next}: not an input column; add it to --categorical or --numeric "
                "(the next step's value is predicted from the steps so far)")
        if self.next and self.sequence and self.next != self.sequence:
            say(f"--next {self.next}: with --sequence, --next names the sequence column itself")
        if self.learn == "horizon" and not self.targets:
            say("--horizon: needs numeric targets: --target COL,... or --numeric COL,...")
        if self.learn == "horizon" and self.sequence:
            say("--horizon: not with --sequence; use --label for a per-row target")
        if self.target and self.learn != "horizon":
            say("--target: only with --horizon (the columns to forecast)")
        if self.label and self.label in self.group_by:
            say(f"--label {self.label}: is a group key; choose the column to learn")
        if self.session_gap is not None and not _DURATION.fullmatch(str(self.session_gap)):
            parse_gap(self.session_gap, "number")  # its form (the unit: with the column)
        return self


def _fail(msg: str):
    raise ConfigError(msg)


def parse_gap(text: str, order_type: str) -> float:
    """--session-gap in the order column's units: microseconds for a date/time column (``30m``,
    ``2h``, ``1d``, ``90s``, ``500ms``); for a numeric column, a plain number."""
    m = _DURATION.fullmatch(str(text))
    if not m or float(m.group(1)) <= 0:
        raise ConfigError(f"--session-gap: {text!r} is not a duration like 30m, 2h, 1d, 90s "
                          "(or a positive number for a numeric --order-by column)")
    if order_type in ("time", "date"):
        if m.group(2) is None:
            raise ConfigError(f"--session-gap: {text!r} needs a unit for a date/time column: "
                              "us, ms, s, m, h, d, w (e.g. 30m)")
        return float(m.group(1)) * _UNIT_US[m.group(2)]
    if m.group(2) is not None:
        raise ConfigError(f"--session-gap: {text!r} has a unit, but the --order-by column is a "
                          "number: give a plain number in its units")
    return float(m.group(1))


# -- column types ---------------------------------------------------------------------------------
def type_name(t: pa.DataType) -> str:
    """An Arrow type as the checks see it: string, int, float, bool, time, date, array<int>,
    array<float>, array<array<float>>, or its own name."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "string"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return "float"
    if pa.types.is_timestamp(t):
        return "time"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = type_name(t.value_type)
        if inner in ("int", "float", "array<float>", "array<int>"):
            if inner.startswith("array"):
                return "array<array<float>>"
            return f"array<{inner}>"
    return str(t)


def _no_column(where: str, flag: str, name: str, have) -> DataError:
    close = difflib.get_close_matches(name, list(have), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return DataError(f"{where}: no column {name!r} ({flag}); {hint}columns: "
                     f"{', '.join(have)}")


ROLE_TYPES = {
    "group": ("string", "int", "bool", "date", "time"),
    "order": ("int", "float", "time", "date", "string"),
    "categorical": ("string", "int", "bool"),
    "numeric": ("int", "float", "bool", "string"),
    "sequence": ("array<int>", "array<float>", "array<array<float>>"),
    "label classify": ("string", "int", "bool", "float"),
    "label regress": ("int", "float", "string"),
}
_ROLE_WORDS = {
    "group": "a group key must be a string, integer, boolean, date or time column",
    "order": "the order column must hold numbers, dates or times",
    "categorical": "a categorical column must hold strings, integers or booleans",
    "numeric": "a numeric column must hold numbers",
    "sequence": "the sequence column must be an array<int> of token ids, an array<double> or an "
                "array<array<double>>",
    "label classify": "a class label must be a string, integer or boolean",
    "label regress": "a regression target must be a number",
}


def check_columns(spec: TableSpec, types: dict, where: str) -> dict[str, str]:
    """Every column the options name exists (``types``: column -> type name, as
    :func:`type_name` says) with a type its role takes; -> the types of the columns read.
    One-line DataError naming the flag, the column, and the columns there are."""
    roles = [("--group-by", c, "group") for c in spec.group_by]
    roles += [("--order-by", spec.order_by, "order"), ("--sequence", spec.sequence, "sequence")]
    roles += [("--categorical", c, "categorical") for c in spec.categorical]
    roles += [("--numeric", c, "numeric") for c in spec.numeric]
    roles += [("--label", spec.label, f"label {spec.task}")]
    if spec.learn == "horizon":
        roles += [("--target", c, "numeric") for c in spec.targets]
    for flag, col, role in roles:
        if not col:
            continue
        if col not in types:
            raise _no_column(where, flag, col, types)
        if types[col] not in ROLE_TYPES[role]:
            raise DataError(f"{where}: column {col!r} ({flag}) is {types[col]}; "
                            f"{_ROLE_WORDS[role]}")
    return {c: types[c] for c in spec.columns()}
