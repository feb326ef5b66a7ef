"""Early stopping on the validation loss, and which weights become RUN/model.

``train.early_stop_patience`` = P > 0 stops the run after P validations in a row without an
improvement of at least ``train.early_stop_min_delta`` over the best loss counted so far (the
rule of Keras' EarlyStopping). ``train.stop_at_val_loss`` = L > 0 stops the run at the first
validation loss <= L (Lightning's ``stopping_threshold``; time-to-loss races use it). Its state rides in every checkpoint's meta.json, so a resumed run
counts on where it stopped, and a run that stopped early stays stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class EarlyStop:
    patience: int            # 0 = never stop early
    min_delta: float
    best: float = math.inf   # the best loss that counted as an improvement
    bad: int = 0             # validations since then without one
    reason: str = ""         # set once the run should stop
    target: float = 0.0      # stop at a validation loss <= target (0 = off)

    @property
    def active(self) -> bool:
        return bool(self.patience or self.target)

    def update(self, loss: float, g: int) -> str:
        """Count validation loss `loss` of round g; returns the stop reason ("" = go on)."""
        if loss < self.best - self.min_delta:
            self.best, self.bad = loss, 0
        else:
            self.bad += 1
        if self.target and loss <= self.target and not self.reason:
            self.reason = (f"target reached at round {g}: validation loss {loss:.6g} <= "
                           f"{self.target:g}")
        if self.patience and self.bad >= self.patience and not self.reason:
            self.reason = (f"early stop at round {g}: validation loss did not improve by "
                           f">= {self.min_delta:g} in {self.bad} validations (best {self.best:.6g})")
        return self.reason

    def to_meta(self) -> dict:
        return {"early_stop": {"best": self.best if math.isfinite(self.best) else None,
                               "bad": self.bad, "reason": self.reason}}

    def load_meta(self, meta: dict) -> None:
        es = meta.get("early_stop") or {}
        best = es.get("best")
        self.best = math.inf if best is None else float(best)
        self.bad = int(es.get("bad", 0))
        self.reason = str(es.get("reason", ""))
