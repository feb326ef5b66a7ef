"""A label only the ORDER of events gives away: the RNN trained through `ingest table` learns it,
a bag-of-events classifier stays at chance (benchmarks/table_order.py has the full run)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_loader import load_benchmark  # noqa: E402


def test_rnn_reads_the_order_a_bag_of_events_cannot(tmp_path):
    res = load_benchmark("table_order").run(users=1200, epochs=6, out=str(tmp_path))
    assert res["val_sequences"] > 200
    assert res["bag_of_events_val_accuracy"] < res["majority_class_val_accuracy"] + 0.08
    assert res["rnn_val_accuracy"] > 0.9
