#!/usr/bin/env python3
"""A label that only the ORDER of events gives away: an RNN trained through `ingest table` against
a bag-of-events baseline. Prints one JSON object.

  python3 benchmarks/table_order.py [--users 4000] [--epochs 12] [--out DIR]

Each user's session holds one ``cart`` event, one ``buy`` event and 4-8 others (view, home,
search), in random order and with random gaps; the label is 1 when the purchase comes 1-3 steps
after the cart event. The label is drawn first, then the length, then positions by rejection, so
the events' counts (and the length) say nothing about the label: a classifier of the counts --
the baseline, a logistic regression on per-event counts and the length -- cannot beat chance.
The RNN (``ingest table --group-by user --order-by ts --categorical event --label bought``, an
LSTM on the inline runner) must read the order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np
import pyarrow as pa

EVENTS = ("cart", "buy", "view", "home", "search")


def order_events(users: int, seed: int = 0) -> pa.Table:
    """Rows (user, ts, event, bought); see the module doc."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(users):
        label = int(rng.integers(0, 2))
        n = int(rng.integers(6, 11))
        while True:
            c, b = rng.choice(n, 2, replace=False)
            if int(1 <= b - c <= 3) == label:
                break
        seq = list(rng.choice(EVENTS[2:], n))
        seq[c], seq[b] = "cart", "buy"
        ts = np.cumsum(rng.integers(1, 600, n))
        rows += [{"user": f"u{u:06d}", "ts": int(t), "event": str(e), "bought": label}
                 for t, e in zip(ts, seq)]
    return pa.Table.from_pylist(rows)


def bag_of_events(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(users, counts per event + length [U, 6], label) of each user."""
    users = np.array(table["user"].to_pylist())
    ev = np.array(table["event"].to_pylist())
    lab = np.array(table["bought"].to_pylist())
    names, inv = np.unique(users, return_inverse=True)
    X = np.zeros((len(names), len(EVENTS) + 1))
    for k, e in enumerate(EVENTS):
        np.add.at(X[:, k], inv, ev == e)
    X[:, -1] = np.bincount(inv)
    y = np.zeros(len(names))
    y[inv] = lab
    return names, X, y


def logistic(Xtr, ytr, Xte, steps: int = 2000, lr: float = 0.5) -> np.ndarray:
    """Plain logistic regression (standardised inputs, full-batch gradient descent)."""
    mu, sd = Xtr.mean(0), Xtr.std(0) + 1e-9
    A = np.c_[(Xtr - mu) / sd, np.ones(len(Xtr))]
    B = np.c_[(Xte - mu) / sd, np.ones(len(Xte))]
    w = np.zeros(A.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-A @ w))
        w -= lr * A.T @ (p - ytr) / len(A)
    return (B @ w > 0).astype(float)


def run(users: int, epochs: int, out: str, seed: int = 0, hidden: int = 32) -> dict:
    import pyarrow.parquet as pq

    from rnn_spark import config
    from rnn_spark.ingest.table import ingest_table
    from rnn_spark.ingest.table_block import group_val
    from rnn_spark.ingest.table_hash import row_words
    from rnn_spark.serve import load_model
    from rnn_spark.training.loop import train

    table = order_events(users, seed)
    src = os.path.join(out, "events.parquet")
    pq.write_table(table, src)
    t0 = time.perf_counter()
    m = ingest_table(os.path.join(out, "data"), path=src, group_by=["user"], order_by="ts",
                     categorical=["event"], label="bought", val_fraction=0.25, seed=seed,
                     overwrite=True)
    ingest_s = time.perf_counter() - t0
    cfg = config.load(overrides={"data.path": os.path.join(out, "data"),
                                 "train.run_dir": os.path.join(out, "run"),
                                 "train.runner": "inline", "train.workers": 2,
                                 "train.epochs": epochs, "train.batch_size": 32,
                                 "train.validate_every": 0, "train.seed": seed,
                                 "model.hidden_sizes": [hidden], "model.embedding_size": 8,
                                 "optim.lr": 0.01})
    t0 = time.perf_counter()
    train(cfg, quiet=True, overwrite=True)
    train_s = time.perf_counter() - t0
    rnn = load_model(os.path.join(out, "run")).evaluate(os.path.join(out, "data"), split="val")
    names, X, y = bag_of_events(table)
    val = group_val(row_words([pa.array(names)]),
                    type("F", (), {"spec": type("S", (), {"seed": seed, "val_fraction": 0.25})}))
    base = logistic(X[~val], y[~val], X[val])
    return {"users": users, "epochs": epochs, "hidden": hidden,
            "train_sequences": m.counts("train")["sequences"],
            "val_sequences": m.counts("val")["sequences"],
            "rnn_val_accuracy": round(float(rnn.metrics["accuracy"]), 4),
            "bag_of_events_val_accuracy": round(float((base == y[val]).mean()), 4),
            "majority_class_val_accuracy": round(float(max(y[val].mean(), 1 - y[val].mean())), 4),
            "ingest_seconds": round(ingest_s, 2), "train_seconds": round(train_s, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=4000)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="work directory (default: a temporary one)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rnn-spark-order-") as tmp:
        out = a.out or tmp
        os.makedirs(out, exist_ok=True)
        res = run(a.users, a.epochs, out, a.seed)
    res["command"] = "python3 benchmarks/table_order.py " + " ".join(sys.argv[1:])
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
