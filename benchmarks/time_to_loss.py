"""Time to a target validation loss: rnn-spark against single-process PyTorch and PyTorch DDP.

The races of issues #13 (``--race long``) and #26 (``--race short``), run end to end on this
machine. Every entrant is launched as a fresh process (imports and Spark start-up count) on the same
data, model, batch per worker and validation text:

* corpus, ``long``: prose docstrings of the Python standard library (``ast.get_docstring`` of every
  module, class and function, files in sorted order, test suites left out), cut at ``--chars``;
  ingested once with ``rnn-spark ingest text --seq-len 50 --val-fraction 0.05 --seed 0`` (the val
  split is the ingest's seeded 5% of sequences, the same rows for every entrant); target 1.35,
  ~2,560 PyTorch steps (~3 minutes);
* corpus, ``short``: the Python Language Reference as the interpreter ships it for ``help()``
  (``pydoc_data/topics.py``: 79 topics in sorted order, ~465k characters of English technical
  prose), ingested the same way with ``--val-fraction 0.1``; no gradient clipping; target 1.40,
  which one PyTorch thread reaches in ~950 steps (about a minute);
* model: char LSTM, embedding 64, hidden 256, Adam lr 2e-3, clip 1.0 (long) or none (short), batch
  32 per worker, one update per 50-step row;
* validation on the whole val split every ``--val-rows`` training rows (summed over workers); an
  entrant stops at the first validation <= ``--target`` (rnn-spark: ``train.stop_at_val_loss``).

Entrants: ``torch`` (one process, 1 thread), ``ddp`` (TorchDistributor, 2 processes, gloo),
``inline`` (rnn-spark, W=1, runner inline), ``spark`` (rnn-spark on local[2] with W=2 and the
project's DEFAULT settings for everything the race does not fix). ``--extra`` adds rnn-spark
variants as NAME=--flag,value,... of the spark entrant, or with ``--extra-base inline2`` of W=2 on
the inline runner (its bits are Spark's, so its steps to the target do not depend on machine load;
e.g. ``bmuf10=--averager,bmuf,--steps-per-round,10``).

Prints one JSON object: per entrant the seconds from launch to the target, the wall time to exit,
steps/rounds, the validation curve; and ratios against PyTorch and DDP.

    python3 benchmarks/time_to_loss.py [--race long|short] [--entrants torch,ddp,inline,spark]
                                       [--target 1.35] [--repeat 1] [--seed 0]
                                       [--out benchmarks/results/time_to_loss.json]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "lib2to3", "__pycache__", "turtledemo"}


def docstrings(chars: int) -> str:
    """Prose from the standard library's docstrings, deterministic for one Python version."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    parts, size = [], 0
    for file in sorted(stdlib.rglob("*.py")):
        if SKIP_DIRS & set(file.relative_to(stdlib).parts[:-1]):
            continue
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if doc and len(doc) >= 200:     # prose, not one-liners
                    parts.append(doc)
                    size += len(doc) + 2
        if size >= chars:
            break
    return "\n\n".join(parts)[:chars]


def language_reference(chars: int) -> str:
    """The Python Language Reference as ``help()`` shows it: every topic of pydoc_data, in sorted
    order (every CPython install has it; deterministic for one Python version)."""
    from pydoc_data.topics import topics

    return "\n\n".join(topics[k].strip() for k in sorted(topics))[:chars]


@dataclass(frozen=True)
class Race:
    """One race's corpus, validation share, target and the settings it fixes for every entrant."""

    text: Callable[[int], str]
    chars: int
    val_fraction: float
    target: float
    clip_norm: float
    max_epochs: int


RACES = {
    "long": Race(docstrings, 440_000, 0.05, 1.35, 1.0, 12),
    "short": Race(language_reference, 10_000_000, 0.1, 1.40, 0.0, 12),
}


def dataset(work: Path, race: Race, chars: int) -> str:
    ds = work / "data"
    if not (ds / "manifest.json").exists():
        text = work / "corpus.txt"
        if not (text.exists() and text.stat().st_size > 0):
            text.write_text(race.text(chars), encoding="utf-8")
        subprocess.run(["rnn-spark", "ingest", "text", str(text), "--out", str(ds), "--seq-len", "50",
                        "--val-fraction", str(race.val_fraction), "--seed", "0", "--overwrite",
                        "--quiet"], check=True)
    return str(ds)


