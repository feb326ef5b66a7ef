"""A chunk of table rows -> :class:`Steps`: every step's encoded inputs and targets, cut into
segments (a group's sessions, or one row's sequence) named by hashes of their content.

The chunk holds whole groups (the Spark engine's partitions are hashed and sorted by the group
key, the local engine's one chunk is the table), in any order: the rows are put in one canonical
order here -- by group key, order column, then every encoded value -- so rows that tie are equal
in everything that is written, and the output is the same whatever order the rows came in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rnn_spark.ingest.table_hash import row_words, value_words
from rnn_spark.ingest.table_rows import Problems, column_ids, parse_numbers, parse_order


@dataclass
class Steps:
    cats: np.ndarray          # int32 [S, C] categorical ids
    nums: np.ndarray          # float64 [S, N] numeric inputs, normalised
    label: np.ndarray | None  # [S] class id (int64) or target (float64, normalised), per step
    targets: np.ndarray | None  # float64 [S, T] forecast targets (--horizon), normalised
    t: np.ndarray | None      # float64 [S] order values (time split)
    seg_start: np.ndarray     # int64 [G] first step of each segment
    seg_len: np.ndarray       # int64 [G]
    seg_group: np.ndarray     # uint64 [G] hash of the segment's group key (or content)
    seg_no: np.ndarray        # int64 [G] the segment's number inside its group
    group_text: list          # [G] how a message names the segment's group (filled lazily)


def _norm(x: np.ndarray, stats: dict | None) -> np.ndarray:
    if stats is None:
        return x
    return (x - np.asarray(stats["mean"])) / np.asarray(stats["std"])


def _labels(col, F, problems: Problems) -> np.ndarray:
    """Class ids (int64) or targets (float64, normalised) of the --label column."""
    if F.task == "classify":
        if F.classes is None:
            v = parse_numbers(col, F.spec.label, problems)
            return np.nan_to_num(v).astype(np.int64)
        col = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        idx = pc.index_in(col, value_set=pa.array(list(F.classes), type=col.type))
        return idx.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    v = parse_numbers(col, F.spec.label, problems)
    return _norm(v[:, None], F.targ)[:, 0]


def _matrix(cols: list, n: int, dtype) -> np.ndarray:
    return np.stack(cols, axis=1).astype(dtype) if cols else np.zeros((n, 0), dtype)


def event_steps(table: pa.Table, F) -> Steps:
    """Event rows (whole groups, any order) -> Steps: groups ordered, cut into sessions."""
    spec, n, p = F.spec, table.num_rows, Problems()
    t = parse_order(table[spec.order_by], F.order_kind, p, spec.order_by)
    cats = _matrix([column_ids(table[f.column], f.values, f.size) for f in F.categorical], n,
                   np.int32)
    nums = _matrix([parse_numbers(table[c], c, p) for c in spec.numeric], n, np.float64)
    label = _labels(table[spec.label], F, p) if spec.label else None
    targets = _matrix([parse_numbers(table[c], c, p) for c in F.target_columns], n, np.float64) \
        if F.target_columns else None
    keys = {f"g{i}": table[g] for i, g in enumerate(spec.group_by)}
    keys["t"] = t
    keys.update({f"c{i}": cats[:, i] for i in range(cats.shape[1])})
    keys.update({f"n{i}": nums[:, i] for i in range(nums.shape[1])})
    if label is not None:
        keys["l"] = label
    if targets is not None:
        keys.update({f"y{i}": targets[:, i] for i in range(targets.shape[1])})
    order = pc.sort_indices(pa.table(keys), sort_keys=[(k, "ascending") for k in keys])
    groups = [table[g].take(order).combine_chunks() for g in spec.group_by]
    order = order.to_numpy()
    t, cats, nums = t[order], cats[order], nums[order]
    label = None if label is None else label[order]
    targets = None if targets is None else targets[order]
    new_group = np.zeros(n, bool)
    if n:
        new_group[0] = True
    for g in groups:
        if n > 1:
            new_group[1:] |= pc.not_equal(g.slice(1), g.slice(0, n - 1)) \
                .to_numpy(zero_copy_only=False)
    new_seg = new_group.copy()
    if F.gap is not None and n > 1:
        new_seg[1:] |= np.diff(t) > F.gap
    group_first = np.flatnonzero(new_group)
    seg_start = np.flatnonzero(new_seg).astype(np.int64)
    seg_len = np.diff(np.append(seg_start, n)).astype(np.int64)
    gh = row_words([g.take(pa.array(group_first)) for g in groups]) if n else np.zeros(0, np.uint64)
    group_of_seg = np.searchsorted(group_first, seg_start, side="right") - 1
    first_seg_of_group = np.searchsorted(seg_start, group_first)
    seg_no = np.arange(len(seg_start)) - first_seg_of_group[group_of_seg]
    names = [(spec.group_by, [g.take(pa.array(group_first)) for g in groups], group_of_seg)]
    return Steps(cats, _norm(nums, F.feat), label,
                 None if targets is None else _norm(targets, F.targ), t, seg_start, seg_len,
                 gh[group_of_seg], seg_no.astype(np.int64), names)


def sequence_steps(table: pa.Table, F) -> Steps:
    """One sequence per row -> Steps: each row one segment, named by a hash of its content."""
    spec, p = F.spec, Problems()
    seq = table[spec.sequence].combine_chunks()
    lengths = pc.list_value_length(seq).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = seq.flatten()
    if F.kind == "tokens":
        cats = column_ids(flat, None, F.vocab_size)[:, None]
        nums = np.zeros((len(cats), 0))
    elif F.seq_width is None:  # array<double>: one value per step
        nums = parse_numbers(flat, spec.sequence, p)[:, None]
        cats = np.zeros((len(nums), 0), np.int32)
    else:
        nums = parse_numbers(flat.flatten(), spec.sequence, p).reshape(-1, F.seq_width)
        cats = np.zeros((len(nums), 0), np.int32)
    content = [seq] + ([table[spec.label]] if spec.label else [])
    words = row_words(content)
    label = None
    if spec.label:
        label = np.repeat(_labels(table[spec.label], F, p), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    return Steps(cats, _norm(nums, F.feat), label, None, None, starts, lengths, words,
                 np.zeros(len(lengths), np.int64), [(("row",), [pa.array(np.arange(len(lengths)) + 1)],
                                                    np.arange(len(lengths)))])


def describe_group(steps: Steps, seg: int) -> str:
    """How a message names segment ``seg``'s group: ``user=17`` (``row=3`` for --sequence)."""
    (names, cols, group_of_seg), = steps.group_text
    g = int(group_of_seg[seg])
    return ", ".join(f"{name}={col[g].as_py()!r}" if isinstance(col[g].as_py(), str)
                     else f"{name}={col[g].as_py()}" for name, col in zip(names, cols))


def chunk_steps(table: pa.Table, F) -> Steps:
    return sequence_steps(table, F) if F.spec.sequence else event_steps(table, F)


def content_words(table: pa.Table, spec) -> np.ndarray:
    """Per row: what names it (--sequence: its content, sequence and label; events: its group)."""
    if spec.sequence:
        return row_words([table[spec.sequence]] + ([table[spec.label]] if spec.label else []))
    return row_words([table[g] for g in spec.group_by]) if table.num_rows else \
        np.zeros(0, np.uint64)


__all__ = ["Steps", "chunk_steps", "content_words", "describe_group", "value_words"]
