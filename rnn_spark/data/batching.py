"""Streaming minibatches: work units (row groups of shards) -> padded [B, T] arrays with masks.

Units are read one row group at a time, in the order given, through the one
:class:`~rnn_spark.data.reader.ShardReader` (at most one shard file open; damage is a DataError).
Rows of a row group are shuffled (seeded by (seed, shard hash, row group), so a unit always yields
the same order wherever it is read); minibatches are cut from the running stream of rows and may
span units. With ``bucket=True`` rows are pooled over ``bucket_groups`` row groups, sorted by
length, cut into minibatches and the minibatches shuffled -- still a bounded buffer. Either way
the number of minibatches is ``count_minibatches(units, batch_size, drop_last)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pyarrow as pa

from rnn_spark.data.manifest import Manifest, WorkUnit
from rnn_spark.data.reader import ShardReader
from rnn_spark.data.steps import decode_mixed
from rnn_spark.engine.mixed import MixedInputs
from rnn_spark.errors import ConfigError


@dataclass
class Minibatch:
    inputs: np.ndarray      # int32 [B, T] token ids or float [B, T, D] (or MixedInputs)
    targets: np.ndarray     # lm: int32 [B, T]; classify: int32 [B]; regress: [B, T, O] or [B, O]
    mask: np.ndarray        # float [B, T], 1 = real step
    n_targets: int          # unmasked targets carried (steps for lm/every, rows for last)
    rows: int
    lengths: np.ndarray | None = None   # int32 [B] steps per row


def count_minibatches(units, batch_size: int, drop_last: bool = False) -> int:
    """Minibatches :func:`iter_minibatches` yields for ``units`` (no I/O)."""
    rows = sum(u["rows"] if isinstance(u, dict) else u.rows for u in units)
    return rows // batch_size if drop_last else math.ceil(rows / batch_size)


class _Rows:
    """A bag of decoded rows: per-row step arrays and targets, columnar-friendly lists."""

    def __init__(self, xs, ys, lens):
        self.xs, self.ys, self.lens = xs, ys, lens


def _decode(table: pa.Table, m: Manifest, max_len, dtype) -> _Rows:
    """Row group -> per-row numpy arrays (x [T] or [T, D], or a mixed dataset's (ids [T, C],
    nums [T, N]); y per task), truncated to max_len."""
    lens = table["length"].to_numpy().astype(np.int64)
    lm = m.task == "lm"
    keep = lens if max_len is None else np.minimum(lens, max_len + 1 if lm else max_len)
    xs, ys = [], []
    if m.kind == "mixed":
        ids, nums = decode_mixed(table, m.steps)
        xs = [(a[:n], b[:n]) for a, b, n in zip(ids, nums, keep)]
        xv = xo = None
    else:
        xcol = table["x"].combine_chunks()
        xv = xcol.values.to_numpy()
        xo = xcol.offsets.to_numpy()
    ycol = table["y"].combine_chunks() if "y" in table.column_names else None
    if ycol is not None and m.task == "regress":
        yv, yo = ycol.values.to_numpy(), ycol.offsets.to_numpy()
    elif ycol is not None:
        yv = ycol.to_numpy()
    D, O = m.input_size, m.output_size
    for i in range(len(lens)):
        if m.kind == "tokens":
            xs.append(xv[xo[i]:xo[i] + keep[i]])
        elif m.kind != "mixed":
            xs.append(xv[xo[i]:xo[i] + keep[i] * D].reshape(keep[i], D))
        if m.task == "classify":
            ys.append(yv[i])
        elif m.task == "regress" and m.head_at == "last":
            ys.append(yv[yo[i]:yo[i + 1]])
        elif m.task == "regress":
            ys.append(yv[yo[i]:yo[i] + keep[i] * O].reshape(keep[i], O))
    steps = keep - 1 if lm else keep
    return _Rows(xs, ys, steps)


def _assemble(rows: list, m: Manifest, dtype) -> Minibatch:
    """``rows`` is a list of (x, y, steps) -> padded Minibatch."""
    B = len(rows)
    T = max(r[2] for r in rows)
    lens = np.array([r[2] for r in rows], dtype=np.int32)
    mask = (np.arange(T)[None, :] < lens[:, None]).astype(dtype)
    if m.kind == "mixed":
        return _assemble_mixed(rows, m, dtype, B, T, lens, mask)
    if m.kind == "tokens":
        inputs = np.zeros((B, T), np.int32)
    else:
        inputs = np.zeros((B, T, m.input_size), dtype)
    if m.task == "lm":
        targets = np.zeros((B, T), np.int32)
        for b, (x, _, n) in enumerate(rows):
            inputs[b, :n] = x[:n]
            targets[b, :n] = x[1:n + 1]
        return Minibatch(inputs, targets, mask, int(lens.sum()), B, lens)
    for b, (x, _, n) in enumerate(rows):
        inputs[b, :n] = x
    if m.task == "classify":
        targets = np.array([r[1] for r in rows], dtype=np.int32)
        return Minibatch(inputs, targets, mask, B, B, lens)
    if m.head_at == "last":
        targets = np.stack([r[1] for r in rows]).astype(dtype)
        return Minibatch(inputs, targets, mask, B, B, lens)
    targets = np.zeros((B, T, m.output_size), dtype)
    for b, (_, y, n) in enumerate(rows):
        targets[b, :n] = y
    return Minibatch(inputs, targets, mask, int(lens.sum()), B, lens)


def _assemble_mixed(rows: list, m: Manifest, dtype, B: int, T: int, lens, mask) -> Minibatch:
    """A mixed dataset's rows -> Minibatch of MixedInputs (ids int32 [B, T, C], nums [B, T, N]);
    a language model's targets are the next step's id of the target field."""
    layout = m.steps
    ids = np.zeros((B, T, layout.n_cat), np.int32)
    nums = np.zeros((B, T, layout.n_num), dtype)
    for b, ((xi, xn), _, n) in enumerate(rows):
        ids[b, :n] = xi[:n]
        nums[b, :n] = xn[:n]
    inputs = MixedInputs(ids, nums)
    if m.task == "lm":
        f = layout.target.field
        targets = np.zeros((B, T), np.int32)
        for b, ((xi, _), _, n) in enumerate(rows):
            targets[b, :n] = xi[1:n + 1, f]
        return Minibatch(inputs, targets, mask, int(lens.sum()), B, lens)
    if m.task == "classify":
        return Minibatch(inputs, np.array([r[1] for r in rows], dtype=np.int32), mask, B, B, lens)
    if m.head_at == "last":
        return Minibatch(inputs, np.stack([r[1] for r in rows]).astype(dtype), mask, B, B, lens)
    targets = np.zeros((B, T, m.output_size), dtype)
    for b, (_, y, n) in enumerate(rows):
        targets[b, :n] = y
    return Minibatch(inputs, targets, mask, int(lens.sum()), B, lens)


def _unit_rng(seed: int, unit: WorkUnit, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFF, int(unit.sha256[:8], 16), unit.row_group,
                                  salt])


def iter_minibatches(units, batch_size: int, *, manifest: Manifest, seed: int = 0,
                     shuffle_rows: bool = True, bucket: bool = False, max_len: int | None = None,
                     drop_last: bool = False, dtype: str = "float32",
                     bucket_groups: int = 4) -> Iterator[Minibatch]:
    """Yield padded minibatches from ``units`` in order (see module doc); deterministic.

    ``units``: WorkUnits or their dicts. ``max_len`` keeps the first ``max_len`` steps of longer
    rows (classification then reads the label at the last kept step). ``dtype`` is the float
    type of features, float targets and the mask; token ids and class targets are int32.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size: {batch_size} must be >= 1")
    if max_len is not None and max_len < 1:
        raise ConfigError(f"max_len: {max_len} must be >= 1")
    dtype = np.dtype(dtype)
    units = [u if isinstance(u, WorkUnit) else WorkUnit.from_dict(u) for u in units]
    reader = ShardReader(cache_row_groups=0)  # each unit is read once: nothing to cache
    pending: list = []
    pool: list = []
    pool_units = 0
    try:
        for k, unit in enumerate(units):
            rows = _decode(reader.read_row_group(unit), manifest, max_len, dtype)
            order = np.arange(len(rows.xs))
            if shuffle_rows:
                order = _unit_rng(seed, unit).permutation(len(order))
            ys = rows.ys or [None] * len(rows.xs)
            items = [(rows.xs[i], ys[i], int(rows.lens[i])) for i in order]
            if not bucket:
                pending.extend(items)
                while len(pending) >= batch_size:
                    yield _assemble(pending[:batch_size], manifest, dtype)
                    del pending[:batch_size]
                continue
            pool.extend(items)
            pool_units += 1
            if pool_units >= bucket_groups or k == len(units) - 1:
                pool.sort(key=lambda r: r[2])  # stable: ties keep the shuffled order
                full = len(pool) // batch_size * batch_size
                batches = [pool[i:i + batch_size] for i in range(0, full, batch_size)]
                pool, pool_units = pool[full:], 0
                perm = _unit_rng(seed, unit, salt=1).permutation(len(batches)) \
                    if shuffle_rows else range(len(batches))
                for j in perm:
                    yield _assemble(batches[j], manifest, dtype)
        rest = pending or pool
        if rest and not drop_last:
            yield _assemble(rest, manifest, dtype)
    finally:
        reader.close()


def table_minibatches(table: pa.Table, manifest: Manifest, batch_size: int, dtype, bucket: bool,
                      rng: np.random.Generator | None = None):
    """Padded minibatches of ``batch_size`` rows from an in-memory table of shard rows (e.g. the
    trainer's slice of a few row groups), in the table's order; ``bucket`` sorts rows by length first
    so each minibatch holds rows of similar length (the minibatches then come in an order drawn
    from ``rng``, or short to long without one)."""
    rows = _decode(table, manifest, None, np.dtype(dtype))
    ys = rows.ys or [None] * len(rows.xs)
    items = [(rows.xs[i], ys[i], int(rows.lens[i])) for i in range(len(rows.xs))]
    starts = list(range(0, len(items), batch_size))
    if bucket:
        items.sort(key=lambda r: r[2])  # stable: equal lengths keep the table's order
        if rng is not None:
            starts = [starts[i] for i in rng.permutation(len(starts))]
    for i in starts:
        yield _assemble(items[i:i + batch_size], manifest, np.dtype(dtype))
