""":class:`~rnn_spark.ingest.table_steps.Steps` -> shard rows: segments cut into windows of at
most ``--max-len`` steps, each window's inputs and target gathered, named, and sent to a split.

A window is named by (its group's hash, its session's number in the group, its number in the
session), so its hash -- the row's place in the shards -- and its split are functions of the
data alone. Split by group: the group's hash decides for all its windows. Split by time: a window
whose last row (its targets' rows included) is at or after the cut-off goes to validation, any
other to training, whose windows so only hold rows before the cut-off.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rnn_spark.data.schema import empty_block, make_block
from rnn_spark.errors import DataError
from rnn_spark.ingest.table_hash import key_of, unit_of
from rnn_spark.ingest.table_steps import Steps, chunk_steps, describe_group

GROUP_SALT = 0x6A09E667F3BCC908  # keeps the group split's draw apart from the row hash


def windows(steps: Steps, F) -> tuple[np.ndarray, ...]:
    """(segment, number in segment, first step, input steps) of every window."""
    spec = F.spec
    m = steps.seg_len - spec.need
    L = spec.max_len or int(max(1, m.max(initial=1)))
    stride = spec.stride or L
    keep = m >= spec.min_len
    nw = np.where(keep, np.where(m <= L, 1, 1 + (m - L) // stride), 0).astype(np.int64)
    seg = np.repeat(np.arange(len(m)), nw)
    first = np.cumsum(nw) - nw
    j = np.arange(int(nw.sum()), dtype=np.int64) - np.repeat(first, nw)
    start = steps.seg_start[seg] + j * stride
    length = np.minimum(m[seg], L)
    return seg, j, start, length


def group_val(words: np.ndarray, F) -> np.ndarray:
    """Whether each group (by its hash) goes to validation (--split-by group)."""
    return unit_of(words, F.spec.seed, GROUP_SALT) < F.spec.val_fraction


def _gather(start: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Step indices start[i] .. start[i] + count[i] - 1 of every window, concatenated."""
    first = np.cumsum(count) - count
    return np.repeat(start - first, count) + np.arange(int(count.sum()), dtype=np.int64)


def _reduce(op, values: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``op`` over values[start:start+length] of every window (windows may overlap)."""
    idx = np.stack([start, start + length], axis=1).reshape(-1)
    padded = np.append(values, values[:1])
    return op.reduceat(padded, idx)[::2]


def _label(steps: Steps, F, seg, start, length) -> np.ndarray:
    how, lab = F.spec.label_from, steps.label
    if how == "first":
        return lab[start]
    if how == "last":
        return lab[start + length - 1]
    top = _reduce(np.maximum, lab, start, length)
    if how == "constant":
        low = _reduce(np.minimum, lab, start, length)
        bad = np.flatnonzero(low != top)
        if len(bad):
            raise DataError(f"{F.where}: column {F.spec.label!r} changes within the sequence of "
                            f"{describe_group(steps, int(seg[bad[0]]))} (--label-from constant);"
                            " use --label-from last, first or max")
    return top


def _offsets(counts: np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def encode(steps: Steps, F) -> pa.Table:
    """The shard rows (with ``_h`` and ``_split``) of every window of ``steps``."""
    spec = F.spec
    seg, j, start, length = windows(steps, F)
    if len(seg) == 0:
        return empty_block(F.kind, F.task)
    key = key_of(steps.seg_group[seg], steps.seg_no[seg].astype(np.uint64) + np.uint64(1),
                 j.astype(np.uint64) + np.uint64(2))
    if spec.split_by == "group":
        split = group_val(steps.seg_group[seg], F).astype(np.int8)
    else:
        last = start + length + spec.need - 1
        split = (steps.t[last] >= F.cutoff).astype(np.int8)
    lm = F.task == "lm"
    stored = length + 1 if lm else length
    rows = _gather(start, stored)
    kw = {}
    if F.kind == "tokens":
        xv, xo = steps.cats[rows, 0], _offsets(stored)
    elif F.kind == "features":
        xv, xo = steps.nums[rows].reshape(-1), _offsets(stored * steps.nums.shape[1])
    else:
        xv, xo = steps.cats[rows].reshape(-1), _offsets(stored * steps.cats.shape[1])
        kw.update(xn_values=steps.nums[rows].reshape(-1).astype(np.float32),
                  xn_offsets=_offsets(stored * steps.nums.shape[1]))
    if spec.learn == "label":
        y = _label(steps, F, seg, start, length)
        if F.task == "classify":
            kw["y"] = y.astype(np.int32)
        else:
            kw.update(y=y.astype(np.float32), y_offsets=np.arange(len(y) + 1, dtype=np.int64))
    elif spec.learn == "next" and not lm:
        col = F.next_numeric
        kw.update(y=steps.nums[_gather(start + 1, length), col].astype(np.float32),
                  y_offsets=_offsets(length))
    elif spec.learn == "horizon":
        H, T = spec.horizon, steps.targets.shape[1]
        y = steps.targets[_gather(start + length, np.full(len(start), H))].reshape(-1)
        kw.update(y=y.astype(np.float32), y_offsets=np.arange(len(start) + 1) * (H * T))
    return make_block(F.kind, F.task, x_values=xv, x_offsets=xo, lengths=stored, src_file=0,
                      src_row=key, split=split, seed=spec.seed, **kw)


def block_chunk(table: pa.Table, F) -> pa.Table:
    """Shard rows of a chunk of whole groups (or of sequence rows)."""
    if table.num_rows == 0:
        return empty_block(F.kind, F.task)
    return encode(chunk_steps(table, F), F)
