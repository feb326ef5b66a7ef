"""``ingest table``'s driver side: from the scans to :class:`Final` -- everything a block task
needs (vocabularies, classes, statistics, the time cut-off, sizes) -- and the manifest's fields.

Every number here is a function of the whole table's rows (exact sums, value counts, extremes),
never of how the table was partitioned, and every error names the first problem in a fixed order
of columns, so both engines write the same manifest and say the same line.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from rnn_spark.data.steps import CategoricalField, StepLayout, Target
from rnn_spark.errors import DataError
from rnn_spark.ingest.exactsum import Moments, stats_of
from rnn_spark.ingest.table_rows import Problems, times_of
from rnn_spark.ingest.table_spec import TableSpec, parse_gap

MAX_CLASSES = 100_000


@dataclass(frozen=True)
class Final:
    """What the block tasks need (sent to every Spark task with the closure)."""

    spec: TableSpec
    types: dict
    where: str
    order_kind: str | None = None      # number | time
    gap: float | None = None
    cutoff: float | None = None
    categorical: tuple = ()            # CategoricalField per --categorical column
    classes: tuple | None = None
    n_classes: int | None = None
    feat: dict | None = None           # normalisation of the inputs (None: as they are)
    targ: dict | None = None           # normalisation of the targets
    stats: dict | None = None          # as the manifest records them
    kind: str = "features"
    task: str = "classify"
    head_at: str = "last"
    vocab_size: int | None = None
    seq_width: int | None = None       # --sequence array<array<double>>: values per step
    target_columns: tuple = ()         # --horizon's columns
    next_numeric: int | None = None    # --next of a numeric column: its index in --numeric
    layout: StepLayout | None = None

    @property
    def input_size(self) -> int | None:
        return len(self.feat_columns) if self.kind == "features" else None

    @property
    def feat_columns(self) -> list[str]:
        if self.spec.sequence:
            return [f"{self.spec.sequence}[{i}]" for i in range(self.seq_width or 1)]
        return list(self.spec.numeric)

    @property
    def output_size(self) -> int:
        if self.task == "lm":
            return self.vocab_size if self.kind == "tokens" else \
                self.categorical[self.layout.target.field].size
        if self.task == "classify":
            return self.n_classes
        if self.spec.learn == "horizon":
            return self.spec.horizon * len(self.target_columns)
        return 1

    # -- the Job interface plans.build_manifest reads -----------------------------------------
    type = "table"

    def fields(self) -> dict:
        return {"vocab_size": self.vocab_size if self.kind == "tokens" else None,
                "input_size": self.input_size, "output_size": self.output_size, "vocab": None,
                "stats": self.stats, "options": self.spec.options(),
                "steps": self.layout.to_dict()}

    def schema(self):
        from rnn_spark.data.schema import arrow_schema
        return arrow_schema(self.kind, self.task)


def start(spec: TableSpec, types: dict, where: str) -> Final:
    targets = tuple(spec.targets) if spec.learn == "horizon" else ()
    return Final(spec, types, where, target_columns=targets)


def with_order(F: Final, ranges: dict | None) -> Final:
    """The order column's reading, the session gap and the time split's cut-off."""
    spec = F.spec
    if not spec.order_by:
        return F
    t = F.types[spec.order_by]
    if t in ("time", "date"):
        kind = "time"
    elif t == "string":
        kind = "number" if ranges and ranges["num"] else "time"
    else:
        kind = "number"
    gap = None if spec.session_gap is None else parse_gap(spec.session_gap, kind)
    cutoff = None
    if spec.split_by == "time":
        if spec.split_at is not None:
            cutoff = _split_at(spec.split_at, kind)
        elif spec.val_fraction == 0:
            cutoff = float("inf")
        elif ranges and ranges["range"]:
            lo, hi = ranges["range"]
            cutoff = lo + (1.0 - spec.val_fraction) * (hi - lo)
        else:
            cutoff = float("inf")
    return dataclasses.replace(F, order_kind=kind, gap=gap, cutoff=cutoff)


def _split_at(text: str, kind: str) -> float:
    from rnn_spark.errors import ConfigError
    if kind == "time":
        v = times_of(str(text))
        if v is None:
            raise ConfigError(f"--split-at: {text!r} is not a date or time like 2024-03-01 or "
                              "2024-03-01T12:00:00 (the --order-by column holds dates/times)")
        return v
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"--split-at: {text!r} is not a number (the --order-by column holds "
                          "numbers)") from None


def _flag(spec: TableSpec, col: str) -> str:
    for flag, cols in (("--group-by", spec.group_by), ("--order-by", (spec.order_by,)),
                       ("--sequence", (spec.sequence,)), ("--label", (spec.label,)),
                       ("--numeric", spec.numeric), ("--target", spec.targets)):
        if col in cols:
            return flag
    return "--categorical"


def check_scan(F: Final, scan: dict) -> None:
    """The first problem of the rows, columns in the options' order: one line."""
    spec, w = F.spec, F.where
    if scan["rows"] == 0:
        raise DataError(f"{w}: the table has no rows; check the source (or the query's WHERE)")
    p = Problems.from_dict(scan["problems"])
    for col in spec.columns():
        n = p.nulls.get(col)
        if n and col not in spec.categorical:
            raise DataError(f"{w}: column {col!r} ({_flag(spec, col)}) is missing (null) in {n} "
                            f"row(s); fill them or drop them (e.g. WHERE {col} IS NOT NULL)")
        bad = p.bad.get(col)
        if bad:
            n, example, what = bad
            raise DataError(f"{w}: column {col!r} ({_flag(spec, col)}) holds {n} value(s) "
                            f"{'that are NaN/Inf' if what == 'NaN/Inf' else 'that are ' + what}, "
                            f"e.g. {example!r}; fix them or leave the column out")
    seq = scan.get("seq")
    if seq:
        col = spec.sequence
        if seq["empty"]:
            raise DataError(f"{w}: column {col!r} (--sequence) holds {seq['empty']} empty "
                            "sequence(s); drop them (e.g. WHERE size(col) > 0)")
        if len(seq["widths"]) > 1 or -1 in seq["widths"]:
            shown = [x for x in seq["widths"] if x >= 0]
            raise DataError(f"{w}: column {col!r} (--sequence) has steps of different widths "
                            f"{shown} (or missing steps); every step needs the same number of "
                            "values")
        if seq["min_id"] is not None and seq["min_id"] < 0:
            raise DataError(f"{w}: column {col!r} (--sequence) holds token id {seq['min_id']}; "
                            "ids must be >= 0")


