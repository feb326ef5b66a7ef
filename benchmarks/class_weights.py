"""Class weights on imbalanced data: train.class_weights = none vs auto, macro-F1 and PR-AUC on
the validation split, over several seeds; and what the exact AUCs cost the driver.

Data (made here, nothing downloaded): token sequences of 10-30 steps over 20 symbols; about 2%
of rows are positive and hold the bigram "3 11"; twice as many negatives hold it too (decoys),
no other row does (both symbols occur on their own everywhere). So the best a model can say of
a row with the bigram is "positive with probability 1/3": below one half, an unweighted model's
argmax calls every row negative, and its macro-F1 stays at about 0.5 however well it ranks. An LSTM (hidden 32, embedding 16) trains the
same number of rounds on the same rows with either setting (inline runner, W=2, bmuf); the
exported model is the last round's (train.export = last), evaluated by `rnn-spark evaluate`'s
code on the validation split.

    python3 benchmarks/class_weights.py [--rows 8000] [--epochs 3] [--seeds 0,1,2] \\
        [--out benchmarks/results/class_weights.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rnn_spark import config, ingest
from rnn_spark.serve.evaluate import evaluate
from rnn_spark.serve.load import load_model
from rnn_spark.training.classmetrics import average_precision, roc_auc
from rnn_spark.training.loop import train

MOTIF = (3, 11)


def make_rows(n: int, positive_rate: float, seed: int, decoys: float) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        length = int(rng.integers(10, 31))
        label = int(rng.random() < positive_rate)
        while True:
            seq = rng.integers(0, 20, length)
            has = any(seq[i] == MOTIF[0] and seq[i + 1] == MOTIF[1] for i in range(length - 1))
            if not has:
                break
        if label or rng.random() < decoys * positive_rate:  # positives, and decoy negatives
            at = int(rng.integers(0, length - 1))
            seq[at:at + 2] = MOTIF
        rows.append({"sequence": seq.tolist(), "label": label})
    return rows


def run_one(ds: str, run_dir: str, weights: str, seed: int, epochs: int) -> dict:
    cfg = config.load([], {
        "data.path": ds, "train.run_dir": run_dir, "model.hidden_sizes": [32],
        "model.embedding_size": 16, "train.batch_size": 32, "train.steps_per_round": 4,
        "train.workers": 2, "train.epochs": epochs, "train.validate_every": 0,
        "train.checkpoint_every": 0, "train.runner": "inline", "train.export": "last",
        "train.seed": seed, "train.class_weights": weights, "optim.lr": 0.005})
    t0 = time.perf_counter()
    summary = train(cfg, quiet=True)
    seconds = time.perf_counter() - t0
    mets = evaluate(load_model(run_dir), ds, "val").metrics
    return {"class_weights": weights, "seed": seed, "rounds": summary["rounds"],
            "train_seconds": round(seconds, 1), "macro_f1": mets["macro_f1"],
            "pr_auc": mets["pr_auc"], "roc_auc": mets["roc_auc"], "accuracy": mets["accuracy"],
            "recall_positive": mets["per_class"][1]["recall"],
            "precision_positive": mets["per_class"][1]["precision"],
            "val_loss_plain": mets["loss"]}


def ranking_cost(rows: int) -> dict:
    """The driver's side of the exact AUCs: 9 bytes per validation row, one sort."""
    rng = np.random.default_rng(0)
    s = rng.standard_normal(rows).astype(np.float32).astype(np.float64)
    y = (rng.random(rows) < 0.02).astype(np.int8)
    t0 = time.perf_counter()
    roc_auc(s, y)
    average_precision(s, y)
    return {"rows": rows, "bytes": int(s.nbytes + y.nbytes),
            "seconds": round(time.perf_counter() - t0, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=8000)
    ap.add_argument("--positive-rate", type=float, default=0.02)
    ap.add_argument("--decoys", type=float, default=2.0,
                    help="negatives holding the bigram, per positive")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", default="benchmarks/results/class_weights.json")
    a = ap.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "rows.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in make_rows(a.rows, a.positive_rate, 7, a.decoys)))
        ds = str(Path(tmp) / "data")
        m = ingest.ingest_labelled([str(src)], ds, task="classify", val_fraction=0.3, seed=1,
                                   quiet=True)
        runs = [run_one(ds, str(Path(tmp) / f"run-{w}-{s}"), w, s, a.epochs)
                for s in seeds for w in ("none", "auto")]
        counts = {split: m.class_counts(split) for split in m.splits}
    summary = {}
    for w in ("none", "auto"):
        mine = [r for r in runs if r["class_weights"] == w]
        summary[w] = {k: {"mean": statistics.fmean(r[k] for r in mine),
                          "min": min(r[k] for r in mine), "max": max(r[k] for r in mine)}
                      for k in ("macro_f1", "pr_auc", "roc_auc", "recall_positive")}
    out = {"benchmark": "class_weights", "rows": a.rows, "positive_rate": a.positive_rate,
           "decoys_per_positive": a.decoys,
           "class_counts": counts, "epochs": a.epochs, "seeds": seeds, "runs": runs,
           "summary": summary, "exact_auc_driver_cost": [ranking_cost(n) for n in (10**5, 10**6)]}
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        Path(a.out).parent.mkdir(parents=True, exist_ok=True)
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
