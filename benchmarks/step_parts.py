"""Where one training step of the race's model goes, on one thread: the whole step, the forward
pass alone, and the three GEMM shapes that carry most of it, each with its GFLOP/s.

Model: char LSTM, embedding 64, hidden 256, vocabulary 96, batch 32, window 50, float32 (the
race of benchmarks/time_to_loss.py). Best of ``--repeats`` rounds of ``--steps`` calls.

    python3 benchmarks/step_parts.py [--hidden 256] [--batch 32]     # prints JSON
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from threadpoolctl import threadpool_limits

from rnn_spark.engine import Model, ModelConfig


def best_ms(fn, steps: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        times.append((time.perf_counter() - t) / steps)
    return min(times) * 1e3


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--embedding", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--vocab", type=int, default=96)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args(argv)
    B, T, H, V = a.batch, a.window, a.hidden, a.vocab
    threadpool_limits(1)
    cfg = ModelConfig(cell="lstm", vocab_size=V, embedding_size=a.embedding, hidden_sizes=[H],
                      output_size=V, task="lm", dtype="float32")
    model = Model(cfg, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    f32 = np.float32
    h, w = rng.random((B, H), f32), rng.random((H, 4 * H), f32)
    d, wt = rng.random((B, 4 * H), f32), rng.random((4 * H, H), f32)
    dz, hs = rng.random((4 * H, B * T), f32), rng.random((B * T, H), f32)
    o1, o2, o3 = np.empty((B, 4 * H), f32), np.empty((B, H), f32), np.empty((4 * H, H), f32)
    gemm_flop = 2 * B * H * 4 * H * T  # each of the three below
    parts = {
        "step (forward + backward)": lambda: model.loss_and_flat_grad(x, y),
        "forward + loss only (validation)": lambda: model.evaluate(x, y),
        "recurrent forward GEMMs: T x [B,H]@[H,4H]": lambda: [np.matmul(h, w, out=o1) for _ in range(T)],
        "recurrent backward GEMMs: T x [B,4H]@[4H,H]": lambda: [np.matmul(d, wt, out=o2) for _ in range(T)],
        "weight gradient GEMM: [4H,B*T]@[B*T,H]": lambda: np.matmul(dz, hs, out=o3),
    }
    out = {"benchmark": "step_parts", "batch": B, "window": T, "hidden": H, "vocab": V,
           "threads": 1, "parts": []}
    for name, fn in parts.items():
        ms = best_ms(fn, a.steps, a.repeats)
        row = {"part": name, "ms": round(ms, 2)}
        if "GEMM" in name:
            row["gflop_s"] = round(gemm_flop / ms / 1e6, 1)
        out["parts"].append(row)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
