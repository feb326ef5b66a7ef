"""``ingest table``'s scans: small summaries of chunks of rows that add up exactly, in any order.

* :func:`range_chunk` -- the --order-by column: how text reads (numbers or dates/times) and its
  smallest and largest value (the time split's cut-off comes from them);
* :func:`scan_chunk` -- what is wrong with the rows (missing keys, text in a numeric column, ...),
  and the exact moments of the numeric inputs and targets over the training split's rows.

A summary is JSON (the Spark engine sends one per partition to the driver): no rows travel.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rnn_spark.ingest.exactsum import Moments
from rnn_spark.ingest.table_block import group_val
from rnn_spark.ingest.table_rows import (Problems, null_counts, parse_numbers, parse_order,
                                         parse_times, string_order_kind)
from rnn_spark.ingest.table_steps import content_words


def _range(v: np.ndarray):
    v = v[np.isfinite(v)]
    return [float(v.min()), float(v.max())] if len(v) else None


def range_chunk(table: pa.Table, F) -> dict:
    """How the order column reads in this chunk, and its range for each reading."""
    spec, types = F.spec, F.types
    col, p = table[spec.order_by], Problems()
    if types[spec.order_by] != "string":
        return {"num": types[spec.order_by] in ("int", "float"), "time": True,
                "range": _range(parse_order(col, None, p, spec.order_by))}
    num, time = string_order_kind(col)
    out = {"num": num, "time": time, "range": None}
    if num:
        out["range"] = _range(parse_numbers(col, spec.order_by, p))
    elif time:
        out["range"] = _range(parse_times(col.combine_chunks(), spec.order_by, p))
    return out


def merge_ranges(parts: list[dict]) -> dict:
    if not parts:
        return {"num": True, "time": True, "range": None}
    ranges = [p["range"] for p in parts if p["range"]]
    return {"num": all(p["num"] for p in parts), "time": all(p["time"] for p in parts),
            "range": [min(r[0] for r in ranges), max(r[1] for r in ranges)] if ranges else None}


def _train_rows(table: pa.Table, pre) -> np.ndarray:
    spec = pre.spec
    if spec.split_by == "group":
        return ~group_val(content_words(table, spec), pre)
    t = parse_order(table[spec.order_by], pre.order_kind, Problems(), spec.order_by)
    return t < pre.cutoff


def _seq_scan(table: pa.Table, spec, types, p: Problems, train: np.ndarray, out: dict) -> None:
    seq = table[spec.sequence].combine_chunks()
    lengths = pc.list_value_length(seq).fill_null(0).to_numpy(zero_copy_only=False)
    valid = seq.is_valid().to_numpy(zero_copy_only=False)
    out["seq"] = {"empty": int(((lengths == 0) & valid).sum()), "widths": [], "min_id": None,
                  "max_id": None}
    flat, step_train = seq.flatten(), np.repeat(train, lengths)
    kind = types[spec.sequence]
    if kind == "array<int>":
        p.null(spec.sequence, flat.null_count)
        ids = flat.drop_null()
        if len(ids):
            out["seq"]["min_id"], out["seq"]["max_id"] = pc.min(ids).as_py(), pc.max(ids).as_py()
        return
    if kind == "array<float>":
        v = parse_numbers(flat, spec.sequence, p)[:, None]
    else:
        widths = pc.list_value_length(flat).fill_null(-1).to_numpy(zero_copy_only=False)
        out["seq"]["widths"] = sorted({int(w) for w in np.unique(widths)})
        if len(out["seq"]["widths"]) != 1 or out["seq"]["widths"][0] < 1:
            return
        v = parse_numbers(flat.flatten(), spec.sequence, p).reshape(-1, out["seq"]["widths"][0])
    out["feat"] = Moments.of(v[step_train & np.isfinite(v).all(axis=1)]).to_dict()


def scan_chunk(table: pa.Table, pre) -> dict:
    """The summary of a chunk of rows (see the module doc); ``pre``: the run's Final so far."""
    spec, types, p = pre.spec, pre.types, Problems()
    out = {"rows": table.num_rows, "feat": None, "targ": None}
    keys = [*spec.group_by, spec.order_by, spec.label, spec.sequence]
    null_counts(table, [k for k in keys if k and k != spec.order_by], p)
    if spec.order_by:
        parse_order(table[spec.order_by], pre.order_kind, p, spec.order_by)
    train = _train_rows(table, pre) if table.num_rows else np.zeros(0, bool)
    if spec.sequence:
        _seq_scan(table, spec, types, p, train, out)
    elif spec.numeric:
        nums = np.stack([parse_numbers(table[c], c, p) for c in spec.numeric], axis=1)
        out["feat"] = Moments.of(nums[train & np.isfinite(nums).all(axis=1)]).to_dict()
    target_cols = pre.target_columns if spec.learn == "horizon" else \
        [spec.label] if spec.label and spec.task == "regress" else []
    if target_cols:
        t = np.stack([parse_numbers(table[c], c, Problems() if c in spec.numeric else p)
                      for c in target_cols], axis=1)
        out["targ"] = Moments.of(t[train & np.isfinite(t).all(axis=1)]).to_dict()
    out["problems"] = p.to_dict()
    return out


def merge_scans(parts: list[dict]) -> dict:
    """The table's summary: every chunk's added up (exactly; the order does not matter)."""
    problems = Problems()
    for s in parts:
        problems.add(Problems.from_dict(s["problems"]))
    out = {"rows": sum(s["rows"] for s in parts), "problems": problems.to_dict()}
    for key in ("feat", "targ"):
        ms = [Moments.from_dict(s[key]) for s in parts if s.get(key) is not None]
        out[key] = sum(ms[1:], ms[0]).to_dict() if ms else None
    seqs = [s["seq"] for s in parts if "seq" in s]
    if seqs:
        ids = [(s["min_id"], s["max_id"]) for s in seqs if s["max_id"] is not None]
        out["seq"] = {"empty": sum(s["empty"] for s in seqs),
                      "widths": sorted({w for s in seqs for w in s["widths"]}),
                      "min_id": min(i[0] for i in ids) if ids else None,
                      "max_id": max(i[1] for i in ids) if ids else None}
    return out
