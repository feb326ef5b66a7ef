"""Per-column moments computed per file and combined in file order (same result on any engine)."""

from __future__ import annotations

import numpy as np


def moments(x: np.ndarray) -> dict:
    """Count, mean and sum of squared deviations of each column of ``x`` [n, D] (float64)."""
    x = np.asarray(x, dtype=np.float64)
    n = int(x.shape[0])
    if n == 0:
        return {"n": 0, "mean": [0.0] * x.shape[1], "m2": [0.0] * x.shape[1]}
    mean = x.mean(axis=0)
    return {"n": n, "mean": mean.tolist(), "m2": ((x - mean) ** 2).sum(axis=0).tolist()}


def combine_moments(parts: list[dict]) -> dict:
    """Chan et al.'s pairwise update, applied left to right over ``parts``."""
    n, mean, m2 = 0, None, None
    for p in parts:
        if p["n"] == 0:
            continue
        pm, pm2 = np.array(p["mean"]), np.array(p["m2"])
        if n == 0:
            n, mean, m2 = p["n"], pm, pm2
            continue
        tot = n + p["n"]
        delta = pm - mean
        mean = mean + delta * (p["n"] / tot)
        m2 = m2 + pm2 + delta ** 2 * (n * p["n"] / tot)
        n = tot
    return {"n": n, "mean": mean, "m2": m2}


def stats_dict(columns, m: dict) -> dict:
    """``{"columns", "mean", "std", "count"}``; a constant column gets std 1 (no scaling)."""
    if m["n"] == 0:
        d = len(columns)
        return {"columns": list(columns), "mean": [0.0] * d, "std": [1.0] * d, "count": 0}
    std = np.sqrt(np.maximum(m["m2"] / m["n"], 0.0))
    std = np.where(std > 1e-12, std, 1.0)
    return {"columns": list(columns), "mean": [float(v) for v in m["mean"]],
            "std": [float(v) for v in std], "count": int(m["n"])}
