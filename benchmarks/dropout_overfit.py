"""Dropout against overfitting (#24): a char LSTM on a small corpus, with and without dropout.

* corpus: the first ``--chars`` characters of the standard library's docstring prose (the corpus
  of benchmarks/time_to_loss.py), ingested with ``--seq-len 64 --val-fraction 0.1 --seed 0``;
* model: char LSTM, embedding 32, hidden ``--hidden``, Adam ``--lr``, clip 1.0, batch 32, one
  worker (runner inline), validation on the whole val split every round of 4 minibatches;
* variants: ``none`` (no dropout) and each ``--variants`` entry NAME=KEY:VALUE,... of model keys
  (default ``dropout``: dropout 0.3, recurrent_dropout 0.25, embedding_dropout 0.05).

Prints one JSON object (and writes it to ``--out``): per variant the validation curve, the best
validation loss and where it was, the last one, whether the curve turned up (last - best above
0.02: overfitting), and the seconds; plus ``best_gain`` = best(none) - best(variant).

    python3 benchmarks/dropout_overfit.py [--chars 30000] [--epochs 40] [--hidden 256]
                                          [--out benchmarks/results/dropout_overfit.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from time_to_loss import docstrings  # noqa: E402

DEFAULT_VARIANTS = "dropout=dropout:0.3,recurrent_dropout:0.25,embedding_dropout:0.05"


def parse_variants(text: str) -> dict[str, dict]:
    out = {"none": {}}
    for item in filter(None, text.split(";")):
        name, _, kv = item.partition("=")
        out[name] = {f"model.{k}": float(v) for k, v in (p.split(":") for p in kv.split(","))}
    return out


def run_variant(data: str, run_dir: Path, keys: dict, a) -> dict:
    from rnn_spark import config
    from rnn_spark.training.loop import train

    cfg = config.load([], {
        "data.path": data, "train.run_dir": str(run_dir), "train.runner": "inline",
        "model.cell": "lstm", "model.hidden_sizes": [a.hidden], "model.embedding_size": 32,
        "optim.lr": a.lr, "optim.clip_norm": 1.0, "train.batch_size": 32, "train.k1": 64,
        "train.workers": 1, "train.steps_per_round": 4, "train.epochs": a.epochs,
        "train.validate_every": 1, "train.checkpoint_every": 0, "train.seed": a.seed,
        "train.export": "best", **keys})
    t0 = time.perf_counter()
    train(cfg, quiet=True, overwrite=True)  # a run of an earlier call in --work
    seconds = time.perf_counter() - t0
    recs = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    val = [(r["round"], r["loss"]) for r in recs if r["kind"] == "val"]
    train_loss = [r["loss"] for r in recs if r["kind"] == "round"]
    best_round, best = min(val, key=lambda v: v[1])
    last = val[-1][1]
    return {"keys": keys, "best_val_loss": round(best, 4), "best_round": best_round,
            "last_val_loss": round(last, 4), "turned_up": last - best > 0.02,
            "last_train_loss": round(sum(train_loss[-4:]) / len(train_loss[-4:]), 4),
            "rounds": len(train_loss), "seconds": round(seconds, 1),
            "val_curve": [[g, round(v, 4)] for g, v in val]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--chars", type=int, default=30000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.004)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default=DEFAULT_VARIANTS,
                    help="';'-separated NAME=KEY:VALUE,... of model keys ('none' is always run)")
    ap.add_argument("--work", help="working directory (default: a temporary one)")
    ap.add_argument("--out", help="also write the JSON to this file")
    a = ap.parse_args(argv)
    from rnn_spark.ingest import ingest_text

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(a.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        text = work / "corpus.txt"
        if not (text.exists() and text.stat().st_size > 0):
            text.write_text(docstrings(a.chars), encoding="utf-8")
        data = work / "data"
        if not (data / "manifest.json").exists():
            ingest_text([str(text)], str(data), seq_len=64, val_fraction=0.1, seed=0, quiet=True)
        results = {}
        for name, keys in parse_variants(a.variants).items():
            results[name] = run_variant(str(data), work / f"run-{name}", keys, a)
            print(json.dumps({name: {k: v for k, v in results[name].items() if k != "val_curve"}}),
                  file=sys.stderr, flush=True)
    base = results["none"]["best_val_loss"]
    out = {"benchmark": "dropout_overfit", "chars": a.chars, "epochs": a.epochs,
           "hidden": a.hidden, "lr": a.lr, "seed": a.seed, "results": results,
           "best_gain": {n: round(base - r["best_val_loss"], 4) for n, r in results.items()
                         if n != "none"}}
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
