"""Kernel benchmark: tokens/s of one language-model training step, ours vs PyTorch, one thread.

One step = forward + backward of embedding -> one recurrent layer -> linear head -> softmax
cross-entropy (mean over all B*T targets), no optimizer update, float32, batch 32, window 50,
vocabulary 96. Both sides run in the same process, interleaved, with ONE BLAS/compute thread
(threadpoolctl for NumPy's BLAS, torch.set_num_threads(1)). Each measurement is the best of
``--repeats`` rounds of ``--steps`` steps (the machine is shared; best-of filters the noise) and
the spread (worst/best) is reported too.

    python3 benchmarks/kernel.py                      # prints JSON
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 benchmarks/kernel.py
    python3 benchmarks/kernel.py --dropout 0.25 --no-torch --clock cpu \
        --out benchmarks/results/kernel_dropout.json

``--dropout P`` adds a third side, ours with all three dropouts at P (word dropout on the
embeddings, recurrent dropout, dropout before the head), fresh masks drawn every step as in
training, and reports ``dropout_overhead`` = (time per token with dropout) / (without) - 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from rnn_spark.engine import Model, ModelConfig


def ours_step(cell, H, E, B, T, V, seed=0, dropout=0.0):
    cfg = ModelConfig(cell=cell, vocab_size=V, embedding_size=E, hidden_sizes=[H], output_size=V,
                      task="lm", dtype="float32", dropout=dropout, embedding_dropout=dropout,
                      recurrent_dropout=dropout)
    m = Model(cfg, seed=seed)
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V, (B, T))
    y = rng.integers(0, V, (B, T))
    if not dropout:
        return lambda: m.loss_and_flat_grad(x, y)
    steps = iter(range(1 << 62))
    return lambda: m.loss_and_flat_grad(x, y, dropout=(seed, next(steps)))  # new masks each step


def torch_step(cell, H, E, B, T, V, seed=0):
    import torch

    torch.manual_seed(seed)
    kind = {"rnn_tanh": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    emb = torch.nn.Embedding(V, E)
    rnn = kind(E, H, batch_first=True)
    head = torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, V, (B, T), generator=g)
    y = torch.randint(0, V, (B * T,), generator=g)

    def step():
        for p in params:
            p.grad = None
        out, _ = rnn(emb(x))
        loss = torch.nn.functional.cross_entropy(head(out).reshape(B * T, V), y)
        loss.backward()
        return loss.item()

    return step


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}
CLOCK = time.perf_counter


def timed(fn, steps):
    t = CLOCK()
    for _ in range(steps):
        fn()
    return (CLOCK() - t) / steps


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cells", default="rnn_tanh,lstm,gru")
    ap.add_argument("--hidden", default="128,256,512")
    ap.add_argument("--embedding", default="64", help="embedding size, or 'hidden' for E = H")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--vocab", type=int, default=96)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--min-seconds", type=float, default=0.3, help="per round and side")
    ap.add_argument("--no-torch", action="store_true")
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="also time ours with every dropout at this rate (0 = not)")
    ap.add_argument("--out", help="also write the JSON to this file")
    ap.add_argument("--clock", choices=list(CLOCKS), default="wall",
                    help="wall time, or this process's CPU time (steadier on a shared machine)")
    a = ap.parse_args(argv)
    global CLOCK
    CLOCK = CLOCKS[a.clock]
    B, T, V = a.batch, a.window, a.vocab
    try:
        import torch

        torch.set_num_threads(1)
        have_torch = not a.no_torch
    except ImportError:
        have_torch = False
    rows = []
    with threadpool_limits(limits=1):
        blas = [{k: d.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
                for d in threadpool_info()]
        for cell in a.cells.split(","):
            for H in (int(h) for h in a.hidden.split(",")):
                E = H if a.embedding == "hidden" else int(a.embedding)
                sides = {"ours": ours_step(cell, H, E, B, T, V)}
                if a.dropout:
                    sides["ours_dropout"] = ours_step(cell, H, E, B, T, V, dropout=a.dropout)
                if have_torch:
                    sides["torch"] = torch_step(cell, H, E, B, T, V)
                steps = {}
                for name, fn in sides.items():  # warm up, size the rounds
                    fn()
                    dt = timed(fn, 2)
                    steps[name] = max(2, int(a.min_seconds / dt))
                best = {n: [] for n in sides}
                for _ in range(a.repeats):  # interleaved so both sides see the same noise
                    for name, fn in sides.items():
                        best[name].append(timed(fn, steps[name]))
                row = {"cell": cell, "hidden": H, "embedding": E}
                for name, ts in best.items():
                    row[f"{name}_tok_s"] = round(B * T / min(ts), 1)
                    row[f"{name}_spread"] = round(max(ts) / min(ts), 3)
                if have_torch:
                    row["ratio"] = round(row["ours_tok_s"] / row["torch_tok_s"], 3)
                if a.dropout:
                    row["dropout_overhead"] = round(
                        row["ours_tok_s"] / row["ours_dropout_tok_s"] - 1, 3)
                rows.append(row)
                print(json.dumps(row), file=sys.stderr, flush=True)
    out = {
        "benchmark": "kernel", "batch": B, "window": T, "vocab": V, "dtype": "float32",
        "threads": 1, "repeats": a.repeats, "blas": blas, "dropout": a.dropout, "clock": a.clock,
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "numpy": np.__version__, "torch": torch.__version__ if have_torch else None,
        "machine": platform.processor() or platform.machine(), "results": rows,
    }
    if a.dropout:
        out["max_dropout_overhead"] = max(r["dropout_overhead"] for r in rows)
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