def _vocab(F: Final, col: str, counts: list) -> CategoricalField:
    spec = F.spec
    kept = sorted(((-c, v) for v, c in counts if v is not None and c >= spec.min_freq),
                  key=lambda t: (t[0], t[1]))
    if spec.max_vocab is not None:
        kept = kept[:spec.max_vocab - 1]
    values = tuple(v for _, v in kept)
    return CategoricalField(col, len(values) + 1, values, spec.min_freq)


def _classes(F: Final, counts: list) -> tuple[tuple | None, int]:
    spec, w, col = F.spec, F.where, F.spec.label
    values = sorted(v for v, _ in counts if v is not None)
    if len(values) < 2:
        shown = f" ({values[0]!r})" if values else ""
        raise DataError(f"{w}: column {col!r} (--label) holds one class{shown} in every row; a "
                        "classifier needs at least 2 (or --task regress)")
    if len(values) > MAX_CLASSES:
        raise DataError(f"{w}: column {col!r} (--label) holds {len(values)} distinct values, "
                        f"more than {MAX_CLASSES} classes; is it the right column?")
    if F.types[col] in ("string", "bool"):
        n = spec.num_classes or len(values)
        if n < len(values):
            raise DataError(f"{w}: column {col!r} (--label) holds {len(values)} classes, more "
                            f"than --num-classes {n}")
        return tuple(values), n
    for v in values:
        if float(v) != int(v) or v < 0:
            raise DataError(f"{w}: column {col!r} (--label) holds {v!r}, not a class id 0, 1, "
                            "...; index the classes first (e.g. StringIndexer) or --task regress")
    top = int(max(values))
    n = spec.num_classes or top + 1
    if top >= n:
        raise DataError(f"{w}: column {col!r} (--label) holds class {top}, out of range for "
                        f"--num-classes {n}")
    return None, n


