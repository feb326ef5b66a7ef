"""Bits per character of a byte-level BPE language model against a char model, at equal training
time, on the same held-out text (issue #24's evidence for sub-word vocabularies).

* corpus: the prose docstrings of the Python standard library (benchmarks/time_to_loss.py's
  ``corpus``), cut at ``--chars``; every 20th paragraph is held out (``heldout.txt``), the rest is
  ingested twice: ``--vocab char --seq-len 128`` and ``--vocab bpe --vocab-size N --seq-len 48``
  (about as many characters per row);
* model: the same LSTM for both (embedding 64, hidden ``--hidden``, Adam lr 2e-3, clip 1, batch
  32, one update per row, k1 = seq_len), trained inline with one worker for ``--seconds`` of wall
  time each (rounds of 4 minibatches until the time is up);
* measure: the held-out text, cut into windows of seq_len + 1 tokens of each model's own
  vocabulary; bits per character = the targets' nats / ln 2 / the characters they stand for
  (``Vocab.char_lengths``: the definition ``evaluate`` uses). Also each run's validation split
  (its own ingest's val rows / segments) as ``evaluate`` reports it.

Prints one JSON object (and writes it to ``--out``), with the machine's load average: the numbers
are wall-time bound, so a loaded machine moves both entrants' budgets alike but not their ratio.

    python3 benchmarks/subword.py [--seconds 120] [--chars 3000000] [--vocab-size 2000]
                                  [--out benchmarks/results/subword.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from time_to_loss import corpus  # noqa: E402  (a benchmark beside this one)


def split_corpus(work: Path, chars: int) -> tuple[Path, Path]:
    paras = corpus(work, chars).read_text(encoding="utf-8").split("\n\n")
    train, held = work / "train.txt", work / "heldout.txt"
    train.write_text("\n\n".join(p for i, p in enumerate(paras) if i % 20), encoding="utf-8")
    held.write_text("\n\n".join(p for i, p in enumerate(paras) if i % 20 == 0), encoding="utf-8")
    return train, held


def heldout_bits(model, vocab, text: str, seq_len: int, batch: int = 64) -> dict:
    """Bits per character and per token of ``model`` on ``text`` (windows of seq_len + 1 ids)."""
    from rnn_spark.serve.common import log_softmax64
    ids = vocab.encode(text).astype(np.int64)
    n = (len(ids) - 1) // seq_len
    rows = np.stack([ids[i * seq_len:i * seq_len + seq_len + 1] for i in range(n)])
    lengths = vocab.char_lengths()
    nats = chars = 0.0
    for a in range(0, n, batch):
        x = rows[a:a + batch]
        logits, _ = model.forward(x[:, :-1])
        t = x[:, 1:].reshape(-1)
        lp = log_softmax64(np.asarray(logits, np.float64).reshape(len(t), -1))
        nats += float(-lp[np.arange(len(t)), t].sum())
        chars += float(lengths[t].sum())
    targets = n * seq_len
    return {"bits_per_char": nats / chars / math.log(2),
            "bits_per_token": nats / targets / math.log(2), "targets": targets,
            "chars": chars, "chars_per_token": chars / targets}


def run(kind: str, train: Path, held: Path, work: Path, args) -> dict:
    from rnn_spark import config
    from rnn_spark.ingest import ingest_text
    from rnn_spark.training.loop import Trainer

    seq_len = 128 if kind == "char" else 48
    ds = str(work / f"data-{kind}")
    t0 = time.time()
    extra = {"vocab": "bpe", "vocab_size": args.vocab_size} if kind == "bpe" else {}
    m = ingest_text([str(train)], ds, seq_len=seq_len, val_fraction=0.05, seed=0, **extra)
    ingest_s = time.time() - t0
    cfg = config.load([], {
        "data.path": ds, "train.run_dir": str(work / f"run-{kind}"), "train.runner": "inline",
        "train.workers": 1, "train.steps_per_round": 4, "train.batch_size": 32,
        "train.k1": seq_len, "train.epochs": 1000, "model.cell": "lstm",
        "model.hidden_sizes": [args.hidden], "model.embedding_size": 64, "optim.optimizer": "adam",
        "optim.lr": 2e-3, "optim.clip_norm": 1.0})
    trainer = Trainer(cfg, quiet=True)
    try:
        trainer.open_runner()
        g, t0 = 0, time.time()
        while time.time() - t0 < args.seconds:
            trainer.run_round(g)
            g += 1
        train_s = time.time() - t0
        val = trainer._validate(g - 1)
    finally:
        trainer.close()
    model = trainer.model
    model.set_flat(trainer.state.global_w.astype(model.flat.dtype))
    vocab = m.tokenizer()
    held_res = heldout_bits(model, vocab, held.read_text(encoding="utf-8"), seq_len)
    return {"vocab": kind, "vocab_size": m.vocab_size, "seq_len": seq_len, "ingest_s": ingest_s,
            "train_s": train_s, "rounds": g, "rows_trained": g * 4 * 32,
            "val_loss": val["loss"], "val_bits_per_char": val.get("bits_per_char"),
            "heldout": held_res}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0)
    ap.add_argument("--chars", type=int, default=3_000_000)
    ap.add_argument("--vocab-size", type=int, default=2000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--out", default=str(HERE / "results" / "subword.json"))
    args = ap.parse_args()
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="rnn-spark-subword-") as tmp:
        work = Path(tmp)
        train, held = split_corpus(work, args.chars)
        held_chars = len(held.read_text(encoding="utf-8"))
        res = {k: run(k, train, held, work, args) for k in ("char", "bpe")}
    out = {"benchmark": "subword", "seconds_each": args.seconds, "corpus_chars": args.chars,
           "heldout_chars": held_chars,
           "hidden": args.hidden, "cpus": os.cpu_count(),
           "loadavg_before": load0, "loadavg_after": os.getloadavg(), **res,
           "bpc_ratio_bpe_over_char": res["bpe"]["heldout"]["bits_per_char"]
           / res["char"]["heldout"]["bits_per_char"]}
    text = json.dumps(out, indent=1, sort_keys=True)
    Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
