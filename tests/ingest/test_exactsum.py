"""Exact sums: means and standard deviations that do not depend on how rows are split."""

import math
from fractions import Fraction

import numpy as np
import pytest

from rnn_spark.ingest.exactsum import Moments, stats_of


def _exact(x):
    xs = [Fraction(float(v)) for v in x]
    mean = sum(xs) / len(xs)
    var = sum(v * v for v in xs) / len(xs) - mean * mean
    return float(mean), math.sqrt(float(var))


@pytest.mark.parametrize("values", [
    np.random.default_rng(0).normal(1e9, 3.0, 2000),           # large mean, small spread
    np.random.default_rng(1).normal(0, 1e-300, 50),            # tiny values
    np.array([0.0, -0.0, 5e-324, -5e-324, 1.5, 1e100, -1e100]),  # zeros, subnormals, huge
    np.random.default_rng(2).integers(-1000, 1000, 70_000).astype(float),  # > one chunk
])
def test_moments_are_exact(values):
    mean, std = Moments.of(values).mean_std()
    assert (mean[0], std[0]) == _exact(values)


def test_any_split_and_order_gives_the_same_bits():
    x = np.random.default_rng(3).normal(5, 2, (5000, 3))
    whole = Moments.of(x)
    rng = np.random.default_rng(4)
    for _ in range(3):
        cuts = np.sort(rng.choice(np.arange(1, 5000), 7, replace=False))
        parts = [Moments.of(p) for p in np.split(x[rng.permutation(5000)], cuts)]
        total = Moments()
        for p in reversed(parts):
            total = total + p
        assert total.mean_std() == whole.mean_std()
        assert Moments.from_dict(total.to_dict()).mean_std() == whole.mean_std()


def test_stats_of_constant_and_empty_columns():
    s = stats_of(["a", "b"], Moments.of(np.array([[1.0, 2.0], [1.0, 4.0]])))
    assert s == {"columns": ["a", "b"], "mean": [1.0, 3.0], "std": [1.0, 1.0], "count": 2}
    e = stats_of(["a"], Moments.empty(1))
    assert e == {"columns": ["a"], "mean": [0.0], "std": [1.0], "count": 0}
    big = Moments.of(np.array([1e200, -1e200]))
    assert big.mean_std()[1] == [math.inf]
