"""Segments: how a sub-word or word text ingest cuts its files before it has a tokenizer.

The train/val split must be known before the tokenizer exists (the tokenizer is trained on the
training text only), so a ``bpe`` / ``word`` ingest splits by *segment*, not by row: each file is
cut near every multiple of ``S = SEGMENT_ROWS * (seq_len + 1)`` bytes -- at the first line start
in ``[k*S, (k+1)*S)``, else at the first UTF-8 character start at or after ``k*S`` -- and segment
``k`` of file ``i`` goes to validation when its seeded hash falls below ``val_fraction``. Each
segment is tokenized on its own and cut into rows of ``seq_len + 1`` token ids (rows never cross
segments, as they never cross files). Every cut depends only on the bytes after its grid point,
so any reader (an ingest task, the driver's sampler, ``predict --input``) finds the same cuts.

The tokenizer is trained on at most ``vocab_sample`` bytes of training text: every training
segment when there is no more, else the training segments whose second seeded hash falls below
``vocab_sample / training bytes`` (a uniform sample, the same on every engine and every run).
"""

from __future__ import annotations

import numpy as np

from rnn_spark.data.schema import row_hash, unit_fraction

SEGMENT_ROWS = 64              # a segment is about this many rows of characters
SPLIT_SALT = 0x5E6_3E47        # segment split hashes: apart from the row hashes of the shards
SAMPLE_SALT = 0x7A3_5A4B       # which training segments the tokenizer is trained on


def segment_bytes(seq_len: int) -> int:
    return SEGMENT_ROWS * (seq_len + 1)


def n_segments(size: int, seg: int) -> int:
    return max(1, -(-size // seg))


def cut(read, k: int, seg: int, size: int) -> int:
    """Where segment ``k`` starts (``read(lo, hi)`` -> the file's bytes ``[lo, hi)``)."""
    lo = k * seg
    if k <= 0:
        return 0
    if lo >= size:
        return size
    buf = read(lo, min(size, lo + seg))
    j = buf.find(b"\n")
    if j >= 0:
        return lo + j + 1
    for i, b in enumerate(buf):
        if b & 0xC0 != 0x80:
            return lo + i
    return min(size, lo + seg)


def bounds(data: bytes, seg: int) -> np.ndarray:
    """Start of every segment of ``data`` and its end (``n_segments + 1`` offsets)."""
    size = len(data)
    k = n_segments(size, seg)
    out = [cut(lambda lo, hi: data[lo:hi], i, seg, size) for i in range(k)]
    return np.array(out + [size], dtype=np.int64)


def val_segments(seed: int, idx: int, k: int, val_fraction: float) -> np.ndarray:
    """1 for each of file ``idx``'s ``k`` segments that goes to validation, else 0 (int8)."""
    h = row_hash(seed ^ SPLIT_SALT, idx, np.arange(k, dtype=np.int64))
    return (unit_fraction(h) < val_fraction).astype(np.int8)


def sampled(seed: int, idx: int, k: int, fraction: float) -> np.ndarray:
    """Which of file ``idx``'s ``k`` segments the tokenizer sample takes (before the split)."""
    if fraction >= 1:
        return np.ones(k, dtype=bool)
    return unit_fraction(row_hash(seed ^ SAMPLE_SALT, idx, np.arange(k, dtype=np.int64))) < fraction


def char_counts(data: bytes, starts: np.ndarray) -> np.ndarray:
    """Characters (UTF-8 lead bytes) of each segment ``[starts[j], starts[j + 1])``."""
    lead = np.concatenate([[0], np.cumsum((np.frombuffer(data, np.uint8) & 0xC0) != 0x80)])
    return np.diff(lead[starts])
