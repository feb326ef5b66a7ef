"""ModelConfig: what network to build (cell, input kind, layer sizes, directions, head, task,
dtype, dropout)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
CELL_ALIASES = {"rnn": "rnn_tanh", "elman": "rnn_tanh"}
TASKS = ("lm", "classify", "regress")
HEAD_AT = ("every", "last")
DTYPES = ("float32", "float64")


class ModelConfigError(ConfigError, ValueError):
    """An invalid ModelConfig value (a ValueError for Python callers, a one-line user error for the CLI)."""


def _fail(key: str, msg: str) -> None:
    raise ModelConfigError(f"model config: {key} {msg}")


def _rate(key: str, v: Any) -> float:
    """A dropout probability: a number in [0, 1)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= float(v) < 1:
        _fail(key, f"must be a dropout probability in [0, 1), got {v!r}")
    return float(v)


def _pos_int(key: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
        _fail(key, f"must be a positive integer, got {v!r}")
    return int(v)


@dataclass
class ModelConfig:
    """The network: [embedding | dense input] -> stacked cells -> linear head.

    Token input: set ``vocab_size`` and ``embedding_size``. Dense input: set ``input_size``.
    ``output_size`` is the vocabulary size (lm), the number of classes (classify) or the number of
    regressed values per step (regress). ``head_at`` defaults to "every" for lm and regress and to
    "last" for classify; the last-step head reads the top layer at each row's last unmasked step.
    ``forget_bias`` is added to the forget-gate slice of ``rnn.bias_hh_l{k}`` (LSTM only) at init.

    ``bidirectional``: every layer also runs a reverse-direction cell over each row's valid steps
    in reverse order (``rnn.*_l{k}_reverse``, as torch's ``bidirectional=True``); a layer's output
    is ``[forward, reverse]`` (width 2H). The last-step head reads the forward half at the row's
    last valid step and the reverse half at step 0 (each direction's final state, torch's
    ``h_n``). Not for ``lm`` (it would see the future).

    Dropout (training only, inverted: nothing to rescale at inference; engine/dropout.py):
    ``dropout`` on each layer's output -- between stacked layers and before the head;
    ``embedding_dropout`` drops whole tokens of a row (token input only); ``recurrent_dropout``
    one mask per row and window on ``h_{t-1}`` where it enters ``W_hh`` (variational).
    """

    cell: str = "lstm"
    hidden_sizes: list[int] = field(default_factory=lambda: [128])
    output_size: int = 0
    task: str = "lm"
    vocab_size: int | None = None
    embedding_size: int | None = None
    input_size: int | None = None
    head_at: str | None = None
    dtype: str = "float32"
    forget_bias: float = 0.0
    bidirectional: bool = False
    dropout: float = 0.0
    embedding_dropout: float = 0.0
    recurrent_dropout: float = 0.0

    def __post_init__(self) -> None:
        cell = CELL_ALIASES.get(self.cell, self.cell)
        if cell not in CELLS:
            _fail("cell", f"must be one of {', '.join(CELLS)} (or 'rnn'), got {self.cell!r}")
        self.cell = cell
        if self.task not in TASKS:
            _fail("task", f"must be one of {', '.join(TASKS)}, got {self.task!r}")
        if self.dtype not in DTYPES:
            _fail("dtype", f"must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if isinstance(self.hidden_sizes, int) and not isinstance(self.hidden_sizes, bool):
            self.hidden_sizes = [self.hidden_sizes]
        if not isinstance(self.hidden_sizes, (list, tuple)) or not self.hidden_sizes:
            _fail("hidden_sizes", f"must be a non-empty list of positive integers, got {self.hidden_sizes!r}")
        self.hidden_sizes = [_pos_int("hidden_sizes", h) for h in self.hidden_sizes]
        self.output_size = _pos_int("output_size", self.output_size)
        token = self.vocab_size is not None or self.embedding_size is not None
        if token and self.input_size is not None:
            _fail("input_size", "must not be set together with vocab_size/embedding_size "
                  "(token input uses vocab_size + embedding_size, dense input uses input_size)")
        if token:
            if self.vocab_size is None or self.embedding_size is None:
                _fail("vocab_size", "and embedding_size must both be set for token input")
            self.vocab_size = _pos_int("vocab_size", self.vocab_size)
            self.embedding_size = _pos_int("embedding_size", self.embedding_size)
        elif self.input_size is None:
            _fail("input_size", "is missing: set vocab_size + embedding_size (token input) "
                  "or input_size (dense input)")
        else:
            self.input_size = _pos_int("input_size", self.input_size)
        if self.head_at is None:
            self.head_at = "last" if self.task == "classify" else "every"
        if self.head_at not in HEAD_AT:
            _fail("head_at", f"must be one of {', '.join(HEAD_AT)}, got {self.head_at!r}")
        if self.task == "lm" and self.head_at != "every":
            _fail("head_at", "must be 'every' for task 'lm'")
        if self.task == "lm" and self.vocab_size is not None and self.output_size != self.vocab_size:
            _fail("output_size", f"must equal vocab_size ({self.vocab_size}) for task 'lm', "
                  f"got {self.output_size}")
        try:
            self.forget_bias = float(self.forget_bias)
        except (TypeError, ValueError):
            _fail("forget_bias", f"must be a number, got {self.forget_bias!r}")
        if self.forget_bias != 0.0 and self.cell != "lstm":
            _fail("forget_bias", f"only applies to cell 'lstm', got cell {self.cell!r}")
        if not isinstance(self.bidirectional, bool):
            _fail("bidirectional", f"must be true or false, got {self.bidirectional!r}")
        if self.bidirectional and self.task == "lm":
            _fail("bidirectional", "cannot be used with task 'lm': a language model predicting "
                  "the next token would see it through the reverse direction")
        for key in ("dropout", "embedding_dropout", "recurrent_dropout"):
            setattr(self, key, _rate(key, getattr(self, key)))
        if self.embedding_dropout and not self.token_input:
            _fail("embedding_dropout", "only applies to token input (vocab_size + "
                  "embedding_size); use dropout for dense features")

    @property
    def token_input(self) -> bool:
        return self.vocab_size is not None

    @property
    def directions(self) -> int:
        """Cells per layer: 2 when bidirectional, else 1."""
        return 2 if self.bidirectional else 1

    @property
    def has_dropout(self) -> bool:
        """Any dropout on (training then needs a seed per TBPTT window)."""
        return bool(self.dropout or self.embedding_dropout or self.recurrent_dropout)

    @property
    def in_features(self) -> int:
        """Width of the first recurrent layer's input."""
        return int(self.embedding_size if self.token_input else self.input_size)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ModelConfigError(f"model config: unknown key(s) {', '.join(unknown)}; "
                                   f"known keys are {', '.join(sorted(known))}")
        return cls(**d)
