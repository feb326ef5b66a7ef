"""Small event tables for the `ingest table` tests (a plain module so tests can import it)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EVENTS = ("view", "cart", "buy", "home")


def events(n_users: int = 60, seed: int = 0, shuffle: bool = True) -> pa.Table:
    """user (string), ts (int seconds), event (string), amount (double), churn (int 0/1),
    tier (string: gold/basic, constant per user); users' rows are interleaved when shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        n = int(rng.integers(2, 25))
        ts = np.sort(rng.choice(np.arange(0, 200_000, 7), n, replace=False))
        for k in range(n):
            rows.append({"user": f"u{u:03d}", "ts": int(ts[k]),
                         "event": str(rng.choice(EVENTS, p=[0.5, 0.25, 0.1, 0.15])),
                         "amount": round(float(rng.normal(10, 3)), 3), "churn": int(u % 3 == 0),
                         "tier": "gold" if u % 4 == 0 else "basic"})
    if shuffle:
        rows = [rows[i] for i in rng.permutation(len(rows))]
    return pa.Table.from_pylist(rows)


def write_parquet(table: pa.Table, path, parts: int = 1) -> str:
    """``table`` as one file, or a directory of ``parts`` files (rows dealt round-robin)."""
    path = str(path)
    if parts == 1:
        pq.write_table(table, path)
        return path
    import os
    os.makedirs(path, exist_ok=True)
    idx = np.arange(table.num_rows)
    for k in range(parts):
        pq.write_table(table.take(pa.array(idx[idx % parts == k])), f"{path}/part-{k}.parquet")
    return path


def sequences(n: int = 80, seed: int = 1, kind: str = "tokens") -> pa.Table:
    """One sequence per row: features (array<int> ids, array<double> or array<array<double>>)
    and label (double 0.0/1.0, MLlib style)."""
    rng = np.random.default_rng(seed)
    feats, labels = [], []
    for _ in range(n):
        T = int(rng.integers(2, 12))
        if kind == "tokens":
            feats.append(rng.integers(0, 9, T).tolist())
        elif kind == "scalars":
            feats.append(rng.normal(size=T).round(4).tolist())
        else:
            feats.append(rng.normal(size=(T, 3)).round(4).tolist())
        labels.append(float(rng.integers(0, 2)))
    return pa.table({"features": feats, "label": labels})