def _stats(F: Final, scan: dict) -> tuple[dict | None, dict | None, dict | None]:
    """(input normalisation, target normalisation, the manifest's stats)."""
    spec = F.spec
    feat = targ = None
    if scan.get("feat") is not None:
        feat = stats_of(F.feat_columns, Moments.from_dict(scan["feat"]))
    if spec.learn == "next" and spec.next in spec.numeric and feat is not None:
        j = spec.numeric.index(spec.next)
        targ = {k: [v[j]] if isinstance(v, list) else v for k, v in feat.items()}
    elif scan.get("targ") is not None:
        cols = list(F.target_columns) if spec.learn == "horizon" else [spec.label]
        targ = stats_of(cols, Moments.from_dict(scan["targ"]))
    for part in (feat, targ):
        if part and any(s == float("inf") for s in part["std"]):
            i = [s == float("inf") for s in part["std"]].index(True)
            raise DataError(f"{F.where}: column {part['columns'][i]!r} holds values too large "
                            "to normalise (beyond 1e154); scale it first")
    if feat is None and targ is None:
        return None, None, None
    stats = {"normalized": bool(spec.normalize)}
    if feat is not None:
        stats["features"] = feat
    if targ is not None:
        stats["targets"] = targ
    if not spec.normalize:
        return None, None, stats
    return feat, targ, stats


def finalize(F: Final, scan: dict, value_counts) -> Final:
    """``value_counts(column)`` -> [(value, count)] of a column's non-null values (an engine's)."""
    check_scan(F, scan)
    spec = F.spec
    cats = tuple(_vocab(F, c, value_counts(c)) for c in spec.categorical)
    classes, n_classes = (None, None)
    if spec.label and spec.task == "classify":
        classes, n_classes = _classes(F, value_counts(spec.label))
    seq = scan.get("seq")
    vocab_size = seq_width = None
    if spec.sequence and F.types[spec.sequence] == "array<int>":
        top = -1 if seq["max_id"] is None else seq["max_id"]
        if spec.vocab_size is not None and top >= spec.vocab_size:
            raise DataError(f"{F.where}: token id {top} >= --vocab-size {spec.vocab_size}; raise "
                            "--vocab-size")
        vocab_size = spec.vocab_size or top + 1
        cats = (CategoricalField(spec.sequence, vocab_size, None, 1),)
    elif spec.sequence and F.types[spec.sequence] == "array<array<float>>":
        seq_width = seq["widths"][0]
    F = dataclasses.replace(F, categorical=cats, classes=classes, n_classes=n_classes,
                            seq_width=seq_width)
    feat, targ, stats = _stats(F, scan)
    numeric = tuple(F.feat_columns) if spec.sequence and vocab_size is None else spec.numeric
    layout = StepLayout(cats, numeric, _target(F, cats))
    kind = layout.kind
    if kind == "tokens" and vocab_size is None:
        vocab_size = cats[0].size
    if spec.learn == "label":
        task, head = spec.task, "last"
    elif spec.learn == "next":
        task, head = ("lm" if spec.next not in spec.numeric else "regress"), "every"
    else:
        task, head = "regress", "last"
    next_numeric = spec.numeric.index(spec.next) if spec.learn == "next" and \
        spec.next in spec.numeric else None
    return dataclasses.replace(F, feat=feat, targ=targ, stats=stats, kind=kind, task=task,
                               head_at=head, vocab_size=vocab_size, layout=layout,
                               next_numeric=next_numeric)


def _target(F: Final, cats: tuple) -> Target:
    spec = F.spec
    if spec.learn == "label":
        return Target("label", (spec.label,), spec.label_from, F.classes)
    if spec.learn == "next":
        names = [c.column for c in cats]
        return Target("next", (spec.next,),
                      field=names.index(spec.next) if spec.next in names else None)
    return Target("horizon", F.target_columns, horizon=spec.horizon)


def totals_ok(F: Final, totals: dict) -> None:
    """At least one training sequence came out; else say which option dropped them."""
    if totals["train"]["rows"]:
        return
    if totals["val"]["rows"]:
        raise DataError(f"{F.where}: all {totals['val']['rows']} sequences went to validation; "
                        "lower --val-fraction (or move --split-at later)")
    spec = F.spec
    need = f" + {spec.need} target step(s)" if spec.need else ""
    raise DataError(f"{F.where}: no sequence has at least --min-len {spec.min_len} step(s)"
                    f"{need}; lower --min-len or --session-gap's cut, or check --group-by")


__all__ = ["Final", "Moments", "check_scan", "finalize", "start", "totals_ok", "with_order"]
