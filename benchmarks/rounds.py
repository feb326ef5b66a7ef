"""Round overhead: where a training round's time goes, per phase, as H (minibatches per round) grows.

Ingests a small char corpus (Python's `email` sources), then trains LSTM-<hidden> with W workers
on Spark local[N] for each H and prints JSON: the mean seconds of every phase of the per-round time
split (the same fields as metrics.jsonl's `kind: "round"` records), and the round overhead = round
wall minus the slowest task (read + compute), also as a fraction of the round. Goal: <= 10% at H=20.

--secure turns Spark's network security on (spark.authenticate, spark.network.crypto.enabled), so
the resident tasks' channel is TLS (runners/channel.py); `channel` in the output says which one
the rounds ran on (tls, plain, jobs: no resident tasks, or inline). The TLS goal: round_s at most
+10% over the plain channel's, same arguments.

    python3 benchmarks/rounds.py [--hidden 256] [--workers 2] [--steps 1,5,20] [--rounds 5]
                                 [--master local[2]] [--runner spark|inline] [--secure]
                                 [--out benchmarks/results/rounds.json]
"""

from __future__ import annotations

import argparse
import json
import secrets
import sysconfig
import tempfile
from dataclasses import asdict
from pathlib import Path

import numpy as np

from rnn_spark import config, ingest
from rnn_spark.training.loop import Trainer

SECURE = {"spark.authenticate": "true", "spark.authenticate.secret": secrets.token_hex(16),
          "spark.network.crypto.enabled": "true"}
PHASES = ("broadcast_s", "launch_s", "read_max_s", "compute_max_s", "compute_mean_s",
          "transfer_s", "fold_s", "task_max_s", "straggler")


def measure(ds: str, args, steps: int, run_dir: str, runner) -> dict:
    cfg = config.load([], {
        "data.path": ds, "train.run_dir": run_dir, "train.runner": args.runner,
        "spark.master": args.master, "train.workers": args.workers,
        "train.steps_per_round": steps, "train.batch_size": 32, "train.k1": 64,
        "model.hidden_sizes": [args.hidden], "model.embedding_size": 32, "train.epochs": 100,
        "spark.conf": SECURE if args.secure else {}})
    trainer = Trainer(cfg, runner=runner, quiet=True)
    trainer.open_runner()
    trainer.run_round(0)  # warm-up: Python workers, caches
    rows = []
    for g in range(1, args.rounds + 1):
        import time

        t0 = time.perf_counter()
        trainer.run_round(g)
        wall = time.perf_counter() - t0
        rows.append({"round_s": wall, **asdict(trainer.last_split)})
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ["round_s", *PHASES]}
    overhead = mean["round_s"] - mean["task_max_s"]
    return {"H": steps, **{k: round(v, 4) for k, v in mean.items()},
            "overhead_s": round(overhead, 4), "overhead_frac": round(overhead / mean["round_s"], 4),
            "params": trainer.model.num_params, "channel": channel(trainer.runner),
            "runner": trainer.runner}


def channel(runner) -> str:
    """What the rounds ran on: the resident tasks' channel (tls, plain), jobs, or inline."""
    if not hasattr(runner, "_pool"):
        return "inline"
    return "jobs" if runner._pool is None else runner._pool.channel


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", default="1,5,20", help="H values, comma-separated")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--runner", default="spark", choices=("spark", "inline"))
    ap.add_argument("--secure", action="store_true",
                    help="Spark's network security on: the resident tasks' channel is TLS")
    ap.add_argument("--out", default="", help="also write the JSON here")
    args = ap.parse_args(argv)
    results, runner = [], None
    with tempfile.TemporaryDirectory() as tmp:
        ds = str(Path(tmp) / "ds")
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        ingest.ingest_text([str(stdlib / "email" / "*.py")], ds, seq_len=128, quiet=True)
        try:
            for h in (int(x) for x in args.steps.split(",")):
                res = measure(ds, args, h, str(Path(tmp) / f"run-{h}"), runner)
                runner = res.pop("runner")  # one Spark session for every H
                results.append(res)
        finally:
            if runner is not None:
                runner.close()
    text = json.dumps({"benchmark": "rounds", "cell": "lstm", "hidden": args.hidden,
                       "workers": args.workers, "batch": 32, "k1": 64, "master": args.master,
                       "runner": args.runner, "secure": args.secure, "rounds": args.rounds,
                       "results": results}, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
