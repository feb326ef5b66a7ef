"""What one time step of a table dataset holds (``rnn-spark ingest table``): the typed step layout
a manifest records under ``"steps"``, and how a shard row's columns decode into it.

A step holds ``n_cat`` categorical fields -- each its own vocabulary: id 0 is ``<unk>`` (values
not in the vocabulary, or missing), id ``i`` is ``values[i - 1]``; or, for a sequence column of
token ids, the ids as they are (``values`` is None, ``size`` = largest id + 1) -- and ``n_num``
numeric fields (``stats.features`` of the manifest holds their normalisation). The kind of the
dataset follows from the layout:

* one categorical field, no numeric one -> kind ``tokens`` (``x``: ``list<int32>``, one id per step):
  the plain token dataset every model trains on;
* numeric fields only -> kind ``features`` (``x``: ``list<float32>``, ``n_num`` per step);
* anything else (several categorical fields, or categorical and numeric ones) -> kind ``mixed``,
  schema version 2: ``x`` holds ``n_cat`` ids per step and ``xn`` ``n_num`` floats per step, both
  step-major. A model needs one embedding per categorical field concatenated with the numeric
  features to read it; until the engine has that, ``train`` refuses such a dataset in one line.

``target`` says what is learned: a per-sequence ``label`` (``column``, ``how``: last, first, max,
constant; ``classes``: the class values of ids 0..K-1 when they are not the ids themselves),
``next`` (the next step's value of ``column``, one of the inputs: task lm for a categorical
field -- ``field`` is its index --, every-step regression for a numeric one) or a ``horizon``
of ``columns`` after the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from rnn_spark.errors import DataError

UNK = "<unk>"
TARGET_KINDS = ("label", "next", "horizon")


@dataclass(frozen=True)
class CategoricalField:
    """One categorical input of a step: ``column``, its vocabulary ``values`` (id i+1 -> values[i];
    id 0 = <unk>), or None when the column already holds ids; ``size``: number of ids."""

    column: str
    size: int
    values: tuple | None = None
    min_freq: int = 1

    def id_of(self, value) -> int:
        """The id of a raw value (0 = <unk> for values the vocabulary does not hold)."""
        if self.values is None:
            return int(value) if 0 <= int(value) < self.size else 0
        try:
            return self.values.index(value) + 1
        except ValueError:
            return 0

    def to_dict(self) -> dict:
        return {"column": self.column, "size": self.size,
                "values": None if self.values is None else list(self.values),
                "min_freq": self.min_freq}

    @classmethod
    def from_dict(cls, d: dict) -> "CategoricalField":
        values = d.get("values")
        return cls(str(d["column"]), int(d["size"]),
                   None if values is None else tuple(values), int(d.get("min_freq", 1)))


@dataclass(frozen=True)
class Target:
    """What is learned (see the module doc)."""

    kind: str                          # label | next | horizon
    columns: tuple[str, ...]           # label: (column,); next: (column,); horizon: targets
    how: str | None = None             # label: last | first | max | constant
    classes: tuple | None = None       # classify: class values of ids 0..K-1 (None: the ids)
    horizon: int = 0                   # horizon: steps after the sequence
    field: int | None = None           # next of a categorical field: its index in categorical

    def to_dict(self) -> dict:
        return {"kind": self.kind, "columns": list(self.columns), "how": self.how,
                "classes": None if self.classes is None else list(self.classes),
                "horizon": self.horizon, "field": self.field}

    @classmethod
    def from_dict(cls, d: dict) -> "Target":
        classes = d.get("classes")
        return cls(str(d["kind"]), tuple(d["columns"]), d.get("how"),
                   None if classes is None else tuple(classes), int(d.get("horizon", 0)),
                   d.get("field"))


@dataclass(frozen=True)
class StepLayout:
    """A table dataset's steps: categorical fields, numeric columns, and the target."""

    categorical: tuple[CategoricalField, ...] = ()
    numeric: tuple[str, ...] = ()
    target: Target | None = None
    extra: dict = field(default_factory=dict, compare=False)  # unknown keys, kept as read

    @property
    def n_cat(self) -> int:
        return len(self.categorical)

    @property
    def n_num(self) -> int:
        return len(self.numeric)

    @property
    def kind(self) -> str:
        """The dataset kind this layout makes: tokens, features or mixed."""
        if self.n_cat == 1 and self.n_num == 0:
            return "tokens"
        if self.n_cat == 0 and self.n_num >= 1:
            return "features"
        return "mixed"

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        return tuple(f.size for f in self.categorical)

    def to_dict(self) -> dict:
        return {"categorical": [f.to_dict() for f in self.categorical],
                "numeric": list(self.numeric),
                "target": None if self.target is None else self.target.to_dict(), **self.extra}

    @classmethod
    def from_dict(cls, d: dict | None) -> "StepLayout | None":
        if d is None:
            return None
        known = {"categorical", "numeric", "target"}
        target = d.get("target")
        return cls(tuple(CategoricalField.from_dict(f) for f in d.get("categorical") or ()),
                   tuple(str(c) for c in d.get("numeric") or ()),
                   None if target is None else Target.from_dict(target),
                   {k: v for k, v in d.items() if k not in known})


