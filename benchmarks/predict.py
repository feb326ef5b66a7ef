"""Batch scoring speed: `predict` with the inline runner vs Spark local[N] vs PyTorch in one process.

Makes a labelled token dataset (classification, variable lengths) cut into several shards, builds an
untrained model of the given size (speed does not depend on the weights), and prints JSON: rows/s of
predict inline, on Spark local[N] (one task per shard), and of PyTorch modules (the exported
snippet's) scoring the same rows in this process, with ``torch.set_num_threads(--torch-threads)``.
Each number is the best of ``--repeat`` runs, after one warm-up.

    python3 benchmarks/predict.py [--rows 20000] [--hidden 128] [--cell lstm] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time

import numpy as np


def make_dataset(root: str, rows: int, vocab: int, seed: int = 0) -> str:
    from rnn_spark import ingest
    rng = np.random.default_rng(seed)
    src = os.path.join(root, "seqs.jsonl")
    with open(src, "w") as f:
        for i in range(rows):
            n = int(rng.integers(20, 80))
            f.write(json.dumps({"sequence": rng.integers(0, vocab, n).tolist(), "label": i % 4}) + "\n")
    out = os.path.join(root, "data")
    ingest.ingest_labelled([src], out, task="classify", val_fraction=0.0, rows_per_group=1000,
                         shard_bytes=1 << 20, quiet=True)
    return out


def best_of(fn, repeat: int) -> float:
    fn()  # warm-up (Spark session and Python workers, caches)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--cell", default="lstm")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--torch-threads", type=int, default=1)
    args = ap.parse_args()
    from rnn_spark.data import read_manifest
    from rnn_spark.engine import Model, ModelConfig
    from rnn_spark.serve.common import make_runner
    from rnn_spark.serve.load import ModelSource, TrainedModel
    from rnn_spark.serve.predict import predict

    root = tempfile.mkdtemp(prefix="rnn-spark-bench-predict-")
    try:
        vocab = 64
        ds = make_dataset(root, args.rows, vocab)
        m = read_manifest(ds)
        cfg = ModelConfig(cell=args.cell, hidden_sizes=[args.hidden], vocab_size=m.vocab_size,
                          embedding_size=32, output_size=m.output_size, task="classify")
        tm = TrainedModel(cfg, Model(cfg, seed=0).state_dict(),
                          source=ModelSource("memory", "model", None))
        rows = m.counts("train")["sequences"]
        res = {"rows": rows, "shards": len(m.shards("train")), "cell": args.cell,
               "hidden": args.hidden, "batch_size": args.batch_size, "cpus": os.cpu_count()}
        out = os.path.join(root, "pred")

        def run(runner):
            def go():
                predict(tm, ds, out, runner=runner, batch_size=args.batch_size, overwrite=True)
            return go
        inline = make_runner("inline")
        res["inline_rows_per_s"] = rows / best_of(run(inline), args.repeat)
        spark = make_runner("spark", args.master)
        try:
            res["spark_rows_per_s"] = rows / best_of(run(spark), args.repeat)
        finally:
            spark.close()
        res["spark_vs_inline"] = res["spark_rows_per_s"] / res["inline_rows_per_s"]
        res["torch_rows_per_s"] = torch_rows_per_s(tm, m, args)
        print(json.dumps(res, indent=1))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def torch_rows_per_s(tm, m, args):
    """The exported PyTorch modules on the same rows (read once, padded per batch as predict does)."""
    try:
        import torch
    except ImportError:
        return None
    from rnn_spark.data import iter_minibatches
    from rnn_spark.serve.export_torch import SNIPPET, torch_names
    torch.set_num_threads(args.torch_threads)
    ns: dict = {}
    exec(SNIPPET, ns)
    model = ns["RNNModel"](tm.config.to_dict()).eval()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in torch_names(tm.config, tm.state).items()})
    batches = [(torch.from_numpy(mb.inputs.astype(np.int64)), torch.from_numpy(mb.lengths))
               for mb in iter_minibatches(m.work_units("train"), args.batch_size, manifest=m,
                                          shuffle_rows=False)]

    def go():
        with torch.no_grad():
            for x, n in batches:
                torch.softmax(model(x, n), dim=1)
    return sum(len(n) for _, n in batches) / best_of(go, args.repeat)


if __name__ == "__main__":
    main()
