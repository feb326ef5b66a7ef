"""Byte-range chunks of one big text file, so the Spark engine scans and blocks it in many tasks.

A file larger than ``chunk_bytes`` is cut at every multiple of ``chunk_bytes``; for the char
vocabulary each cut moves forward to the next UTF-8 character start (a byte that is not
``0b10xxxxxx``), so no character is split and decoding the chunks one by one gives the same code
points (and U+FFFD substitutions) as decoding the whole file. Both neighbours of a cut compute it
the same way, so no driver-side reading is needed.

After the scan the driver knows every chunk's token count; prefix sums give each chunk's first
token ``t0``. Chunk ``k`` then emits exactly the rows whose *start* token lies in ``[t0, t1)``
(the row numbering of :func:`rnn_spark.ingest.text.window_rows`), reading past its end as far as its
last row needs. Everything here is pure arithmetic or ranged reads; no Spark.
"""

from __future__ import annotations

import math

import numpy as np

from rnn_spark import fs

DEFAULT_CHUNK_BYTES = 64 << 20
MAX_UTF8_BYTES = 4


def n_chunks(size: int, chunk_bytes: int) -> int:
    """How many chunks a file of ``size`` bytes is cut into (1 = not chunked)."""
    return max(1, math.ceil(size / chunk_bytes))


def char_start(f, pos: int, size: int) -> int:
    """The first offset >= ``pos`` that starts a UTF-8 character (or is the end of the file)."""
    while 0 < pos < size:
        f.seek(pos)
        buf = f.read(min(64, size - pos))
        if not buf:
            return size
        for j, b in enumerate(buf):
            if b & 0xC0 != 0x80:
                return pos + j
        pos += len(buf)
    return min(max(pos, 0), size)


def chunk_range(f, k: int, chunk_bytes: int, size: int, align: bool) -> tuple[int, int]:
    """Byte range ``[lo, hi)`` of chunk ``k`` (aligned to character starts when ``align``)."""
    lo, hi = min(size, k * chunk_bytes), min(size, (k + 1) * chunk_bytes)
    if align:
        lo, hi = char_start(f, lo, size), char_start(f, hi, size)
    return lo, hi


def read_range(f, lo: int, hi: int) -> bytes:
    if hi <= lo:
        return b""
    f.seek(lo)
    data = f.read(hi - lo)
    if len(data) != hi - lo:
        raise fs.FsError(getattr(f, "uri", "?"), f"short read at byte {lo} "
                         "(was the file changed during the ingest?)")
    return data


def n_rows(n: int, seq_len: int, overlap: int) -> int:
    """Number of rows :func:`window_rows` gives for ``n`` tokens (without building them)."""
    L, stride = seq_len + 1, seq_len - overlap
    if n < 3:
        return 0
    count = max(0, -(-(n - L) // stride)) + 1
    return min(count, (n - 3) // stride + 1)


def rows_between(r0: int, r1: int, n: int, seq_len: int, overlap: int):
    """Row numbers, starts and lengths of rows ``r0 .. r1 - 1`` of a ``n``-token file."""
    rows = np.arange(r0, r1, dtype=np.int64)
    starts = rows * (seq_len - overlap)
    return rows, starts, np.minimum(seq_len + 1, n - starts)


def chunk_rows(t0: int, t1: int, n: int, seq_len: int, overlap: int) -> tuple[int, int]:
    """``[r0, r1)``: the rows whose start token lies in ``[t0, t1)``."""
    stride, count = seq_len - overlap, n_rows(n, seq_len, overlap)
    r0 = min(count, -(-t0 // stride))
    r1 = min(count, -(-t1 // stride))
    return r0, max(r0, r1)


def prefix(counts) -> list[int]:
    out = [0]
    for c in counts:
        out.append(out[-1] + int(c))
    return out
