"""Score a batch of ragged sequences (what a Spark UDF hands over) with a trained model.

``BatchScorer(tm)(seqs)`` -> one dict per sequence (the fields of :func:`return_fields`):

* lm: ``next_ids`` / ``next_probs`` (top-k next tokens after the sequence), ``loss`` (mean nats per
  predicted token inside the sequence; NaN for sequences shorter than 2);
* classify: ``pred``, ``probs``;
* regress: ``pred`` in original units (``output_size`` values, or ``length * output_size``
  step-major for every-step heads).

A sequence is a list of token ids, a list of per-step feature lists, or a flat step-major list of
``length * input_size`` floats.
"""

from __future__ import annotations

import numpy as np

from rnn_spark.errors import DataError, UserError
from rnn_spark.serve.common import denorm, log_softmax64


def return_fields(task: str) -> list[tuple[str, str]]:
    """(name, type) per output field; types: int, double, array<int>, array<float>."""
    if task == "lm":
        return [("next_ids", "array<int>"), ("next_probs", "array<float>"), ("loss", "double")]
    if task == "classify":
        return [("pred", "int"), ("probs", "array<float>")]
    return [("pred", "array<float>")]


def check_scorable(tm) -> None:
    """predict_udf reads one sequence column: a mixed model (several inputs per step) is refused
    in one line."""
    if tm.config.mixed_input:
        raise UserError(f"{tm.source.uri}: a model of categorical and numeric table columns "
                        "reads several inputs per step, which predict_udf's one sequence "
                        "column does not carry; score its dataset with `rnn-spark predict "
                        "--data`, or use its ONNX / PyTorch export")


class BatchScorer:
    def __init__(self, tm, top_k: int = 5):
        check_scorable(tm)
        self.tm, self.model, self.top_k = tm, tm.engine(), top_k
        self.stats = tm.stats
        if tm.stats and tm.stats.get("normalized") and "features" in tm.stats:
            f = tm.stats["features"]
            self.fnorm = (np.asarray(f["mean"]), np.asarray(f["std"]))
        else:
            self.fnorm = None

    def _pad(self, seqs):
        cfg = self.model.cfg
        rows = []
        for i, s in enumerate(seqs):
            a = np.asarray(list(s) if not isinstance(s, np.ndarray) else s)
            if a.dtype == object:
                a = np.stack([np.asarray(step, dtype=np.float64) for step in a])
            if cfg.token_input:
                if a.ndim != 1 or (a.size and (a.min() < 0 or a.max() >= cfg.vocab_size)):
                    raise DataError(f"sequence {i}: token ids must be integers in "
                                    f"[0, {cfg.vocab_size})")
                rows.append(a.astype(np.int64))
                continue
            D = cfg.input_size
            if a.ndim == 1 and a.size % D == 0:
                a = a.reshape(-1, D)
            if a.ndim != 2 or a.shape[1] != D:
                raise DataError(f"sequence {i}: expected {D} features per step, got shape {a.shape}")
            a = a.astype(np.float64)
            if self.fnorm is not None:
                a = (a - self.fnorm[0]) / self.fnorm[1]
            rows.append(a.astype(self.model.dtype))
        n = np.array([len(r) for r in rows], np.int64)
        if (n < 1).any():
            raise DataError(f"sequence {int(np.argmin(n))}: empty")
        T = int(n.max())
        if cfg.token_input:
            x = np.zeros((len(rows), T), np.int64)
        else:
            x = np.zeros((len(rows), T, cfg.input_size), self.model.dtype)
        for b, r in enumerate(rows):
            x[b, :len(r)] = r
        return x, n, (np.arange(T)[None] < n[:, None])

    def __call__(self, seqs) -> list[dict]:
        if len(seqs) == 0:
            return []
        x, n, mask = self._pad(seqs)
        out, _ = self.model.forward(x, mask.astype(self.model.dtype))
        B = len(n)
        task = self.tm.task
        if task == "lm":
            lp = log_softmax64(out)
            last = lp[np.arange(B), n - 1]
            k = min(self.top_k, last.shape[1])
            order = np.argsort(-last, axis=1, kind="stable")[:, :k]
            res = []
            for b in range(B):
                m = int(n[b]) - 1
                nll = -lp[b, np.arange(m), x[b, 1:m + 1]]
                res.append({"next_ids": order[b].astype(np.int32),
                            "next_probs": np.exp(last[b, order[b]]).astype(np.float32),
                            "loss": float(nll.mean()) if m > 0 else float("nan")})
            return res
        if task == "classify":
            p = np.exp(log_softmax64(out))
            return [{"pred": int(p[b].argmax()), "probs": p[b].astype(np.float32)} for b in range(B)]
        O = out.shape[-1]
        d = denorm(self.stats, "targets", O)
        out = out.astype(np.float64)
        if d is not None:
            out = out * d[1] + d[0]
        if out.ndim == 2:
            return [{"pred": out[b].astype(np.float32)} for b in range(B)]
        return [{"pred": out[b, :n[b]].reshape(-1).astype(np.float32)} for b in range(B)]
