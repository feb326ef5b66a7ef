"""Shared fixtures for the data tests: small generated inputs (no binary fixtures needed)."""

import json
import random

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

WORDS = ["alpha", "beta", "gamma", "délta", "εψιλον", "zeta", "ηλιος", "x"]


def write_text(path, n_words, seed=0):
    rnd = random.Random(seed)
    path.write_text(" ".join(rnd.choice(WORDS) for _ in range(n_words)), encoding="utf-8")
    return path


@pytest.fixture()
def text_files(tmp_path):
    d = tmp_path / "txt"
    d.mkdir()
    return [write_text(d / f"part{k}.txt", 800 + 300 * k, seed=k) for k in range(3)]


@pytest.fixture()
def series_csv(tmp_path):
    """Two entities x 60 rows, columns t, ent, a (noisy sine), b (= t), rows shuffled."""
    rng = np.random.default_rng(0)
    rows = []
    for e in ("x", "y"):
        for t in range(60):
            rows.append((t, e, round(float(np.sin(t / 5) + rng.normal() * 0.1), 5), t * 0.5))
    random.Random(1).shuffle(rows)
    p = tmp_path / "series.csv"
    p.write_text("t,ent,a,b\n" + "".join(f"{t},{e},{a},{b}\n" for t, e, a, b in rows))
    return p


@pytest.fixture()
def labelled_jsonl(tmp_path):
    rng = np.random.default_rng(1)
    p = tmp_path / "lab.jsonl"
    with p.open("w") as f:
        for _ in range(120):
            T = int(rng.integers(2, 15))
            f.write(json.dumps({"sequence": rng.integers(0, 30, T).tolist(),
                                "label": int(rng.integers(0, 3))}) + "\n")
    return p


@pytest.fixture()
def labelled_parquet(tmp_path):
    rng = np.random.default_rng(2)
    p = tmp_path / "lab.parquet"
    seqs = [rng.normal(size=(int(rng.integers(2, 9)), 3)).tolist() for _ in range(80)]
    pq.write_table(pa.table({"sequence": seqs, "label": rng.normal(size=80).tolist()}), p)
    return p


@pytest.fixture(scope="module")
def spark():
    """A local[2] session for the Spark-engine tests (reused if one is active)."""
    from rnn_spark.ingest.spark import session
    s, created = session("local[2]")
    yield s
    if created:
        s.stop()
