"""``inspect URI``: what a dataset, a run directory or a model holds, as one JSON-able dict."""

from __future__ import annotations

import json
import re

from rnn_spark import fs
from rnn_spark.errors import UserError


def _dataset(uri: str) -> dict:
    from rnn_spark.data import read_manifest
    m = read_manifest(uri)
    out = {"kind": "dataset", "uri": uri, "ingest": m.data.get("ingest"), "task": m.task,
           "input": m.kind, "head_at": m.head_at, "vocab_size": m.vocab_size,
           "input_size": m.input_size, "output_size": m.output_size, "splits": {}}
    for s in m.splits:
        units = m.work_units(s)
        out["splits"][s] = {**m.counts(s), "shards": len(m.shards(s)), "row_groups": len(units),
                            "bytes": sum(sh["bytes"] for sh in m.shards(s))}
    if m.stats:
        out["stats"] = m.stats
    if m.steps_info:
        out["steps"] = m.steps_info
    return out


def _model(uri: str) -> dict:
    from rnn_spark.serve.load import load_model
    tm = load_model(uri)
    eng = tm.engine()
    layers = {}
    for name, p in eng.params.items():
        layers[name] = {"shape": list(p.shape), "params": int(p.size)}
    cfg = tm.config
    return {"kind": "model", "uri": tm.source.uri, "source": tm.source.kind, "round": tm.source.round,
            "task": cfg.task, "config": cfg.to_dict(), "parameters": eng.num_params,
            "layers": layers, "vocab_size": cfg.vocab_size,
            "vocab": None if tm.vocab is None else tm.vocab.kind, "dataset": tm.dataset}


def checkpoints(run: str) -> list[str]:
    """URIs of the complete checkpoints (round-NNNNNN/ with meta.json) of a run, oldest first."""
    root = fs.join(run, "checkpoints")
    if not fs.exists(root):
        return []
    found = [u for u in fs.ls(root) if re.search(r"round-\d{6,}$", u.rstrip("/"))]
    return sorted((u for u in found if fs.exists(fs.join(u, "meta.json"))),
                  key=lambda u: int(u.rstrip("/").rsplit("-", 1)[1]))


def _run(uri: str) -> dict:
    out = {"kind": "run", "uri": uri, "checkpoints": [fs.basename(c) for c in checkpoints(uri)],
           "rounds_done": None, "best_val": None, "config": None}
    if fs.exists(fs.join(uri, "config.toml")):
        out["config"] = fs.read_text(fs.join(uri, "config.toml"))
    metrics = fs.join(uri, "metrics.jsonl")
    if fs.exists(metrics):
        rounds, vals = [], []
        for line in fs.read_text(metrics).splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            (rounds if rec.get("kind") == "round" else vals).append(rec)
        out["rounds_done"] = len(rounds)
        if vals:
            best = min(vals, key=lambda r: r.get("loss", float("inf")))
            out["best_val"] = {"round": best.get("round"), "loss": best.get("loss"),
                               "accuracy": best.get("accuracy")}
    for sub in ("best", "model"):
        if fs.exists(fs.join(uri, sub, "weights.npz")):
            out[sub] = fs.join(uri, sub)
    try:
        out["model"] = _model(uri)
    except UserError as err:
        out["model"] = {"error": str(err)}
    return out


def inspect(uri: str) -> dict:
    if not fs.exists(uri):
        raise UserError(f"{uri}: does not exist; pass a dataset, a run directory or a model")
    if uri.rstrip("/").endswith(".json") or fs.exists(fs.join(uri, "manifest.json")):
        return _dataset(uri)
    if any(fs.exists(fs.join(uri, n)) for n in ("config.toml", "metrics.jsonl", "checkpoints")):
        return _run(uri)
    if fs.exists(fs.join(uri, "weights.npz")):
        return _model(uri)
    raise UserError(f"{uri}: is not a dataset (no manifest.json), a run directory (no "
                    "config.toml / checkpoints/) or a model (no weights.npz)")


def format_text(info: dict) -> str:
    lines = []

    def put(k, v, ind=""):
        if isinstance(v, dict):
            lines.append(f"{ind}{k}:")
            for kk, vv in v.items():
                put(kk, vv, ind + "  ")
        elif isinstance(v, str) and "\n" in v:
            lines.append(f"{ind}{k}:")
            lines.extend(f"{ind}  {ln}" for ln in v.splitlines())
        else:
            lines.append(f"{ind}{k}: {v}")
    for k, v in info.items():
        if k == "layers":
            lines.append("layers:")
            for name, d in v.items():
                lines.append(f"  {name:<24} {str(tuple(d['shape'])):<16} {d['params']:>10,}")
        else:
            put(k, v)
    return "\n".join(lines)
