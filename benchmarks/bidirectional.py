"""Bidirectional layers where the label depends on both ends of the sequence (#24).

* data: ``--rows`` random sequences of tokens 0..15, lengths uniform in [``--min-len``,
  ``--max-len``]; the label is 2 * (first token < 8) + (last token < 8): four classes, one bit
  from each end, everything in between is noise. Ingested with ``rnn-spark ingest labelled``
  (val fraction 0.2, seed 0).
* models, the same budget each (``--epochs``, batch 32, Adam ``--lr``, one worker, runner
  inline, k1 = ``--max-len``): a unidirectional LSTM and a bidirectional one with about as many
  parameters (hidden ``--uni-hidden`` vs ``--bi-hidden`` per direction); a unidirectional
  model must carry the first token's bit across the whole sequence to the last step, the
  bidirectional head reads it from the reverse direction's final state.

Prints one JSON object (and writes it to ``--out``): per model its parameters, the best and last
validation accuracy and loss, the seconds and the validation curve.

    python3 benchmarks/bidirectional.py [--epochs 12] [--out benchmarks/results/bidirectional.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_data(work: Path, rows: int, lo: int, hi: int, seed: int) -> str:
    from rnn_spark.ingest import ingest_labelled

    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(rows):
        seq = rng.integers(0, 16, int(rng.integers(lo, hi + 1)))
        lines.append(json.dumps({"sequence": seq.tolist(),
                                 "label": 2 * int(seq[0] < 8) + int(seq[-1] < 8)}))
    src = work / "ends.jsonl"
    src.write_text("\n".join(lines) + "\n")
    out = work / "data"
    ingest_labelled([str(src)], str(out), task="classify", val_fraction=0.2, seed=0, quiet=True)
    return str(out)


def run(data: str, run_dir: Path, bidirectional: bool, hidden: int, a) -> dict:
    from rnn_spark import config
    from rnn_spark.serve import load_model
    from rnn_spark.training.loop import train

    cfg = config.load([], {
        "data.path": data, "train.run_dir": str(run_dir), "train.runner": "inline",
        "model.cell": "lstm", "model.hidden_sizes": [hidden], "model.embedding_size": 16,
        "model.bidirectional": bidirectional, "optim.lr": a.lr, "optim.clip_norm": 1.0,
        "train.batch_size": 32, "train.k1": a.max_len, "train.workers": 1,
        "train.steps_per_round": 8, "train.epochs": a.epochs, "train.validate_every": 2,
        "train.checkpoint_every": 0, "train.seed": a.seed})
    t0 = time.perf_counter()
    train(cfg, quiet=True, overwrite=True)  # a run of an earlier call in --work
    seconds = time.perf_counter() - t0
    recs = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    val = [r for r in recs if r["kind"] == "val"]
    best = max(val, key=lambda r: r["accuracy"])
    return {"bidirectional": bidirectional, "hidden": hidden,
            "parameters": load_model(str(run_dir)).engine().num_params,
            "best_val_accuracy": round(best["accuracy"], 4), "best_round": best["round"],
            "last_val_accuracy": round(val[-1]["accuracy"], 4),
            "best_val_loss": round(min(r["loss"] for r in val), 4),
            "last_val_loss": round(val[-1]["loss"], 4), "seconds": round(seconds, 1),
            "val_curve": [[r["round"], round(r["loss"], 4), round(r["accuracy"], 4)] for r in val]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=4000)
    ap.add_argument("--min-len", type=int, default=20)
    ap.add_argument("--max-len", type=int, default=40)
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--uni-hidden", type=int, default=64)
    ap.add_argument("--bi-hidden", type=int, default=44)
    ap.add_argument("--lr", type=float, default=0.005)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", help="working directory (default: a temporary one)")
    ap.add_argument("--out", help="also write the JSON to this file")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(a.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        data = make_data(work, a.rows, a.min_len, a.max_len, a.seed)
        results = {}
        for name, bi, hidden in (("unidirectional", False, a.uni_hidden),
                                 ("bidirectional", True, a.bi_hidden)):
            results[name] = run(data, work / f"run-{name}", bi, hidden, a)
            print(json.dumps({name: {k: v for k, v in results[name].items() if k != "val_curve"}}),
                  file=sys.stderr, flush=True)
    out = {"benchmark": "bidirectional", "rows": a.rows, "lengths": [a.min_len, a.max_len],
           "epochs": a.epochs, "lr": a.lr, "seed": a.seed, "chance_accuracy": 0.25,
           "results": results,
           "accuracy_gain": round(results["bidirectional"]["best_val_accuracy"]
                                  - results["unidirectional"]["best_val_accuracy"], 4)}
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
