"""Token vocabularies for text as a manifest records them: ``byte`` (256 ids, no unknown) and
``char`` (Unicode characters seen at least ``min_freq`` times, most frequent first, id 0 =
``<unk>``): lookup, encode, decode; the sub-word and word vocabularies (``bpe``, ``word``) are
:class:`rnn_spark.data.tokenizer.TokenizerVocab`, read through the same ``Vocab.from_dict`` /
``Vocab.of``. Building one is the ingest's job (:mod:`rnn_spark.ingest.vocab`)."""

from __future__ import annotations

import numpy as np

UNK = "<unk>"


class Vocab:
    """A dataset's token vocabulary: ``kind`` ("byte" or "char"), ``tokens`` (id -> token),
    ``size``; ``encode(text)`` -> ids (unknown characters -> 0, ``<unk>``), ``decode(ids)``."""

    def __init__(self, kind: str, tokens: list[str] | None = None, min_freq: int = 1):
        self.kind, self.min_freq = kind, min_freq
        if kind == "byte":
            self.tokens = [chr(i) for i in range(256)]  # byte i shown as the latin-1 character
            self._codes = None
        else:
            self.tokens = list(tokens)
            self._codes = np.array([ord(t) for t in self.tokens[1:]], dtype=np.uint32)
            self._order = np.argsort(self._codes, kind="stable")
            self._sorted = self._codes[self._order]

    @property
    def size(self) -> int:
        return len(self.tokens)

    @property
    def unk_id(self) -> int | None:
        """The id of ``<unk>`` (char: 0), or None when every text encodes (byte)."""
        return 0 if self.kind == "char" else None

    def encode_codes(self, codes: np.ndarray) -> np.ndarray:
        """Code points (char vocab) or bytes (byte vocab) -> int32 ids."""
        if self.kind == "byte":
            return np.asarray(codes, dtype=np.int32)
        codes = np.asarray(codes, dtype=np.uint32)
        if len(self._sorted) == 0:
            return np.zeros(len(codes), np.int32)
        pos = np.clip(np.searchsorted(self._sorted, codes), 0, len(self._sorted) - 1)
        hit = self._sorted[pos] == codes
        return np.where(hit, self._order[pos] + 1, 0).astype(np.int32)

    def encode(self, text) -> np.ndarray:
        if self.kind == "byte":
            data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
            return np.frombuffer(data, dtype=np.uint8).astype(np.int32)
        return self.encode_codes(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32))

    def char_lengths(self) -> np.ndarray:
        """Characters each id stands for (float64): 1 per character (``<unk>`` too); a byte 1
        when it starts a UTF-8 character, else 0 -- so a text's ids add up to its characters."""
        if self.kind == "byte":
            return ((np.arange(256) & 0xC0) != 0x80).astype(np.float64)
        return np.ones(self.size, dtype=np.float64)

    def decode(self, ids) -> str:
        if self.kind == "byte":
            return bytes(int(i) for i in ids).decode("utf-8", errors="replace")
        return "".join(self.tokens[int(i)] if 0 < int(i) < self.size else "\ufffd" for i in ids)

    def to_dict(self) -> dict:
        d = {"type": self.kind, "size": self.size}
        if self.kind == "char":
            d.update(tokens=self.tokens, unk_id=0, unk=UNK, min_freq=self.min_freq)
        return d

    @classmethod
    def from_dict(cls, d: dict):
        """The vocabulary a record describes (a ``Vocab``, or for ``bpe`` / ``word`` a
        ``rnn_spark.data.tokenizer.TokenizerVocab``)."""
        from rnn_spark.data.tokenizer import SUBWORD_KINDS, TokenizerVocab
        if d["type"] in SUBWORD_KINDS:
            return TokenizerVocab.from_dict(d)
        if d["type"] == "byte":
            return cls("byte")
        return cls("char", d["tokens"], d.get("min_freq", 1))

    @classmethod
    def of(cls, value):
        """A vocabulary as any record holds it: a Vocab (or TokenizerVocab), its dict
        (manifest.json; a model.json of a bpe/word model), or the token list a model.json holds
        (256 latin-1 characters without <unk>: the byte vocabulary)."""
        if value is None or hasattr(value, "to_dict"):
            return value
        if isinstance(value, dict):
            return cls.from_dict(value)
        if len(value) == 256 and value[0] != UNK and all(t == chr(i) for i, t in enumerate(value)):
            return cls("byte")
        return cls("char", list(value))
