"""Building a character vocabulary from code point counts (the format lives in rnn_spark.data.vocab)."""

from __future__ import annotations

from rnn_spark.data.vocab import UNK, Vocab


def build_char_vocab(counts: dict[int, int], min_freq: int = 1,
                     max_size: int | None = None) -> Vocab:
    """Characters seen at least ``min_freq`` times, ordered by (-count, code point), at most
    ``max_size`` tokens including ``<unk>`` (id 0)."""
    kept = sorted((-c, cp) for cp, c in counts.items() if c >= min_freq)
    if max_size is not None:
        kept = kept[:max(0, max_size - 1)]
    return Vocab("char", [UNK] + [chr(cp) for _, cp in kept], min_freq)
