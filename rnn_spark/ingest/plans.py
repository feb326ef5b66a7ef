"""Shard plans: how many shards a split gets, how rows are routed to them, the manifest they make.

A split with ``R`` rows and ``E`` stored values is cut into ``ceil(bytes / shard_bytes)`` shards
(bytes estimated from the values, not from compressed output, so the plan is known before any
shard is written); each row lands in shard ``shard_of(hash)``. Inside a shard, rows are ordered by
hash and written in row groups of ``rows_per_group`` rows (:func:`rnn_spark.data.shards.write_shard`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rnn_spark.data.schema import FORMAT, SPLITS, schema_version, shard_of
from rnn_spark.errors import DataError
from rnn_spark.ingest.job import Job

ROW_OVERHEAD = 24  # bytes per row besides its values (length, offsets, provenance)
DEFAULT_ROW_GROUP_BYTES = 4 << 20
DEFAULT_SHARD_BYTES = 64 << 20


@dataclass(frozen=True)
class SplitPlan:
    name: str
    n_shards: int
    rows_per_group: int


def estimate_bytes(rows: int, values: int) -> int:
    return int(values) * 4 + int(rows) * ROW_OVERHEAD


def plan_split(name: str, rows: int, values: int, *, shard_bytes: int = DEFAULT_SHARD_BYTES,
               row_group_bytes: int = DEFAULT_ROW_GROUP_BYTES,
               rows_per_group: int | None = None) -> SplitPlan:
    """How many shards and how many rows per row group, from the split's totals alone."""
    if rows <= 0:
        return SplitPlan(name, 0, 1)
    total = estimate_bytes(rows, values)
    per_row = max(1.0, total / rows)
    rpg = rows_per_group or max(1, int(row_group_bytes // per_row))
    n = max(1, math.ceil(total / max(1, shard_bytes)))
    n = min(n, max(1, rows // rpg))  # never more shards than full row groups
    return SplitPlan(name, n, rpg)


def route(table: pa.Table, plans: dict) -> dict:
    """Group a block's rows by (split name, shard index) -> sub-table."""
    out = {}
    if table.num_rows == 0:
        return out
    split = table["_split"].to_numpy()
    h = table["_h"].to_numpy()
    for code, name in enumerate(SPLITS):
        plan = plans.get(name)
        sel = np.flatnonzero(split == code)
        if plan is None or plan.n_shards == 0 or len(sel) == 0:
            continue
        shard = shard_of(h[sel], plan.n_shards)
        order = np.argsort(shard, kind="stable")
        sel, shard = sel[order], shard[order]
        bounds = np.flatnonzero(np.diff(shard)) + 1
        for part_idx, part_shard in zip(np.split(sel, bounds), np.split(shard, bounds)):
            out[(name, int(part_shard[0]))] = table.take(pa.array(part_idx))
    return out


def totals(scans: list[dict]) -> dict:
    t = {name: {"rows": 0, "values": 0} for name in SPLITS}
    for s in scans:
        for code, name in enumerate(SPLITS):
            t[name]["rows"] += int(s["rows"][code])
            t[name]["values"] += int(s["values"][code])
    return t


def make_plans(job: Job, scans, *, shard_bytes, row_group_bytes, rows_per_group, sources):
    tot = totals(scans)
    if tot["train"]["rows"] == 0:
        if tot["val"]["rows"]:
            raise DataError(f"all {tot['val']['rows']} sequences went to validation; "
                            "lower --val-fraction")
        first = sources[0]["uri"] + (f" (and {len(sources) - 1} more)" if len(sources) > 1 else "")
        raise DataError(f"{first}: no sequence of at least 2 steps in the input; "
                        "check the files and the length options")
    return {name: plan_split(name, tot[name]["rows"], tot[name]["values"],
                             shard_bytes=shard_bytes, row_group_bytes=row_group_bytes,
                             rows_per_group=rows_per_group) for name in SPLITS}


def build_manifest(job: Job, sources, plans, shard_infos, seed: int) -> dict:
    data = {"format": FORMAT, "schema_version": schema_version(job.kind), "kind": job.kind,
            "task": job.task, "head_at": job.head_at, "seed": seed, "ingest": job.type,
            "sources": sources, "splits": {}}
    data.update(job.fields())
    for name in SPLITS:
        shards = sorted((s for s in shard_infos if s["split"] == name), key=lambda s: s["index"])
        if not shards:
            continue
        data["splits"][name] = {
            "sequences": sum(s["sequences"] for s in shards),
            "tokens": sum(s["tokens"] for s in shards),
            "rows_per_group": plans[name].rows_per_group,
            "shards": [{k: v for k, v in s.items() if k not in ("split", "index")} for s in shards]}
    return data