def validate_steps(d, kind: str, where: str) -> None:
    """A manifest's ``steps`` entry: well formed, and its kind the manifest's."""
    try:
        layout = StepLayout.from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise DataError(f"{where}: field 'steps' is malformed ({type(err).__name__}: {err}); "
                        "re-run the ingest") from None
    if layout.n_cat + layout.n_num == 0:
        raise DataError(f"{where}: field 'steps' lists no input column; re-run the ingest")
    if layout.kind != kind:
        raise DataError(f"{where}: field 'steps' describes a {layout.kind} dataset, field "
                        f"'kind' says {kind}; the manifest was edited, re-run the ingest")
    if layout.target is not None and layout.target.kind not in TARGET_KINDS:
        raise DataError(f"{where}: steps.target kind {layout.target.kind!r} is not one of "
                        f"{', '.join(TARGET_KINDS)}")


def steps_mismatch(model: dict | None, data: dict | None, name: str,
                   model_name: str = "the model") -> str | None:
    """What differs between two step layouts as manifests record them (categorical columns and
    vocabularies, numeric columns), or None when they agree or either side has none."""
    if not model or not data:
        return None
    a, b = StepLayout.from_dict(model), StepLayout.from_dict(data)
    ac, bc = [f.column for f in a.categorical], [f.column for f in b.categorical]
    if ac != bc or a.numeric != b.numeric:
        def cols(s: StepLayout) -> str:
            return ",".join([f.column for f in s.categorical] + list(s.numeric)) or "none"
        return (f"step columns differ: {model_name}'s are {cols(a)}, {name}'s are {cols(b)}")
    for fa, fb in zip(a.categorical, b.categorical):
        if fa.values == fb.values and fa.size == fb.size:
            continue
        va, vb = list(fa.values or ()), list(fb.values or ())
        for i in range(max(len(va), len(vb))):
            if i >= len(va) or i >= len(vb) or va[i] != vb[i]:
                x = repr(va[i]) if i < len(va) else "nothing"
                y = repr(vb[i]) if i < len(vb) else "nothing"
                return (f"vocabulary of column {fa.column!r} differs: id {i + 1} is {x} in "
                        f"{model_name}, {y} in {name}")
        return (f"vocabulary of column {fa.column!r} differs: {fa.size} ids in {model_name}, "
                f"{fb.size} in {name}")
    return None


def decode_mixed(table: pa.Table, layout: StepLayout) -> tuple[list, list]:
    """Rows of a mixed shard row group -> per row ``ids`` int32 [T, n_cat] and ``nums`` float32
    [T, n_num] (T = the row's ``length``)."""
    lens = table["length"].to_numpy().astype(np.int64)
    x = table["x"].combine_chunks()
    xv, xo = x.values.to_numpy(), x.offsets.to_numpy()
    has_num = "xn" in table.column_names
    if has_num:
        xn = table["xn"].combine_chunks()
        nv, no = xn.values.to_numpy(), xn.offsets.to_numpy()
    C, N = layout.n_cat, layout.n_num
    ids, nums = [], []
    for i, n in enumerate(lens):
        ids.append(xv[xo[i]:xo[i] + n * C].reshape(n, C))
        nums.append(nv[no[i]:no[i] + n * N].reshape(n, N) if has_num
                    else np.zeros((n, 0), np.float32))
    return ids, nums
