"""Labelled sequences: one row = one variable-length sequence + a class label or a target.

Inputs: Parquet (sequence column ``list<int>``, ``list<float>``, ``list<list<float>>`` or text),
CSV (sequence cell as text) and JSON lines (``{"sequence": [...], "label": 3}``). In text cells,
steps are separated by ``;`` when there are several features per step (features by spaces or
commas), else by spaces or commas. Kind ``tokens`` (integer ids) or ``features`` (floats, with
per-feature mean/std from the training rows); ``auto`` picks tokens when every value in every file
is an integer with one value per step. Rows go to validation by a seeded hash.
"""

from __future__ import annotations

import re

import numpy as np

from rnn_spark.data.schema import make_block, row_hash, unit_fraction
from rnn_spark.errors import ConfigError, DataError
from rnn_spark.ingest.job import Job
from rnn_spark.ingest.pipeline import run_ingest
from rnn_spark.ingest.stats import combine_moments, moments, stats_dict
from rnn_spark.ingest.tables import (FORMATS, column, detect_format, read_table, require_fields,
                                     where)

_INT_RE = re.compile(r"[+-]?\d+")
_SEP_RE = re.compile(r"[\s,]+")


def _num(tok: str):
    return int(tok) if _INT_RE.fullmatch(tok) else float(tok)


def _parse_cell(v):
    """A sequence cell -> list of steps, each a list of numbers (raises ValueError)."""
    if isinstance(v, str):
        s = v.strip()
        if ";" in s:
            return [[_num(t) for t in _SEP_RE.split(step.strip()) if t]
                    for step in s.split(";") if step.strip()]
        return [[_num(t)] for t in _SEP_RE.split(s) if t]
    if isinstance(v, (list, tuple)):
        return [[float(e) if isinstance(e, float) else _intval(e) for e in step]
                if isinstance(step, (list, tuple)) else
                [float(step) if isinstance(step, float) else _intval(step)] for step in v]
    raise ValueError("not a list")


def _intval(e):
    if isinstance(e, bool) or not isinstance(e, int):
        raise ValueError(f"{e!r} is not a number")
    return e


