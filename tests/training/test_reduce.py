"""ordered_sum / TreeAccumulator: bitwise independent of arrival order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rnn_spark.training.reduce import TreeAccumulator, ordered_sum


def _parts(n, dtype=np.float32, p=301, seed=0):
    rng = np.random.default_rng(seed)
    # wildly different magnitudes: naive sums in different orders disagree in the low bits
    return [(k, (rng.standard_normal(p) * 10.0 ** rng.uniform(-4, 4, p)).astype(dtype)) for k in range(n)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shuffled_inputs_give_bitwise_the_same_sum(dtype):
    parts = _parts(13, dtype)
    ref = ordered_sum(parts)
    assert ref.dtype == dtype
    rng = np.random.default_rng(1)
    naive_differs = False
    for _ in range(20):
        order = rng.permutation(len(parts))
        shuffled = [parts[i] for i in order]
        assert ordered_sum(shuffled).tobytes() == ref.tobytes()
        naive = shuffled[0][1].copy()
        for _, v in shuffled[1:]:
            naive += v
        naive_differs |= naive.tobytes() != ref.tobytes()
    assert naive_differs  # the problem this module exists for is real
    exact = np.sum([v.astype(np.float64) for _, v in parts], axis=0)
    np.testing.assert_allclose(ref, exact, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-3)


def test_tree_shape_is_pairwise_in_key_order():
    parts = _parts(5, np.float64)
    v = [p for _, p in parts]
    expected = ((v[0] + v[1]) + (v[2] + v[3])) + v[4]
    assert ordered_sum(list(reversed(parts))).tobytes() == expected.tobytes()


def test_arbitrary_sortable_keys_and_single_part():
    parts = [((2, "b"), np.ones(3)), ((0, "a"), np.full(3, 2.0)), ((1, "z"), np.full(3, 4.0))]
    np.testing.assert_array_equal(ordered_sum(parts), [7.0, 7.0, 7.0])
    one = np.arange(3.0)
    out = ordered_sum([(5, one)])
    assert out is not one and np.array_equal(out, one)


def test_inputs_untouched_unless_overwrite():
    parts = _parts(6, np.float64)
    copies = [(k, v.copy()) for k, v in parts]
    ref = ordered_sum(parts)
    assert all(a.tobytes() == b.tobytes() for (_, a), (_, b) in zip(parts, copies))
    assert ordered_sum(copies, overwrite=True).tobytes() == ref.tobytes()


def test_errors():
    with pytest.raises(ValueError, match="no parts"):
        ordered_sum([])
    with pytest.raises(ValueError, match="duplicate key 1"):
        ordered_sum([(1, np.ones(2)), (0, np.ones(2)), (1, np.ones(2))])
    with pytest.raises(ValueError, match="shape"):
        ordered_sum([(0, np.ones(2)), (1, np.ones(3))])
    with pytest.raises(ValueError, match="dtype"):
        ordered_sum([(0, np.ones(2)), (1, np.ones(2, np.float32))])
    with pytest.raises(ValueError, match="comparable"):
        ordered_sum([(0, np.ones(2)), ("a", np.ones(2))])


@pytest.mark.parametrize("n", range(1, 8))
def test_accumulator_matches_ordered_sum_for_every_arrival_order(n):
    parts = _parts(n, np.float32, p=17, seed=n)
    ref = ordered_sum(parts)
    for order in itertools.islice(itertools.permutations(range(n)), 200):
        acc = TreeAccumulator(n)
        for i in order:
            assert not acc.complete
            acc.add(*parts[i])
        assert acc.result().tobytes() == ref.tobytes()
        assert acc.pending == 0


def test_accumulator_in_order_holds_log_n_vectors_and_leaves_inputs_alone():
    n = 100
    parts = _parts(n, np.float64, p=11)
    copies = [v.copy() for _, v in parts]
    acc = TreeAccumulator(n)
    peak = 0
    for k, v in parts:
        acc.add(k, v)
        peak = max(peak, acc.pending)
    assert peak <= 7  # ceil(log2(100))
    assert acc.result().tobytes() == ordered_sum(parts).tobytes()
    assert all(v.tobytes() == c.tobytes() for (_, v), c in zip(parts, copies))


def test_accumulator_errors():
    acc = TreeAccumulator(3)
    acc.add(0, np.ones(2))
    with pytest.raises(ValueError, match="duplicate key 0"):
        acc.add(0, np.ones(2))
    with pytest.raises(ValueError, match=r"worker index in \[0, 3\)"):
        acc.add(3, np.ones(2))
    with pytest.raises(ValueError, match="shape"):
        acc.add(1, np.ones(4))
    with pytest.raises(ValueError, match=r"parts \[1, 2\] have not been added"):
        acc.result()
    with pytest.raises(ValueError, match="num_parts"):
        TreeAccumulator(0)
