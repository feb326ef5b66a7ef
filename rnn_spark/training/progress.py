"""What a person watching `rnn-spark train` sees on stderr.

On a terminal: one live line, redrawn in place by tqdm (round/total, epoch, loss, val loss,
tokens/s, ETA). tqdm is small, pure Python with no dependencies, and its ETA smoothing and
terminal-width handling are well tried; rich would also do, but pulls in more and takes over the
console. Not on a terminal (a log file, YARN's stderr, a pipe): a plain line at most every
``train.progress_seconds`` and at the end -- never one per round when rounds are fast.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TextIO


def _num(v, fmt: str = ".4f") -> str:
    return format(v, fmt) if isinstance(v, (int, float)) and math.isfinite(v) else "-"


def _eta(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    m, s = divmod(int(seconds + 0.5), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


def _columns(stream) -> int | None:
    """None when the terminal reports its width (tqdm follows it), else a fixed width."""
    import os

    try:
        if os.get_terminal_size(stream.fileno()).columns > 0:
            return None
    except (OSError, ValueError, AttributeError):
        pass
    try:
        return max(40, int(os.environ.get("COLUMNS", "100")))
    except ValueError:
        return 100


class Progress:
    def __init__(self, total: int, start: int, every_s: float = 30.0, quiet: bool = False,
                 stream: TextIO | None = None, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.total, self.start, self.done = total, start, start
        self.every_s = every_s
        self.quiet = quiet
        self.tty = (self.stream.isatty() if tty is None else tty) and not quiet
        self.t0 = self.last_line = time.monotonic()
        self.rec: dict = {}
        self.val_loss = math.nan
        self.bar = None
        if self.tty:
            from tqdm import tqdm

            cols = _columns(self.stream)  # a terminal that reports no size gets a fixed width
            self.bar = tqdm(total=total, initial=start, file=self.stream, unit="round",
                            dynamic_ncols=cols is None, ncols=cols, mininterval=0.5,
                            smoothing=0.1, leave=True,
                            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]{postfix}")

    def _fields(self) -> str:
        r = self.rec
        return (f"epoch {r.get('epoch', '-')}  loss {_num(r.get('loss'))}  "
                f"val {_num(self.val_loss)}  {_num(r.get('tokens_per_s'), ',.0f')} tok/s")

    def round(self, rec: dict) -> None:
        self.rec = rec
        self.done = rec["round"] + 1
        if self.bar is not None:
            self.bar.set_postfix_str(self._fields(), refresh=False)
            self.bar.update(1)
        elif not self.quiet and time.monotonic() - self.last_line >= self.every_s:
            self._line()

    def val(self, rec: dict) -> None:
        self.val_loss = rec["loss"]

    def eta(self) -> float:
        rounds = self.done - self.start
        if rounds <= 0:
            return math.nan
        return (time.monotonic() - self.t0) / rounds * (self.total - self.done)

    def _line(self) -> None:
        self.last_line = time.monotonic()
        print(f"rnn-spark: round {self.done}/{self.total}  {self._fields()}  ETA {_eta(self.eta())}",
              file=self.stream, flush=True)

    def write(self, msg: str) -> None:
        """A message that must not break the live line."""
        if self.bar is not None:
            self.bar.write(msg, file=self.stream)
        else:
            print(msg, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(self._fields(), refresh=True)
            self.bar.close()
            self.bar = None
        elif not self.quiet and self.done > self.start and self.rec:
            self._line()
