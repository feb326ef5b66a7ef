"""Round overhead: what a training round costs beyond the workers' own compute.

Ingests a small char corpus (Python's `email` sources), then trains the same configuration with
the inline runner and with Spark local[N], and prints JSON: per-round wall time, the workers'
compute (inline: the sum of the tasks, run one after another; Spark: the slowest task), and the
difference (broadcast, scheduling, result transfer, driver folding).

    python3 benchmarks/rounds.py [--hidden 128] [--rounds 20] [--workers 2] [--master local[2]]
"""

from __future__ import annotations

import argparse
import json
import sysconfig
import tempfile
import time
from pathlib import Path

import numpy as np

from rnn_spark import config, ingest
from rnn_spark.training.loop import Trainer, make_runner
from rnn_spark.training.state import RoundSums
from rnn_spark.training.worker import train_task


class TimedTrainer(Trainer):
    """Trainer that records, per round, the wall time and the slowest task's own seconds."""

    def run_rounds(self, n: int) -> list[dict]:
        out = []
        for g in range(n):
            t0 = time.perf_counter()
            shared = {"ctx": self.ctx, "weights": self.state.bcast,
                      "opt_state": self.state.opt_state, "opt_steps": self.state.opt_steps}
            sums = RoundSums(self.state.bcast.astype(np.float64), self.cfg.train.workers)
            secs = []
            for res in self.runner.map(train_task, self.tasks_for_round(g), shared):
                sums.add(res)
                secs.append(res["seconds"])
            self.state.fold(sums)
            # inline runs tasks one after another, Spark side by side: compute is the sum or the max
            compute = sum(secs) if self.cfg.train.runner == "inline" else max(secs)
            out.append({"wall": time.perf_counter() - t0, "task": compute, "targets": sums.n})
        return out


def measure(ds: str, runner: str, args, run_dir: str) -> dict:
    cfg = config.load([], {
        "data.path": ds, "train.run_dir": run_dir, "train.runner": runner,
        "spark.master": args.master, "train.workers": args.workers,
        "train.steps_per_round": args.steps, "train.batch_size": 32, "train.k1": 64,
        "model.hidden_sizes": [args.hidden], "model.embedding_size": 32, "train.epochs": 100})
    trainer = TimedTrainer(cfg, quiet=True)
    trainer.runner = make_runner(cfg, result_bytes=trainer.model.flat.nbytes * 4)
    try:
        trainer.run_rounds(2)  # warm-up: Spark session, Python workers, caches
        rounds = trainer.run_rounds(args.rounds)
    finally:
        trainer.close()
    wall = float(np.median([r["wall"] for r in rounds]))
    task = float(np.median([r["task"] for r in rounds]))
    targets = float(np.median([r["targets"] for r in rounds]))
    return {"runner": runner, "round_s": round(wall, 4), "compute_s": round(task, 4),
            "overhead_s": round(wall - task, 4), "targets_per_s": round(targets / wall),
            "params": trainer.model.num_params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--steps", type=int, default=4, help="H, minibatches per worker per round")
    ap.add_argument("--master", default="local[2]")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ds = str(Path(tmp) / "ds")
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        ingest.ingest_text([str(stdlib / "email" / "*.py")], ds, seq_len=128, quiet=True)
        results = [measure(ds, r, args, str(Path(tmp) / f"run-{r}")) for r in ("inline", "spark")]
    print(json.dumps({"benchmark": "rounds", "hidden": args.hidden, "workers": args.workers,
                      "steps_per_round": args.steps, "batch": 32, "k1": 64, "master": args.master,
                      "results": results}, indent=1))


if __name__ == "__main__":
    main()
