"""Building a vocabulary from the training text (the format lives in rnn_spark.data.vocab and
rnn_spark.data.tokenizer): characters from code point counts, and the ``bpe`` / ``word``
tokenizers through Hugging Face ``tokenizers``.

Both are deterministic: the same text gives the same tokenizer JSON, byte for byte (byte-level
BPE training breaks ties between equally frequent pairs by their ids; tests/ingest/test_subword.py
trains in two processes and compares). The word vocabulary is counted here, ties broken by the
word, rather than by ``WordLevelTrainer``, whose ties follow hash-map order.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from rnn_spark.data.tokenizer import TokenizerVocab, new_tokenizer, require_tokenizers
from rnn_spark.data.vocab import UNK, Vocab
from rnn_spark.errors import ConfigError

# the smallest --vocab-size per kind, and why
MIN_SIZE = {"bpe": (257, "the 256 byte tokens and one merge (for bytes alone use --vocab byte)"),
            "word": (2, "<unk> and one word")}


def build_char_vocab(counts: dict[int, int], min_freq: int = 1,
                     max_size: int | None = None) -> Vocab:
    """Characters seen at least ``min_freq`` times, ordered by (-count, code point), at most
    ``max_size`` tokens including ``<unk>`` (id 0)."""
    kept = sorted((-c, cp) for cp, c in counts.items() if c >= min_freq)
    if max_size is not None:
        kept = kept[:max(0, max_size - 1)]
    return Vocab("char", [UNK] + [chr(cp) for _, cp in kept], min_freq)


def check_size(kind: str, vocab_size: int | None) -> None:
    """One line when ``vocab_size`` is missing or too small for a ``kind`` tokenizer."""
    least, why = MIN_SIZE[kind]
    if vocab_size is None:
        raise ConfigError(f"vocab_size: --vocab {kind} needs --vocab-size N (tokens, at least "
                          f"{least}: {why})")
    if vocab_size < least:
        raise ConfigError(f"vocab_size: {vocab_size} is too small for the {kind} tokenizer; use "
                          f"at least {least} ({why})")


def train_vocab(kind: str, texts: Iterable[str], vocab_size: int,
                min_freq: int = 1) -> TokenizerVocab:
    """A ``bpe`` or ``word`` vocabulary of at most ``vocab_size`` tokens trained on ``texts``."""
    check_size(kind, vocab_size)
    if kind == "bpe":
        require_tokenizers("--vocab bpe")
        from tokenizers import pre_tokenizers, trainers
        tok = new_tokenizer("bpe")
        trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_freq,
                                      show_progress=False, special_tokens=[],
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tok.train_from_iterator(texts, trainer)
        return TokenizerVocab("bpe", tok.to_str(), min_freq)
    return _word_vocab(texts, vocab_size, min_freq)


def _word_vocab(texts: Iterable[str], vocab_size: int, min_freq: int) -> TokenizerVocab:
    """The ``vocab_size - 1`` most frequent words seen at least ``min_freq`` times (ties: by the
    word), then ``<unk>`` at id 0; ``unk_chars``: the mean length of the words left out."""
    pre = new_tokenizer("word").pre_tokenizer
    counts: Counter = Counter()
    for text in texts:
        counts.update(piece for piece, _ in pre.pre_tokenize_str(text))
    ranked = sorted(((-c, w) for w, c in counts.items()), key=lambda t: (t[0], t[1]))
    kept = [w for c, w in ranked if -c >= min_freq][:vocab_size - 1]
    keep = set(kept)
    out_n = sum(c for w, c in counts.items() if w not in keep)
    out_chars = sum(len(w) * c for w, c in counts.items() if w not in keep)
    tok = new_tokenizer("word", {UNK: 0, **{w: i + 1 for i, w in enumerate(kept)}})
    return TokenizerVocab("word", tok.to_str(), min_freq, out_chars / out_n if out_n else 1.0)
