"""Scaling past the driver: what a round costs as W (tasks) and P (parameters) grow, for both
reductions (train.reduce = driver | tree), and a cost model fitted to it and extrapolated.

For every (P, W, reduce) it trains a char LSTM sized to P parameters (H=1 minibatch of 2 rows x 16
steps per task, plain SGD: compute is small, the round is mostly overhead) on Spark and prints
JSON: per round, the bytes the driver receives (the pickled size of the task results, or of the one
PartialSum), the round wall time, its overhead (wall minus the slowest task; and wall minus the
tasks' total compute spread over the slots), and the driver's peak RSS during the measured rounds.

Then it fits (numpy least squares, coefficients kept >= 0) the overhead of a round

    driver:  a + b P + c W / E + d W P              (every task's P floats into one process)
    tree:    a + b P + c W / E + e W P / E + f depth P  (E executors share the first stage;
                                                      depth = levels of the fan-in-8 tree)

(a: per round; b P: the broadcast; c: a task's launch and (de)serialisation, done by E executors
in parallel -- E = the slots measured on; P in millions.)

to those points and extrapolates to E = 10 and 100 executors (one task per executor) and an epoch
of 10^8 tokens: time per epoch and the parallel efficiency, where a round stops scaling, and for
which H (local steps per round) 100 executors reach a loss sooner than 10, with the samples needed
to reach it growing with W and H as in the assumption printed with the result.

    python3 benchmarks/scaling.py [--params 0.1,1,10] [--workers 2,8,32] [--rounds 2]
                                  [--master local[2]] [--reduce driver,tree] [--out scaling.json]
                                  [--driver-memory 4g] [--from-json scaling.json]
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sysconfig
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from rnn_spark import config, ingest
from rnn_spark.training.loop import Trainer

EMBED, BATCH, K1, SEQ = 32, 2, 16, 16
FAN_IN = 8


def hidden_for(params: float, vocab: int) -> int:
    """The LSTM width giving about `params` parameters: 4h(E + h + 1) + 4h + h V + V (rough)."""
    h = 1
    while 4 * h * (EMBED + h + 2) + h * vocab + vocab < params:
        h += 1
    return h


def peak_rss_reset() -> None:
    try:  # Linux: writing 5 resets the process's peak RSS (VmHWM)
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Counting:
    """Wraps a runner: how many bytes the driver receives (each result's pickled size)."""

    def __init__(self, runner):
        self.runner, self.bytes = runner, 0

    def __getattr__(self, name):
        return getattr(self.runner, name)

    def map(self, fn, tasks, shared):
        for i, res in enumerate(self.runner.map(fn, tasks, shared)):
            if i == 0:  # every task's result has the same size; pickling one is cheap enough
                size = len(pickle.dumps(res, protocol=pickle.HIGHEST_PROTOCOL))
            self.bytes += size
            yield res

    def tree_reduce(self, fn, tasks, shared, combine):
        root = self.runner.tree_reduce(fn, tasks, shared, combine)
        self.bytes += len(pickle.dumps(root, protocol=pickle.HIGHEST_PROTOCOL))
        return root


def measure(ds: str, run_dir: str, runner, hidden: int, workers: int, mode: str, rounds: int,
            slots: int) -> dict:
    cfg = config.load([], {
        "data.path": ds, "train.run_dir": run_dir, "train.runner": "spark",
        "train.workers": workers, "train.steps_per_round": 1, "train.batch_size": BATCH,
        "train.k1": K1, "model.hidden_sizes": [hidden], "model.embedding_size": EMBED,
        "optim.optimizer": "sgd", "train.epochs": 1000, "train.reduce": mode,
        "train.validate_every": 0, "train.checkpoint_every": 0})
    counting = Counting(runner)
    trainer = Trainer(cfg, runner=counting, quiet=True)
    runner.result_bytes_hint = trainer.model.flat.nbytes * 4  # as Trainer.open_runner sets it
    trainer.run_round(0)  # warm-up: Python workers, the model in every worker
    rows = []
    for g in range(1, rounds + 1):
        counting.bytes = 0
        peak_rss_reset()
        t0 = time.perf_counter()
        sums = trainer.run_round(g)
        wall = time.perf_counter() - t0
        split = trainer.last_split
        waves = sum(sums.task_seconds) / slots  # the tasks' own time, spread over the slots
        rows.append({"round_s": wall, "overhead_s": wall - split.task_max_s,
                     "overhead_waves_s": max(0.0, wall - waves), "driver_bytes": counting.bytes,
                     "driver_peak_rss_mb": peak_rss_mb(), "tokens": split.tokens, **asdict(split)})
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    return {"params": trainer.model.num_params, "hidden": hidden, "W": workers, "reduce": mode,
            **{k: round(v, 4) for k, v in mean.items()}}


# -- the cost model ------------------------------------------------------------------------------
def depth(w: int) -> int:
    return max(1, math.ceil(math.log(max(w, 2), FAN_IN)))


def features(mode: str, p: float, w: int, executors: int) -> list[float]:
    m = p / 1e6  # parameters in millions keeps the columns comparable
    if mode == "driver":
        return [1.0, m, w / executors, w * m]
    return [1.0, m, w / executors, w * m / executors, depth(w) * m]


NAMES = {"driver": ["a_s", "b_s_per_Mparam", "c_s_per_task_per_executor", "d_s_per_task_Mparam"],
         "tree": ["a_s", "b_s_per_Mparam", "c_s_per_task_per_executor",
                  "e_s_per_task_Mparam_per_executor",
                  "f_s_per_level_Mparam"]}


def nnls(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least squares with coefficients >= 0 (drop the most negative one and refit)."""
    keep = list(range(x.shape[1]))
    while True:
        coef = np.zeros(x.shape[1])
        coef[keep] = np.linalg.lstsq(x[:, keep], y, rcond=None)[0]
        if coef.min() >= 0 or len(keep) == 1:
            return np.clip(coef, 0, None)
        keep.remove(int(np.argmin(coef)))


def fit(points: list[dict], slots: int) -> dict:
    out = {}
    for mode in ("driver", "tree"):
        pts = [p for p in points if p["reduce"] == mode]
        if len(pts) < 3:
            continue
        x = np.array([features(mode, p["params"], p["W"], slots) for p in pts])
        y = np.array([p["overhead_waves_s"] for p in pts])
        coef = nnls(x, y)
        resid = y - x @ coef
        out[mode] = {"coef": dict(zip(NAMES[mode], np.round(coef, 6).tolist())),
                     "rms_residual_s": round(float(np.sqrt(np.mean(resid ** 2))), 4)}
    return out


def samples_factor(w: int, h: int, kappa: float) -> float:
    """ASSUMED: tokens needed to reach a loss, relative to one process, grow as
    1 + kappa * log2(W) * sqrt(H / 10) (kappa from issue #13: W=2, H=10 needed ~1.5x with bmuf)."""
    return 1.0 + kappa * math.log2(max(w, 1)) * math.sqrt(h / 10)


def extrapolate(model: dict, rate: float, kappa: float) -> dict:
    """Rounds of one task per executor; an epoch of 1e8 tokens; params 1M and 10M."""
    epoch_tokens = 1e8
    tokens_per_step = 32 * 50  # B=32 rows x T=50 per local step, as in issue #13's race
    out = {"assumptions": {"epoch_tokens": epoch_tokens, "tokens_per_local_step": tokens_per_step,
                           "flops_per_s_per_core": round(rate, 1), "flops_per_token": "6 P",
                           "kappa": kappa,
                           "samples_needed": "1 + kappa * log2(W) * sqrt(H / 10) x one process"},
           "rows": []}
    for mode, m in model.items():
        coef = np.array(list(m["coef"].values()))
        for p in (1e6, 1e7):
            throughput = rate / (6 * p)  # tokens/s of one core
            for h in (1, 4, 10, 50):
                row = {"reduce": mode, "params": p, "H": h}
                for e in (10, 100):
                    overhead = float(np.dot(features(mode, p, e, e), coef))
                    compute = h * tokens_per_step / throughput
                    rnd = overhead + compute
                    epoch = epoch_tokens / (e * h * tokens_per_step) * rnd
                    to_loss = epoch * samples_factor(e, h, kappa)
                    row[f"E{e}"] = {"round_s": round(rnd, 3), "epoch_s": round(epoch, 1),
                                    "efficiency": round(compute / rnd, 3),
                                    "to_loss_s": round(to_loss, 1)}
                row["E100_speedup"] = round(row["E10"]["to_loss_s"] / row["E100"]["to_loss_s"], 2)
                out["rows"].append(row)
            for h in (1, 10):
                out.setdefault("efficiency_below_50pct_at_executors", {})[
                    f"{mode}_P{p:g}_H{h}"] = stop_point(coef, mode, p, rate, tokens_per_step, h)
    return out


def stop_point(coef: np.ndarray, mode: str, p: float, rate: float, tps: int, h: int) -> int | None:
    """The executor count (one task each) at which a round's parallel efficiency -- compute /
    (compute + overhead) -- falls below 50%: past it, most of a round is overhead."""
    compute = h * tps * 6 * p / rate
    for e in range(1, 10001):
        if compute / (compute + float(np.dot(features(mode, p, e, e), coef))) < 0.5:
            return e
    return None


def markdown(result: dict) -> str:
    """The tables of docs/benchmarks/scaling.md: measured points, then the extrapolation."""
    lines = ["| P | W | reduce | bytes into the driver / round | round | overhead (- slowest task) | "
             "overhead (- compute / slots) | transfer | driver peak RSS |",
             "|---|---|---|---|---|---|---|---|---|"]
    for p in result["points"]:
        lines.append(f"| {p['params'] / 1e6:.1f}M | {p['W']} | {p['reduce']} | "
                     f"{p['driver_bytes'] / 1e6:.1f} MB | {p['round_s']:.2f} s | "
                     f"{p['overhead_s']:.2f} s | {p['overhead_waves_s']:.2f} s | "
                     f"{p['transfer_s']:.2f} s | {p['driver_peak_rss_mb']:.0f} MB |")
    lines += ["", "| reduce | P | H | E=10: round / efficiency / to loss | "
              "E=100: round / efficiency / to loss | E=100 vs E=10 |", "|---|---|---|---|---|---|"]
    for r in result["extrapolation"]["rows"]:
        cell = [f"{r[e]['round_s']:.2f} s / {r[e]['efficiency']:.0%} / {r[e]['to_loss_s']:.0f} s"
                for e in ("E10", "E100")]
        lines.append(f"| {r['reduce']} | {r['params'] / 1e6:g}M | {r['H']} | {cell[0]} | {cell[1]} | "
                     f"{r['E100_speedup']:.2f}x faster |")
    return "\n".join(lines)


def finish(result: dict, kappa: float) -> dict:
    """Fit the cost model to the measured points and extrapolate it."""
    points, slots = result["points"], result["slots"]
    result["model"] = fit(points, slots)
    # one core's training speed in flop/s (~6 P flop per token, forward + backward), from the
    # points where compute is largest; tokens/s at P parameters is then rate / (6 P)
    big = [p for p in points if p["params"] >= 0.5e6] or points
    rate = float(np.median([p["tokens"] / p["W"] * 6 * p["params"] / max(p["compute_mean_s"], 1e-9)
                            for p in big]))
    result["flops_per_s_per_core"] = round(rate, 1)
    result["extrapolation"] = extrapolate(result["model"], rate, kappa)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--params", default="0.1,1,10", help="P in millions, comma-separated")
    ap.add_argument("--workers", default="2,8,32", help="W values, comma-separated")
    ap.add_argument("--reduce", default="driver,tree")
    ap.add_argument("--rounds", type=int, default=2, help="measured rounds per point (after 1 warm-up)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="4g", help="spark.driver.memory (local[N]: the one JVM "
                    "that holds every executor; 1g fails at W=32, P=10M with the driver reduction)")
    ap.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE",
                    help="more Spark settings, e.g. spark.executor.instances=2 for --master yarn")
    ap.add_argument("--kappa", type=float, default=0.5)
    ap.add_argument("--out", default="", help="also write the JSON here (rewritten after each point)")
    ap.add_argument("--from-json", default="", help="no measuring: refit a saved result and print "
                    "the tables of docs/benchmarks/scaling.md (markdown)")
    args = ap.parse_args()
    if args.from_json:
        print(markdown(finish(json.loads(Path(args.from_json).read_text()), args.kappa)))
        return
    from rnn_spark.runners.spark import SparkRunner

    conf = dict(kv.split("=", 1) for kv in args.conf)
    runner = SparkRunner(args.master, "rnn-spark-scaling",
                         conf={"spark.driver.memory": args.driver_memory, **conf})
    slots = runner.sc.defaultParallelism
    points: list[dict] = []
    result = {"benchmark": "scaling", "master": args.master, "slots": slots, "batch": BATCH,
              "driver_memory": args.driver_memory,
              "k1": K1, "steps_per_round": 1, "rounds": args.rounds, "points": points}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ds = str(Path(tmp) / "ds")
            stdlib = Path(sysconfig.get_paths()["stdlib"])
            ingest.ingest_text([str(stdlib / "email" / "*.py")], ds, seq_len=SEQ, quiet=True)
            vocab = int(json.loads((Path(ds) / "manifest.json").read_text())["vocab_size"])
            for p in (float(x) * 1e6 for x in args.params.split(",")):
                for w in (int(x) for x in args.workers.split(",")):
                    for mode in args.reduce.split(","):
                        run_dir = str(Path(tmp) / f"run-{p:g}-{w}-{mode}")
                        points.append(measure(ds, run_dir, runner, hidden_for(p, vocab), w, mode,
                                              args.rounds, slots))
                        if args.out:
                            Path(args.out).write_text(json.dumps(result, indent=1))
    finally:
        runner.close()
    text = json.dumps(finish(result, args.kappa), indent=1)
    if args.out:
        Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