class LabelledJob(Job):
    type = "labelled"

    def __init__(self, *, task="classify", sequence_column="sequence", label_column="label",
                 kind="auto", num_classes=None, vocab_size=None, normalize=True,
                 val_fraction=0.1, seed=0, format="auto"):
        if task not in ("classify", "regress"):
            raise ConfigError(f"task: {task!r} is not one of classify, regress")
        if kind not in ("auto", "tokens", "features"):
            raise ConfigError(f"kind: {kind!r} is not one of auto, tokens, features")
        if format not in FORMATS:
            raise ConfigError(f"format: {format!r} is not one of {', '.join(FORMATS)}")
        if not 0 <= val_fraction < 1:
            raise ConfigError(f"val_fraction: {val_fraction} must be in [0, 1)")
        self.task, self.head_at, self.seed = task, "last", seed
        self.opts = dict(task=task, sequence_column=sequence_column, label_column=label_column,
                         kind=kind, num_classes=num_classes, vocab_size=vocab_size,
                         normalize=normalize, val_fraction=val_fraction, format=format)
        self.kind = None if kind == "auto" else kind
        self.D = self.O = self.n_classes = self.vocab_size = self.stats = None
        self.class_counts = None  # classify: rows per label, per split (the manifest's)

    def _rows(self, uri):
        """-> list of (x [T, D] array, is_int, label), with row-located errors."""
        o = self.opts
        fmt = detect_format(uri, o["format"])
        sc, lc = o["sequence_column"], o["label_column"]
        table = read_table(uri, fmt, string_columns=(sc, lc))
        if fmt == "jsonl":
            require_fields(table, (sc, lc), uri)
            cells = [(r.get(sc), r.get(lc), r["__line"]) for r in table]
        else:
            cells = list(zip(column(table, sc, uri).to_pylist(),
                             column(table, lc, uri).to_pylist(), range(table.num_rows)))
        rows = []
        for seq, lab, r in cells:
            loc = where(uri, fmt, r)
            if seq is None:
                raise DataError(f"{loc}: field {sc!r} is missing; fill or drop the row")
            try:
                steps = _parse_cell(seq)
            except (ValueError, TypeError) as err:
                raise DataError(f"{loc}: field {sc!r} is not a sequence of numbers ({err})"
                                ) from None
            if len(steps) < 2:
                raise DataError(f"{loc}: field {sc!r} has {len(steps)} step(s); sequences need "
                                "at least 2, drop the row")
            widths = {len(s) for s in steps}
            if len(widths) != 1 or 0 in widths:
                raise DataError(f"{loc}: field {sc!r} has steps of different widths {sorted(widths)}")
            is_int = all(type(e) is int for s in steps for e in s)
            x = np.array(steps, dtype=np.float64)
            if not np.isfinite(x).all():
                raise DataError(f"{loc}: field {sc!r} holds NaN/Inf; fix or drop the row")
            rows.append((x, is_int, self._label(lab, loc, lc)))
        if not rows:
            raise DataError(f"{uri}: no rows; remove the empty file from the inputs")
        return rows

    def _label(self, v, loc, lc):
        if v is None or v == "":
            raise DataError(f"{loc}: field {lc!r} is missing; fill or drop the row")
        if self.task == "classify":
            if isinstance(v, str) and _INT_RE.fullmatch(v.strip()):
                v = int(v)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise DataError(f"{loc}: label {str(v)[:40]!r} is not an integer class; "
                                "use ids 0..K-1 (or --task regress)")
            nc = self.opts["num_classes"]
            if v < 0 or (nc is not None and v >= nc):
                raise DataError(f"{loc}: label {v} is out of range [0, "
                                f"{nc if nc is not None else 'K'}); fix it or --num-classes")
            return int(v)
        try:
            y = np.atleast_1d(np.array([float(t) for t in _SEP_RE.split(v.strip()) if t]
                                       if isinstance(v, str) else v, dtype=np.float64))
        except (TypeError, ValueError):
            raise DataError(f"{loc}: target {str(v)[:40]!r} is not a number or list of numbers"
                            ) from None
        if y.ndim != 1 or not np.isfinite(y).all() or len(y) == 0:
            raise DataError(f"{loc}: target {str(v)[:40]!r} must be finite numbers")
        return y

    def _split(self, idx, n):
        h = row_hash(self.seed, idx, np.arange(n, dtype=np.int64))
        return (unit_fraction(h) < self.opts["val_fraction"]).astype(np.int8)

    def scan(self, idx, uri):
        rows = self._rows(uri)
        split = self._split(idx, len(rows))
        widths = sorted({r[0].shape[1] for r in rows})
        owidth = sorted({len(r[2]) for r in rows}) if self.task == "regress" else [1]
        train = [r for r, s in zip(rows, split) if s == 0]
        xs = np.concatenate([r[0] for r in train]) if train else np.zeros((0, widths[0]))
        out = {"rows": [len(train), len(rows) - len(train)],
               "values": [int(sum(r[0].size for r, s in zip(rows, split) if s == c))
                          for c in (0, 1)],
               "widths": widths, "owidths": owidth, "all_int": all(r[1] for r in rows),
               "max_x": float(max(r[0].max() for r in rows)),
               "min_x": float(min(r[0].min() for r in rows)),
               "max_label": max(r[2] for r in rows) if self.task == "classify" else None,
               "labels": [np.bincount([r[2] for r, s in zip(rows, split) if s == c],
                                      minlength=1).tolist() for c in (0, 1)]
               if self.task == "classify" else None,
               "feat": moments(xs) if len(widths) == 1 else None}
        if self.task == "regress" and len(owidth) == 1:
            out["targ"] = moments(np.stack([r[2] for r in train]) if train
                                  else np.zeros((0, owidth[0])))
        return out

    def finalize(self, scans, sources):
        o = self.opts
        for key, what in (("widths", "features per step"), ("owidths", "target widths")):
            seen = sorted({w for s in scans for w in s[key]})
            if len(seen) != 1:
                raise DataError(f"{sources[0]['uri']} ...: rows have different {what} {seen}; "
                                "every row needs the same")
        self.D, self.O = scans[0]["widths"][0], scans[0]["owidths"][0]
        if self.kind is None:
            self.kind = "tokens" if self.D == 1 and all(s["all_int"] for s in scans) \
                else "features"
        if self.kind == "tokens":
            for s, src in zip(scans, sources):
                if self.D != 1 or not s["all_int"] or s["min_x"] < 0:
                    raise DataError(f"{src['uri']}: kind tokens needs one non-negative integer "
                                    "id per step; use --kind features")
            top = int(max(s["max_x"] for s in scans))
            vs = o["vocab_size"]
            if vs is not None and top >= vs:
                raise DataError(f"token id {top} >= --vocab-size {vs}; raise --vocab-size")
            self.vocab_size = vs or top + 1
        if self.task == "classify":
            self.n_classes = o["num_classes"] or max(s["max_label"] for s in scans) + 1
            self.class_counts = {name: [int(sum(s["labels"][c][k] for s in scans
                                                if k < len(s["labels"][c])))
                                        for k in range(self.n_classes)]
                                 for c, name in enumerate(("train", "val"))}
        stats = {"normalized": bool(o["normalize"])}
        if self.kind == "features":
            cols = [f"f{i}" for i in range(self.D)]
            stats["features"] = stats_dict(cols, combine_moments([s["feat"] for s in scans]))
        if self.task == "regress":
            cols = [f"y{i}" for i in range(self.O)]
            stats["targets"] = stats_dict(cols, combine_moments([s["targ"] for s in scans]))
        self.stats = stats if len(stats) > 1 else None

    def block(self, idx, uri):
        rows = self._rows(uri)
        split = self._split(idx, len(rows))
        norm = self.opts["normalize"] and self.stats
        xs = [r[0] for r in rows]
        lengths = np.array([len(x) for x in xs], dtype=np.int64)
        if self.kind == "tokens":
            xv = np.concatenate([x[:, 0] for x in xs]).astype(np.int64)
            offsets = np.concatenate([[0], np.cumsum(lengths)])
        else:
            xv = np.concatenate(xs)
            if norm:
                xv = (xv - self.stats["features"]["mean"]) / self.stats["features"]["std"]
            xv = xv.astype(np.float32).reshape(-1)
            offsets = np.concatenate([[0], np.cumsum(lengths * self.D)])
        kw = {}
        if self.task == "classify":
            kw["y"] = np.array([r[2] for r in rows], dtype=np.int32)
        else:
            y = np.stack([r[2] for r in rows])
            if norm:
                y = (y - self.stats["targets"]["mean"]) / self.stats["targets"]["std"]
            kw["y"] = y.astype(np.float32).reshape(-1)
            kw["y_offsets"] = np.arange(len(rows) + 1, dtype=np.int64) * self.O
        return make_block(self.kind, self.task, x_values=xv, x_offsets=offsets,
                          lengths=lengths, src_file=idx, src_row=np.arange(len(rows)),
                          split=split, seed=self.seed, **kw)

    def fields(self):
        out = {"vocab_size": self.vocab_size,
               "input_size": self.D if self.kind == "features" else None,
               "output_size": self.n_classes if self.task == "classify" else self.O,
               "vocab": None, "stats": self.stats, "options": self.opts}
        if self.class_counts is not None:  # older manifests lack it: Manifest.class_counts -> None
            out["class_counts"] = {k: v for k, v in self.class_counts.items() if any(v)}
        return out


def ingest_labelled(sources, out: str, *, task: str = "classify",
                    sequence_column: str = "sequence", label_column: str = "label",
                    kind: str = "auto", num_classes=None, vocab_size=None,
                    normalize: bool = True, val_fraction: float = 0.1, seed: int = 0,
                    format: str = "auto", **run):
    """Ingest labelled sequences (Parquet/CSV/JSONL) into shards; return the Manifest."""
    job = LabelledJob(task=task, sequence_column=sequence_column, label_column=label_column,
                      kind=kind, num_classes=num_classes, vocab_size=vocab_size,
                      normalize=normalize, val_fraction=val_fraction, seed=seed, format=format)
    return run_ingest(job, sources, out, seed=seed, **run)
