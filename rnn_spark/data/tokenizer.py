"""Sub-word and word vocabularies (``bpe``, ``word``): a Hugging Face ``tokenizers`` tokenizer, as
a manifest records it -- its JSON, embedded in the vocabulary record, so it travels wherever the
vocabulary does (manifest.json, every model.json: the run's model/, best/, checkpoints, exports).

* ``bpe``:  byte-level BPE (GPT-2's pre-tokenizer and decoder): ids 0..255 are the 256 bytes,
  every text encodes and decodes back exactly, no ``<unk>``.
* ``word``: a word-level vocabulary over words (``\\w+``), single punctuation marks, newlines and
  runs of other whitespace; tokens the vocabulary lacks become ``<unk>`` (id 0). Decoding joins the
  tokens (``<unk>`` shows as U+FFFD).

The ``tokenizers`` package is the optional extra ``text`` (``pip install 'rnn-spark[text]'``);
without it these vocabularies raise one line naming the extra. Training one is the ingest's job
(:mod:`rnn_spark.ingest.vocab`).
"""

from __future__ import annotations

import json

import numpy as np

from rnn_spark.errors import UserError

SUBWORD_KINDS = ("bpe", "word")
EXTRA = "text"
TOKENIZER_FILE = "tokenizer.json"  # the copy beside a dataset's manifest.json and in exports
WORD_PATTERN = r"\w+|[^\w\s]|\n|[^\S\n]+"  # words, punctuation, newlines, other whitespace runs


def require_tokenizers(what: str):
    """The ``tokenizers`` module, or one line saying which extra installs it."""
    try:
        import tokenizers
    except ImportError:
        raise UserError(f"{what} needs the Hugging Face tokenizers package: pip install "
                        f"'rnn-spark[{EXTRA}]' (the {EXTRA} extra)") from None
    return tokenizers


def byte_alphabet() -> list[str]:
    """GPT-2's byte -> printable character table (byte-level BPE's alphabet), by byte value."""
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1),
            *range(ord("®"), ord("ÿ") + 1)]
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return [table[b] for b in range(256)]


def new_tokenizer(kind: str, vocab: dict | None = None):
    """An untrained tokenizer of ``kind`` (bpe: to train; word: with ``vocab`` token -> id)."""
    tk = require_tokenizers(f"--vocab {kind}")
    from tokenizers import Regex, decoders, models, pre_tokenizers
    if kind == "bpe":
        tok = tk.Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
        tok.decoder = decoders.ByteLevel()
    else:
        tok = tk.Tokenizer(models.WordLevel(vocab or {"<unk>": 0}, unk_token="<unk>"))
        tok.pre_tokenizer = pre_tokenizers.Split(Regex(WORD_PATTERN), behavior="isolated")
        tok.decoder = decoders.Fuse()
    return tok


class TokenizerVocab:
    """A ``bpe`` or ``word`` vocabulary: the same interface as :class:`rnn_spark.data.vocab.Vocab`
    (``kind``, ``tokens``, ``size``, ``encode``, ``decode``, ``to_dict``) around the tokenizer's
    JSON; the tokenizer itself is built on first use (and not pickled: tasks rebuild it)."""

    def __init__(self, kind: str, tokenizer_json: str, min_freq: int = 1,
                 unk_chars: float = 1.0):
        self.kind, self.json, self.min_freq, self.unk_chars = kind, tokenizer_json, min_freq, \
            float(unk_chars)
        self._tok = self._tokens = self._pieces = None

    def __getstate__(self):
        return {**self.__dict__, "_tok": None, "_tokens": None, "_pieces": None}

    @property
    def tokenizer(self):
        """The ``tokenizers.Tokenizer``."""
        if self._tok is None:
            tk = require_tokenizers(f"a {self.kind} vocabulary")
            self._tok = tk.Tokenizer.from_str(self.json)
        return self._tok

    @property
    def unk_id(self) -> int | None:
        return 0 if self.kind == "word" else None

    @property
    def pieces(self) -> list[str]:
        """The tokenizer's own token strings by id (byte-level BPE: GPT-2's byte characters)."""
        if self._pieces is None:
            vocab = json.loads(self.json)["model"]["vocab"]
            out = [""] * len(vocab)
            for piece, i in vocab.items():
                out[i] = piece
            self._pieces = out
        return self._pieces

    @property
    def tokens(self) -> list[str]:
        """The text each id stands for (byte-level pieces decoded; a piece that is part of a
        character shows U+FFFD)."""
        if self._tokens is None:
            pieces = self.pieces
            if self.kind == "bpe":
                back = {c: b for b, c in enumerate(byte_alphabet())}
                pieces = [bytes(back[c] for c in p).decode("utf-8", errors="replace")
                          for p in pieces]
            self._tokens = pieces
        return self._tokens

    @property
    def size(self) -> int:
        return len(self.pieces)

    def encode(self, text: str) -> np.ndarray:
        if not isinstance(text, str):
            text = bytes(text).decode("utf-8", errors="replace")
        return np.asarray(self.tokenizer.encode(text, add_special_tokens=False).ids,
                          dtype=np.int32)

    def encode_many(self, texts: list[str]) -> list[np.ndarray]:
        """``encode`` of each text (in parallel inside ``tokenizers``; same ids)."""
        encs = self.tokenizer.encode_batch(texts, add_special_tokens=False)
        return [np.asarray(e.ids, dtype=np.int32) for e in encs]

    def decode(self, ids) -> str:
        ids = [int(i) for i in ids]
        if self.kind == "bpe":
            return self.tokenizer.decode([i for i in ids if 0 <= i < self.size],
                                         skip_special_tokens=False)
        toks = self.tokens
        return "".join(toks[i] if 0 < i < len(toks) else "\ufffd" for i in ids)

    def char_lengths(self) -> np.ndarray:
        """Characters each id stands for (float64): byte-level pieces count the UTF-8 lead bytes
        they hold (so a text's pieces add up to its characters); a word its length; ``<unk>``
        the mean length of what became ``<unk>`` in the training text."""
        if self.kind == "bpe":
            back = {c: b for b, c in enumerate(byte_alphabet())}
            return np.array([sum(back[c] & 0xC0 != 0x80 for c in p) for p in self.pieces],
                            dtype=np.float64)
        out = np.array([len(t) for t in self.tokens], dtype=np.float64)
        out[0] = self.unk_chars
        return out

    def to_dict(self) -> dict:
        d = {"type": self.kind, "size": self.size, "min_freq": self.min_freq,
             "tokenizer": self.json}
        if self.kind == "word":
            d.update(unk_id=0, unk="<unk>", unk_chars=self.unk_chars)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TokenizerVocab":
        return cls(d["type"], d["tokenizer"], d.get("min_freq", 1), d.get("unk_chars", 1.0))
