"""predict streams: scoring a dataset far larger than the memory budget keeps the peak under it
(Python-side peak via tracemalloc, NumPy buffers included, and Arrow's pool peak)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnn_spark.data import read_manifest
from rnn_spark.ingest import ingest_text

BUDGET = 10 << 20  # a row group (256 KiB) and a 64-row batch's scratch fit

SCORE = r"""
import json, sys, tracemalloc
import pyarrow as pa
from rnn_spark.data import read_manifest
from rnn_spark.engine import Model, ModelConfig
from rnn_spark.serve.load import ModelSource, TrainedModel
from rnn_spark.serve.predict import predict
m = read_manifest(sys.argv[1])
cfg = ModelConfig(cell="gru", hidden_sizes=[8], vocab_size=m.vocab_size, embedding_size=4,
                  output_size=m.vocab_size, task="lm")
tm = TrainedModel(cfg, Model(cfg, seed=0).state_dict(), vocab=m.tokenizer(),
                  source=ModelSource("memory", "model", None))
run = lambda split, out: predict(tm, sys.argv[1], sys.argv[2] + out, split=split, batch_size=64)
# warm-up: modules imported on first use (pyarrow imports pandas on its first list conversion, the
# runner threadpoolctl, ...) and the engine's per-batch scratch are one-off costs, not data
run("val", "-warm")
tracemalloc.start()
small = run("val", "-small")
small_peak = tracemalloc.get_traced_memory()[1]
tracemalloc.reset_peak()
pool0 = pa.default_memory_pool().max_memory()
res = run("train", "-big")
cur, peak = tracemalloc.get_traced_memory()
print(json.dumps({"rows": res.rows, "small_rows": small.rows, "small_py_peak": small_peak,
                  "py_peak": peak, "arrow_peak": pa.default_memory_pool().max_memory(),
                  "arrow_before": pool0}))
"""


@pytest.mark.slow
def test_predict_memory_is_bounded(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "big.txt"
    src.write_bytes(rng.integers(97, 105, 6 << 20, dtype=np.uint8).tobytes())
    ds = tmp_path / "shards"
    ingest_text([str(src)], str(ds), seq_len=255, vocab="char", val_fraction=0.01,
                row_group_bytes=256 << 10, shard_bytes=8 << 20, quiet=True)
    m = read_manifest(str(ds))
    dataset_bytes = sum(u.tokens for u in m.work_units("train")) * 4
    assert dataset_bytes > 2 * BUDGET
    p = subprocess.run([sys.executable, "-c", SCORE, str(ds), str(tmp_path / "pred")],
                       capture_output=True, text=True, timeout=900,
                       env=dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1"))
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout.strip().splitlines()[-1])
    print(json.dumps({"dataset_bytes": dataset_bytes, **r}))
    assert r["rows"] == m.counts("train")["sequences"]
    assert r["rows"] > 50 * r["small_rows"]
    assert r["py_peak"] < 1.25 * r["small_py_peak"]  # 50x the rows, the same memory
    assert r["py_peak"] < BUDGET
    assert r["arrow_peak"] < BUDGET
