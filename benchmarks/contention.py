"""Do two busy cores slow each other down? One training step of the race's model timed in one
process alone, then in P processes at once (each pinned to its own CPU, all started together),
with nothing else of ours running: no Spark, no driver, no JVM.

If P=2 steps take as long as P=1, the cores are independent and any slow-down inside a Spark run
comes from what else runs there (driver, JVM, Python daemons). If they take longer, the two
"cores" share hardware (SMT siblings on the host, memory bandwidth, a shared cache), and no change
to rnn-spark can win it back on this machine.

    python3 benchmarks/contention.py [--engine numpy|torch] [--seconds 20] [--out FILE]   # JSON

Model: char LSTM, embedding 64, hidden 256, vocabulary 96, batch 32, window 50, float32, one
BLAS thread (the race of benchmarks/time_to_loss.py and benchmarks/step_parts.py).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import time

B, T, H, E, V = 32, 50, 256, 64, 96


def _numpy_step():
    import numpy as np

    from rnn_spark.engine import Model, ModelConfig
    cfg = ModelConfig(cell="lstm", vocab_size=V, embedding_size=E, hidden_sizes=[H],
                      output_size=V, task="lm", dtype="float32")
    model = Model(cfg, seed=0)
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    return lambda: model.loss_and_flat_grad(x, y)


def _torch_step():
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(0)
    emb, lstm = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H, batch_first=True)
    head = torch.nn.Linear(H, V)
    params = list(emb.parameters()) + list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=2e-3)
    x, y = torch.randint(0, V, (B, T)), torch.randint(0, V, (B, T))
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        out, _ = lstm(emb(x))
        loss_fn(head(out).reshape(-1, V), y.reshape(-1)).backward()
        opt.step()
    return step


def _worker(engine: str, cpu: int, seconds: float, barrier, queue) -> None:
    from threadpoolctl import threadpool_limits
    os.sched_setaffinity(0, {cpu})
    threadpool_limits(1)
    step = _numpy_step() if engine == "numpy" else _torch_step()
    for _ in range(5):  # warm up caches and allocators
        step()
    barrier.wait()
    times, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    queue.put((cpu, times))


def measure(engine: str, procs: int, seconds: float) -> dict:
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(procs), ctx.Queue()
    cpus = sorted(os.sched_getaffinity(0))[:procs]
    ps = [ctx.Process(target=_worker, args=(engine, c, seconds, barrier, queue)) for c in cpus]
    for p in ps:
        p.start()
    got = [queue.get() for _ in ps]
    for p in ps:
        p.join()
    per = {f"cpu{c}": round(statistics.median(t) * 1e3, 2) for c, t in sorted(got)}
    allt = [x for _, t in got for x in t]
    return {"engine": engine, "processes": procs, "median_step_ms": per,
            "median_ms": round(statistics.median(allt) * 1e3, 2),
            "steps": sum(len(t) for _, t in got)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engine", choices=["numpy", "torch", "both"], default="both")
    ap.add_argument("--seconds", type=float, default=20.0, help="timed seconds per case")
    ap.add_argument("--out", help="also write the JSON here")
    a = ap.parse_args(argv)
    ncpu = len(os.sched_getaffinity(0))
    engines = ["numpy", "torch"] if a.engine == "both" else [a.engine]
    rows = []
    for engine in engines:
        for procs in sorted({1, min(2, ncpu)}):
            rows.append(measure(engine, procs, a.seconds))
    for engine in engines:
        ms = [r["median_ms"] for r in rows if r.get("engine") == engine and "median_ms" in r]
        if len(ms) == 2:
            rows.append({"engine": engine, "slowdown_two_vs_one": round(ms[1] / ms[0], 3)})
    out = {"benchmark": "contention", "cpus": ncpu, "machine": platform.processor() or
           platform.machine(), "load_before": os.getloadavg()[0], "seconds": a.seconds,
           "results": rows}
    text = json.dumps(out, indent=2)
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
