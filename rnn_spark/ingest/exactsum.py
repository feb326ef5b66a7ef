"""Exact sums of float64 values and of their squares, so means and standard deviations do not
depend on how the rows were split into partitions, nor on the order the parts are added in.

A Spark table arrives in partitions whose number and contents depend on the cluster; floating
point sums made per partition and then added give other bits for other partitionings. Here every
value ``x = M * 2**E`` (``M`` a 53-bit integer, from ``frexp``) is summed as integers: ``M`` is cut
into three 18-bit limbs, the limbs (for the sum) and their products (for the sum of squares) are
added per exponent with ``bincount`` in chunks small enough that every float64 partial stays an
exact integer, and the per-exponent totals are kept as Python integers. Two :class:`Moments`
add exactly; the mean and variance come out of exact rational arithmetic, rounded once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

_LIMB = 18
_MASK = (1 << _LIMB) - 1
_E0 = 1126           # -E of the smallest power of two a float64 mantissa can stand for
_CHUNK = 1 << 16     # rows per bincount: every partial sum stays below 2**53


def _limbs(x: np.ndarray):
    m, e = np.frexp(x)
    M = (m * float(1 << 53)).astype(np.int64)
    k = (e.astype(np.int64) - 53 + _E0)
    return M >> (2 * _LIMB), (M >> _LIMB) & _MASK, M & _MASK, k


def _bins(k, w, size):
    return np.bincount(k, weights=w.astype(np.float64), minlength=size).astype(np.int64)


def _column_sums(x: np.ndarray) -> tuple[int, int]:
    """(scaled exact sum, scaled exact sum of squares) of a float64 vector: the sum is
    ``s1 / 2**1126``, the sum of squares ``s2 / 2**2252``."""
    s1 = s2 = 0
    for start in range(0, len(x), _CHUNK):
        a, b, c, k = _limbs(x[start:start + _CHUNK])
        if len(k) == 0:
            continue
        size = int(k.max()) + 1
        parts1 = [_bins(k, v, size) for v in (a, b, c)]
        parts2 = [_bins(k, v, size) for v in (a * a, 2 * a * b, 2 * a * c + b * b, 2 * b * c,
                                               c * c)]
        for kk in np.flatnonzero(np.any(np.stack(parts1 + parts2) != 0, axis=0)):
            A, B, C = (int(p[kk]) for p in parts1)
            s1 += ((A << 36) + (B << 18) + C) << int(kk)
            t0, t1, t2, t3, t4 = (int(p[kk]) for p in parts2)
            s2 += ((t0 << 72) + (t1 << 54) + (t2 << 36) + (t3 << 18) + t4) << (2 * int(kk))
    return s1, s2


@dataclass
class Moments:
    """Count and exact sums of each of ``D`` columns; ``+`` adds exactly (in any order)."""

    n: int = 0
    s1: list = field(default_factory=list)
    s2: list = field(default_factory=list)

    @classmethod
    def of(cls, x: np.ndarray) -> "Moments":
        """Of the rows of ``x`` [n, D] (any float or integer type; converted to float64)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        sums = [_column_sums(np.ascontiguousarray(x[:, j])) for j in range(x.shape[1])]
        return cls(int(x.shape[0]), [s[0] for s in sums], [s[1] for s in sums])

    @classmethod
    def empty(cls, d: int) -> "Moments":
        return cls(0, [0] * d, [0] * d)

    def __add__(self, other: "Moments") -> "Moments":
        if not self.s1:
            return Moments(other.n + self.n, list(other.s1), list(other.s2))
        if not other.s1:
            return Moments(self.n + other.n, list(self.s1), list(self.s2))
        return Moments(self.n + other.n, [a + b for a, b in zip(self.s1, other.s1)],
                       [a + b for a, b in zip(self.s2, other.s2)])

    def mean_std(self) -> tuple[list[float], list[float]]:
        """Per column: the mean and the (population) standard deviation, each rounded once."""
        means, stds = [], []
        for s1, s2 in zip(self.s1, self.s2):
            if self.n == 0:
                means.append(0.0)
                stds.append(0.0)
                continue
            mean = Fraction(s1, (1 << _E0) * self.n)
            var = Fraction(s2, (1 << (2 * _E0)) * self.n) - mean * mean
            means.append(float(mean))
            try:
                stds.append(math.sqrt(max(float(var), 0.0)))
            except OverflowError:  # values beyond 1e154: the variance is no float64
                stds.append(math.inf)
        return means, stds

    def to_dict(self) -> dict:
        """JSON-able (integers as decimal strings: JSON readers need not handle big integers)."""
        return {"n": self.n, "s1": [str(v) for v in self.s1], "s2": [str(v) for v in self.s2]}

    @classmethod
    def from_dict(cls, d: dict) -> "Moments":
        return cls(int(d["n"]), [int(v) for v in d["s1"]], [int(v) for v in d["s2"]])


def stats_of(columns, m: Moments) -> dict:
    """``{"columns", "mean", "std", "count"}`` as the other ingests write them; a constant column
    gets std 1 (no scaling)."""
    mean, std = m.mean_std()
    if m.n == 0:
        mean = [0.0] * len(columns)
    return {"columns": list(columns), "mean": mean,
            "std": [s if s > 1e-12 else 1.0 for s in std] if m.n else [1.0] * len(columns),
            "count": int(m.n)}
