"""Order-independent summation of per-worker vectors (the determinism contract's reduction).

Floating-point addition is not associative, and Spark's ``treeAggregate``/``reduce`` combine
partial results in whatever order tasks finish -- so the same round could give different bits on
a rerun. Here the tree is fixed by the keys instead: sort the parts by key, then add neighbours
pairwise, level by level (an odd one out is carried up unchanged)::

    level 0:  p0   p1   p2   p3   p4
    level 1:  p0+p1     p2+p3     p4
    level 2:  (p0+p1)+(p2+p3)     p4
    level 3:  ((p0+p1)+(p2+p3))+p4

The result depends only on the set of (key, vector) pairs, never on arrival order, and pairwise
summation keeps the rounding error at O(log W) ulps instead of O(W).

Precision: the sum is accumulated in the parts' own dtype (float32 parts are summed in float32,
float64 in float64) and returned in that dtype. That keeps the driver's memory at one vector per
pending node and matches the rest of the float32 engine; pairwise order bounds the error.

``ordered_sum(parts)`` takes all parts at once. :class:`TreeAccumulator` builds the same tree
incrementally for keys ``0 .. n-1`` (worker indices) as parts arrive in any order, combining a node
as soon as both children are in -- when parts arrive roughly in order it holds O(log n) vectors
instead of n. Both give bitwise the same result for the same parts.
"""

from __future__ import annotations

from typing import Any, Hashable, Iterable

import numpy as np

__all__ = ["TreeAccumulator", "ordered_sum"]


def _check_parts(parts: list[tuple[Any, np.ndarray]]) -> None:
    if not parts:
        raise ValueError("ordered_sum: no parts to sum")
    first = np.asarray(parts[0][1])
    for key, vec in parts:
        if np.shape(vec) != first.shape or np.asarray(vec).dtype != first.dtype:
            raise ValueError(
                f"ordered_sum: part {key!r} has shape {np.shape(vec)} and dtype {np.asarray(vec).dtype}, "
                f"expected {first.shape} {first.dtype} like the others"
            )


def ordered_sum(parts: Iterable[tuple[Hashable, np.ndarray]], overwrite: bool = False) -> np.ndarray:
    """Sum ``(key, vector)`` pairs in sorted-key pairwise-tree order; keys must be unique and sortable.

    The inputs are left untouched unless ``overwrite=True`` (then their buffers are reused and the
    result may be one of them). Returns a new array (or, for a single part, a copy unless overwrite).
    """
    items = list(parts)
    _check_parts(items)
    try:
        items.sort(key=lambda kv: kv[0])
    except TypeError:
        raise ValueError("ordered_sum: keys must be mutually comparable (e.g. all worker indices)") from None
    keys = [k for k, _ in items]
    for a, b in zip(keys, keys[1:]):
        if not a < b:
            raise ValueError(f"ordered_sum: duplicate key {b!r} (a retried task reported twice?)")
    level = [np.asarray(v) for _, v in items]
    if len(level) == 1:
        return level[0] if overwrite else level[0].copy()
    owned = [overwrite] * len(level)  # may we write into this buffer?
    while len(level) > 1:
        nxt, nxt_owned = [], []
        for i in range(0, len(level) - 1, 2):
            left, right = level[i], level[i + 1]
            if owned[i]:
                np.add(left, right, out=left)
                out = left
            elif owned[i + 1]:
                np.add(left, right, out=right)
                out = right
            else:
                out = np.add(left, right)
            nxt.append(out)
            nxt_owned.append(True)
        if len(level) % 2:
            nxt.append(level[-1])
            nxt_owned.append(owned[-1])
        level, owned = nxt, nxt_owned
    return level[0]


class TreeAccumulator:
    """Streaming :func:`ordered_sum` for keys ``0 .. num_parts-1``: ``add`` parts in any order, then ``result``.

    The vectors passed to :meth:`add` are never modified; sums go to buffers of the accumulator's own.
    """

    def __init__(self, num_parts: int) -> None:
        if not (isinstance(num_parts, (int, np.integer)) and num_parts >= 1):
            raise ValueError(f"TreeAccumulator: num_parts must be an integer >= 1, got {num_parts!r}")
        self.num_parts = int(num_parts)
        sizes = [self.num_parts]
        while sizes[-1] > 1:
            sizes.append((sizes[-1] + 1) // 2)
        self._sizes = sizes  # number of nodes on each level; the root is the single node on top
        self._pending: dict[tuple[int, int], tuple[np.ndarray, bool]] = {}  # node -> (vector, owned)
        self._seen: set[int] = set()
        self._template: tuple[tuple[int, ...], np.dtype] | None = None
        self._result: np.ndarray | None = None

    @property
    def pending(self) -> int:
        """How many vectors are held right now (a measure of the memory in use)."""
        return len(self._pending)

    @property
    def complete(self) -> bool:
        return self._result is not None

    def add(self, key: int, vec: np.ndarray) -> None:
        if not (isinstance(key, (int, np.integer)) and 0 <= key < self.num_parts):
            raise ValueError(f"TreeAccumulator: key must be a worker index in [0, {self.num_parts}), got {key!r}")
        key = int(key)
        if key in self._seen:
            raise ValueError(f"TreeAccumulator: duplicate key {key} (a retried task reported twice?)")
        vec = np.asarray(vec)
        sig = (vec.shape, vec.dtype)
        if self._template is None:
            self._template = sig
        elif sig != self._template:
            raise ValueError(
                f"TreeAccumulator: part {key} has shape {vec.shape} and dtype {vec.dtype}, "
                f"expected {self._template[0]} {self._template[1]} like the others"
            )
        self._seen.add(key)
        level, idx, node, owned = 0, key, vec, False
        while level + 1 < len(self._sizes):
            sibling = idx ^ 1
            if sibling >= self._sizes[level]:  # odd one out: carried up unchanged
                level, idx = level + 1, idx // 2
                continue
            if (level, sibling) not in self._pending:
                self._pending[(level, idx)] = (node, owned)
                return
            other, other_owned = self._pending.pop((level, sibling))
            left, right = (node, other) if idx < sibling else (other, node)
            if owned or other_owned:  # write into a buffer of ours (addition is commutative)
                out = node if owned else other
                np.add(left, right, out=out)
                node = out
            else:
                node = np.add(left, right)
            owned = True
            level, idx = level + 1, idx // 2
        self._result = node if owned else node.copy()

    def result(self) -> np.ndarray:
        """The sum, once every key ``0 .. num_parts-1`` has been added."""
        if self._result is None:
            missing = sorted(set(range(self.num_parts)) - self._seen)
            raise ValueError(f"TreeAccumulator: parts {missing[:10]} have not been added yet")
        return self._result
