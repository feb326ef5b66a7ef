"""What a person watching `rnn-spark train` sees on stderr.

On a terminal: one live line, redrawn in place by tqdm (round/total, epoch, loss, val loss,
tokens/s, ETA). tqdm is small, pure Python with no dependencies, and its terminal-width handling is
well tried; rich would also do, but pulls in more and takes over the console. Not on a terminal (a
log file, YARN's stderr, a pipe): a plain line at most every ``train.progress_seconds`` and at the
end -- never one per round when rounds are fast.

The ETA is the time per round since the end of this session's first round, times the rounds
left: the first round carries the start-up (Spark, the resident tasks, the Python workers) and
would make every early estimate far too long; until a second round is done it is "?". The val
loss shown is the newest, including that of the round just shown.
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


def _shape(stream) -> tuple[int | None, int | None]:
    """(ncols, nrows) for tqdm: (None, None) when the terminal reports its size (tqdm follows it),
    else fixed ones. A pseudo-terminal that reports 0x0 (some CI runners, `script`) would give
    tqdm a height of -1, and it draws nothing above row height - 1: nothing at all."""
    import os

    try:
        size = os.get_terminal_size(stream.fileno())
        if size.columns > 0 and size.lines > 0:
            return None, None
        cols = size.columns
    except (OSError, ValueError, AttributeError):
        cols = 0
    if cols <= 0:
        try:
            cols = max(40, int(os.environ.get("COLUMNS", "100")))
        except ValueError:
            cols = 100
    return cols, 24


class Progress:
    def __init__(self, total: int, start: int, every_s: float = 30.0, quiet: bool = False,
                 stream: TextIO | None = None, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.total, self.start, self.done = total, start, start
        self.every_s = every_s
        self.quiet = quiet
        self.tty = (self.stream.isatty() if tty is None else tty) and not quiet
        self.t0 = self.last_line = time.monotonic()
        self.first_done: float | None = None  # when this session's first round ended
        self.rec: dict = {}
        self.val_loss = math.nan
        self.bar = None
        if self.tty:
            from tqdm import tqdm

            cols, rows = _shape(self.stream)  # a terminal that reports no size gets fixed ones
            self.bar = tqdm(total=total, initial=start, file=self.stream, unit="round",
                            dynamic_ncols=cols is None, ncols=cols, nrows=rows, mininterval=0.5,
                            leave=True, bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} "
                                                   "[{elapsed}]{postfix}")

    def _fields(self) -> str:
        r = self.rec
        return (f"epoch {r.get('epoch', '-')}  loss {_num(r.get('loss'))}  "
                f"val {_num(self.val_loss)}  {_num(r.get('tokens_per_s'), ',.0f')} tok/s  "
                f"ETA {_eta(self.eta())}")

    def round(self, rec: dict, val: dict | None = None) -> None:
        """Round ``rec`` is done (with its validation ``val``, if it ran one)."""
        self.rec = rec
        self.done = rec["round"] + 1
        if val is not None:
            self.val_loss = val["loss"]
        if self.first_done is None:
            self.first_done = time.monotonic()
        if self.bar is not None:
            self.bar.set_postfix_str(self._fields(), refresh=False)
            self.bar.update(1)
        elif not self.quiet and time.monotonic() - self.last_line >= self.every_s:
            self._line()

    def eta(self) -> float:
        """Seconds left: the rounds after this session's first, timed, times the rounds left."""
        left = self.total - self.done
        timed = self.done - self.start - 1
        if left <= 0:
            return 0.0
        if timed <= 0 or self.first_done is None:
            return math.nan
        return (time.monotonic() - self.first_done) / timed * left

    def _line(self) -> None:
        self.last_line = time.monotonic()
        print(f"rnn-spark: round {self.done}/{self.total}  {self._fields()}",
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
