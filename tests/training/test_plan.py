"""The epoch planner: deterministic, disjoint, balanced, and exactly H*B rows per worker-round."""

from collections import Counter

import pytest

from rnn_spark.training.plan import Slice, plan_epoch, rounds_in_epoch


def rows_of(plan_round):
    return [sum(s.stop - s.start for s in slices) for slices in plan_round]


@pytest.mark.parametrize("unit_rows, workers, per_round", [
    ([100, 50, 75, 10, 300], 2, 32),
    ([7] * 40, 3, 8),
    ([1000], 1, 64),
    ([5, 5, 5], 4, 2),
])
def test_plan_covers_rows_at_most_once_and_fills_rounds(unit_rows, workers, per_round):
    plan = plan_epoch(unit_rows, workers, per_round, seed=1, epoch=0)
    assert len(plan) == rounds_in_epoch(sum(unit_rows), workers, per_round)
    seen = Counter()
    for rnd in plan:
        assert len(rnd) == workers
        for slices in rnd:
            for s in slices:
                assert 0 <= s.start < s.stop <= unit_rows[s.unit]
                for row in range(s.start, s.stop):
                    seen[(s.unit, row)] += 1
    assert max(seen.values()) == 1
    # every worker-round is full except possibly a short tail of the last round
    for rnd in plan[:-1]:
        assert rows_of(rnd) == [per_round] * workers
    # at least W*H*B rows per round on average: no more than one round of data is left over
    assert sum(unit_rows) - len(seen) < workers * per_round + max(unit_rows)


def test_plan_is_a_function_of_seed_and_epoch():
    rows = [13, 40, 7, 22, 31, 9]
    a = plan_epoch(rows, 2, 8, seed=5, epoch=3)
    assert a == plan_epoch(rows, 2, 8, seed=5, epoch=3)
    assert a != plan_epoch(rows, 2, 8, seed=5, epoch=4)
    assert a != plan_epoch(rows, 2, 8, seed=6, epoch=3)


def test_slice_serialises():
    s = Slice(3, 10, 20)
    assert Slice.from_list(s.to_list()) == s


def test_empty_data_is_refused():
    with pytest.raises(ValueError, match="no training rows"):
        plan_epoch([0, 0], 2, 4, seed=0, epoch=0)


@pytest.mark.parametrize("unit_rows,parts", [([446], 2), ([10, 3, 7], 3), ([5, 0, 5], 4),
                                             ([2], 5), ([64] * 9, 2)])
def test_split_rows_cuts_all_rows_into_contiguous_near_equal_pieces(unit_rows, parts):
    from rnn_spark.training.plan import split_rows

    pieces = split_rows(unit_rows, parts)
    assert 1 <= len(pieces) <= parts
    stream = [(s.unit, r) for piece in pieces for s in piece for r in range(s.start, s.stop)]
    assert stream == [(u, r) for u, n in enumerate(unit_rows) for r in range(n)]  # all, in order
    sizes = [sum(s.stop - s.start for s in piece) for piece in pieces]
    assert max(sizes) - min(sizes) <= 1 and min(sizes) > 0
