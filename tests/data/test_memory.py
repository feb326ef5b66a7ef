"""Streaming a dataset much larger than the reader's memory budget keeps memory bounded.

The dataset (~48 MB of int32 token ids uncompressed, ~12 MB on disk) is streamed in a fresh
process; Python-side peak (tracemalloc, includes NumPy buffers) and Arrow's pool peak are both
measured and must stay under the budget (a few row groups of 256 KiB, far below the dataset).
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_spark.data import count_minibatches
from rnn_spark.ingest import ingest_text

BUDGET = 8 << 20

STREAM = r"""
import json, sys, tracemalloc
import pyarrow as pa
from rnn_spark.data import ShardReader, count_minibatches, read_manifest, iter_minibatches
m = read_manifest(sys.argv[1])
units = m.work_units("train")
# pyarrow imports pandas (when installed) on the first to_numpy(): module code, not data.
pa.chunked_array([pa.array([1], pa.int32())]).to_numpy()
tracemalloc.start()
pool0 = pa.default_memory_pool().max_memory()
n = rows = tokens = 0
if sys.argv[2] == "reader":  # the trainer's access: row groups through the cached reader
    with ShardReader(cache_row_groups=4, verify_sha256=True) as r:
        for u in units:
            t = r.read_row_group(u)
            rows += t.num_rows; tokens += int((t["length"].to_numpy() - 1).sum())
    n = count_minibatches(units, 32)
else:
    for b in iter_minibatches(units, 32, manifest=m, seed=1, bucket=sys.argv[2] == "1"):
        n += 1; rows += b.rows; tokens += b.n_targets
cur, peak = tracemalloc.get_traced_memory()
print(json.dumps({"batches": n, "rows": rows, "tokens": tokens, "py_peak": peak,
                  "arrow_peak": pa.default_memory_pool().max_memory(), "arrow_before": pool0}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("bucket", ["0", "1", "reader"])
def test_stream_larger_than_budget(tmp_path_factory, bucket):
    root = tmp_path_factory.getbasetemp() / "memory-dataset"
    out = root / "shards"
    if not out.exists():
        root.mkdir(exist_ok=True)
        rng = np.random.default_rng(0)
        src = root / "big.txt"
        src.write_bytes(rng.integers(97, 123, 12 << 20, dtype=np.uint8).tobytes())
        ingest_text([str(src)], str(out), seq_len=255, vocab="byte", val_fraction=0.01,
                    row_group_bytes=256 << 10, shard_bytes=8 << 20)
    from rnn_spark.data import read_manifest
    m = read_manifest(str(out))
    units = m.work_units("train")
    dataset_bytes = sum(u.tokens for u in units) * 4
    on_disk = sum(s["bytes"] for s in m.shards("train"))
    assert dataset_bytes > 4 * BUDGET and on_disk > BUDGET
    p = subprocess.run([sys.executable, "-c", STREAM, str(out), bucket], capture_output=True,
                       text=True, timeout=600, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    print(json.dumps({"dataset_bytes": dataset_bytes, "on_disk": on_disk, **r}))
    assert r["batches"] == count_minibatches(units, 32)
    assert r["rows"] == m.counts("train")["sequences"]
    assert r["tokens"] == m.counts("train")["tokens"]
    assert r["py_peak"] < BUDGET
    assert r["arrow_peak"] < BUDGET
