"""The PyTorch entrants of benchmarks/time_to_loss.py: one process, and DDP through Spark's
TorchDistributor. Each reads the same shards as rnn-spark (the ingest's train and val splits),
trains the same char model (Embedding -> LSTM -> Linear, Adam, gradient clipping, one update per
row of seq_len steps, batch B per process) and validates on the whole val split every
``--val-rows`` training rows; it stops at the first validation <= ``--target`` and prints one JSON
line: {"reached": bool, "t_target": wall clock at that validation, "steps", "val": [...]}.

    python3 benchmarks/ttl_torch.py single|ddp --data DATASET --target 1.35 [--lr 0.002] ...
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def load_rows(dataset: str, split: str) -> np.ndarray:
    """Every full-length row of a split as an int64 [N, seq_len + 1] array, in manifest order (the
    corpus's last, shorter row is left out: one row of thousands)."""
    import pyarrow.parquet as pq

    from rnn_spark import data

    man = data.read_manifest(dataset)
    rows = []
    for shard in man.shards(split):
        path = os.path.join(dataset, shard["path"])
        table = pq.read_table(path, columns=["x"])
        rows.extend(table.column("x").to_pylist())
    full = max(len(r) for r in rows)
    return np.asarray([r for r in rows if len(r) == full], dtype=np.int64)


def build(vocab: int, args):
    import torch
    from torch import nn

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(vocab, args.embedding)
            self.rnn = nn.LSTM(args.embedding, args.hidden)
            self.head = nn.Linear(args.hidden, vocab)

        def forward(self, x):                       # x: [T, B] ids
            y, _ = self.rnn(self.emb(x))
            return self.head(y)

    torch.manual_seed(args.seed)
    return CharLSTM()


def val_loss(model, val: np.ndarray, vocab: int) -> float:
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(val), 256):
            chunk = torch.from_numpy(val[i:i + 256].T.copy())      # [T+1, B]
            logits = model(chunk[:-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), chunk[1:].reshape(-1),
                                                     reduction="sum")
            total += float(loss)
            count += chunk[1:].numel()
    return total / count


def train(args, rank: int = 0, world: int = 1) -> dict:
    """Train until the target; world > 1: DDP (gloo), each rank on its own share of every epoch."""
    import torch

    torch.set_num_threads(1)
    rows, val = load_rows(args.data, "train"), load_rows(args.data, "val")
    from rnn_spark import data

    vocab = int(data.read_manifest(args.data).vocab_size)
    model = build(vocab, args)
    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    B = args.batch_size
    val_every = max(1, round(args.val_rows / (B * world)))   # steps between validations
    history, steps, reached, t_target = [], 0, False, None
    for epoch in range(args.max_epochs):
        perm = np.random.default_rng([args.seed, epoch]).permutation(len(rows))
        mine = perm[rank::world]
        for i in range(0, len(mine) - B + 1, B):
            batch = torch.from_numpy(rows[mine[i:i + B]].T.copy())
            logits = net(batch[:-1])
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), batch[1:].reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if args.clip_norm > 0:   # 0 = off, as rnn-spark's optim.clip_norm
                torch.nn.utils.clip_grad_norm_(net.parameters(), args.clip_norm)
            opt.step()
            steps += 1
            if steps % val_every == 0:
                stop = torch.zeros(1)
                if rank == 0:
                    v = val_loss(model, val, vocab)
                    history.append({"step": steps, "loss": v, "time": time.time()})
                    if v <= args.target:
                        reached, t_target = True, time.time()
                        stop += 1
                if world > 1:
                    torch.distributed.broadcast(stop, 0)
                if float(stop[0]):
                    return {"reached": True, "t_target": t_target, "steps": steps, "val": history}
    return {"reached": reached, "t_target": t_target, "steps": steps, "val": history}


def ddp_main(args) -> dict | None:
    import torch.distributed as dist

    dist.init_process_group("gloo")
    try:
        out = [train(args, dist.get_rank(), dist.get_world_size())]
        dist.broadcast_object_list(out, src=0)   # every rank returns rank 0's result
    finally:
        dist.destroy_process_group()
    return out[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["single", "ddp"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--target", type=float, required=True)
    ap.add_argument("--lr", type=float, default=0.002)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--embedding", type=int, default=64)
    ap.add_argument("--clip-norm", type=float, default=1.0, help="0 = off")
    ap.add_argument("--val-rows", type=int, default=1280)
    ap.add_argument("--max-epochs", type=int, default=12)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.mode == "single":
        out = train(args)
    else:
        from pyspark.ml.torch.distributor import TorchDistributor
        from pyspark.sql import SparkSession

        spark = (SparkSession.builder.master(f"local[{args.processes}]")
                 .config("spark.ui.showConsoleProgress", "false").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        out = TorchDistributor(num_processes=args.processes, local_mode=True,
                               use_gpu=False).run(ddp_main, args)
        spark.stop()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