def run_torch(mode: str, ds: str, args) -> dict:
    t0 = time.time()
    cmd = [sys.executable, str(HERE / "ttl_torch.py"), mode, "--data", ds, "--target", str(args.target),
           "--val-rows", str(args.val_rows), "--max-epochs", str(args.max_epochs),
           "--hidden", str(args.hidden), "--lr", str(args.lr), "--clip-norm", str(args.clip_norm),
           "--seed", str(args.seed)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    wall = time.time() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1:], "wall_s": wall}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not isinstance(out, dict):
        return {"error": f"no result from the entrant: {proc.stdout.strip()[-200:]}", "wall_s": wall}
    return {"to_target_s": (out["t_target"] - t0) if out["reached"] else None, "wall_s": wall,
            "steps": out["steps"], "val": [(v["step"], round(v["loss"], 4)) for v in out["val"]]}


def race_flags(args) -> list[str]:
    """The settings every rnn-spark entrant shares with the PyTorch ones."""
    return ["--cell", "lstm", "--hidden-sizes", str(args.hidden), "--embedding-size", "64",
            "--k1", "50", "--batch-size", "32", "--optimizer", "adam", "--lr", str(args.lr),
            "--clip-norm", str(args.clip_norm), "--seed", str(args.seed)]


def run_rnn_spark(name: str, ds: str, work: Path, flags: list[str], args) -> dict:
    """rnn-spark train as a user runs it; validate_every follows --val-rows for the run's W and H."""
    run = work / f"run-{name}"
    probe = _resolved(ds, run, flags)
    W, H = probe.train.workers, probe.train.steps_per_round
    every = max(1, round(args.val_rows / (W * H * 32)))
    cmd = ["rnn-spark", "train", "--data", ds, "--run-dir", str(run), "--overwrite", *race_flags(args),
           "--epochs", str(args.max_epochs), "--validate-every", str(every), "--checkpoint-every", "0",
           "--stop-at-val-loss", str(args.target), "--quiet", *flags]
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    wall = time.time() - t0
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-3:], "wall_s": wall}
    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    vals = [r for r in recs if r["kind"] == "val"]
    hit = next((r for r in vals if r["loss"] <= args.target), None)
    rounds = [r for r in recs if r["kind"] == "round"]
    return {"to_target_s": (hit["time"] - t0) if hit else None, "wall_s": wall,
            "rounds": len(rounds), "W": W, "H": H, "worker_steps": len(rounds) * W * H,
            "steps": len(rounds) * H,                        # minibatch steps per worker
            "reached": hit is not None,
            "first_round_s": rounds[0]["seconds"] if rounds else None,
            "round_s_median": sorted(r["seconds"] for r in rounds)[len(rounds) // 2] if rounds else None,
            "config": _run_config(run),
            "val": [(r["round"], round(r["loss"], 4)) for r in vals]}


def _resolved(ds: str, run: Path, flags: list[str]):
    """The defaults, with the few flags the race reads (W, H) applied."""
    from rnn_spark import config

    cfg = config.load([], {})
    names = {"--workers": "workers", "--steps-per-round": "steps_per_round"}
    for flag, value in zip(flags, flags[1:]):
        if flag in names:
            setattr(cfg.train, names[flag], int(value))
    return cfg


def _run_config(run: Path) -> dict:
    """What the run resolved for the settings the defaults decide (RUN/config.toml)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib

    cfg = tomllib.loads((run / "config.toml").read_text())
    t, o = cfg["train"], cfg["optim"]
    keep = ("workers", "steps_per_round", "averager", "block_momentum", "block_lr", "outer_lr",
            "outer_momentum", "average_optimizer_state")
    return {**{k: t[k] for k in keep if k in t}, "lr": o["lr"], "schedule": o["schedule"],
            "warmup_steps": o["warmup_steps"]}


ENTRANTS = {
    "inline": ["--runner", "inline", "--workers", "1"],
    "spark": ["--runner", "spark", "--master", "local[2]", "--workers", "2"],
    "inline2": ["--runner", "inline", "--workers", "2"],   # W=2 in one process: the same bits as spark
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--race", choices=sorted(RACES), default="long",
                    help="long: #13's (stdlib docstrings, 1.35); short: #26's (about a minute)")
    ap.add_argument("--entrants", default="torch,ddp,inline,spark")
    ap.add_argument("--extra", action="append", default=[],
                    help="NAME=--flag,value,... an rnn-spark variant of --extra-base (W=2)")
    ap.add_argument("--extra-base", choices=("spark", "inline2"), default="spark",
                    help="what an --extra variant changes: spark (local[2]) or inline2 (the inline "
                    "runner, W=2: the same bits in one process, for steps-to-target sweeps)")
    ap.add_argument("--target", type=float, default=None, help="default: the race's")
    ap.add_argument("--chars", type=int, default=None, help="default: the race's")
    ap.add_argument("--clip-norm", type=float, default=None, help="default: the race's")
    ap.add_argument("--seed", type=int, default=0, help="every entrant's training seed (the data "
                    "and its val split stay the same)")
    ap.add_argument("--hidden", type=int, default=256, help="LSTM hidden size of every entrant")
    ap.add_argument("--lr", type=float, default=0.002, help="Adam's learning rate (per worker)")
    ap.add_argument("--val-rows", type=int, default=1280, help="training rows between validations")
    ap.add_argument("--max-epochs", type=int, default=None, help="default: the race's")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--work", default=None, help="default: runs/bench-ttl (long), "
                    "runs/bench-ttl-short (short)")
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    race = RACES[args.race]
    for name in ("target", "chars", "clip_norm", "max_epochs"):
        if getattr(args, name) is None:
            setattr(args, name, getattr(race, name))
    work = Path(args.work or ("runs/bench-ttl" if args.race == "long" else "runs/bench-ttl-short"))
    work.mkdir(parents=True, exist_ok=True)
    ds = dataset(work, race, args.chars)
    entrants = [e for e in args.entrants.split(",") if e]
    extras = dict(e.split("=", 1) for e in args.extra)
    results: dict[str, list] = {}
    for rep in range(args.repeat):
        for name in [*entrants, *extras]:
            print(f"time_to_loss: {name} (repeat {rep + 1}/{args.repeat})", file=sys.stderr, flush=True)
            if name in ("torch", "ddp"):
                res = run_torch("single" if name == "torch" else "ddp", ds, args)
            elif name in ENTRANTS:
                res = run_rnn_spark(name, ds, work, ENTRANTS[name], args)
            else:
                res = run_rnn_spark(name, ds, work, [*ENTRANTS[args.extra_base], *extras[name].split(",")], args)
            print(f"  -> {res.get('to_target_s')} s to target, {res.get('wall_s'):.1f} s wall",
                  file=sys.stderr, flush=True)
            results.setdefault(name, []).append(res)
    summary = {}
    for name, runs in results.items():
        times = sorted(r["to_target_s"] for r in runs if r.get("to_target_s") is not None)
        steps = sorted(r["steps"] for r in runs if r.get("to_target_s") is not None)
        summary[name] = {"to_target_s_median": times[len(times) // 2] if times else None,
                         "to_target_s_all": times,
                         "steps_median": steps[len(steps) // 2] if steps else None,  # per worker
                         "steps_all": steps,
                         "reached": f"{len(times)}/{len(runs)}"}
    ratios = {}
    for base in ("torch", "ddp"):
        b = summary.get(base, {}).get("to_target_s_median")
        for name, s in summary.items():
            if b and s["to_target_s_median"] and name != base:
                ratios[f"{name}/{base}"] = round(s["to_target_s_median"] / b, 3)
    out = {"benchmark": "time_to_loss", "race": args.race, "target": args.target,
           "chars": args.chars, "hidden": args.hidden, "lr": args.lr, "clip_norm": args.clip_norm,
           "seed": args.seed,
           "val_rows": args.val_rows, "cpus": os.cpu_count(), "load_avg": os.getloadavg(),
           "python": sys.version.split()[0], "summary": summary, "ratios": ratios, "runs": results}
    text = json.dumps(out, indent=1)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
