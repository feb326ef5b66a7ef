"""64-bit hashes of table values that depend on the values alone: a group's key, a sequence's
content. They name a table dataset's rows (``src_row``), so which rows go to validation and where
a row lands do not depend on how Spark partitioned the table nor on the engine.

Each value becomes one 64-bit word (SplitMix64 of its bits, tagged by its kind: the integer 1, the
string "1" and true differ); a string's or a list's word mixes each element's word with its
position. Vectorised with NumPy (wrapping uint64 arithmetic).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rnn_spark.data.schema import mix64

_U = np.uint64
_TAG = {"int": 0x1F3D5B79A1C3E5F7, "float": 0x2E4C6A8896B4D2F1, "bool": 0x3B5D7F9112345679,
        "str": 0x4A6C8EA0CBEDF013, "time": 0x59817A3C5E7F9B1D, "date": 0x68A0C2E4F6183A5C,
        "list": 0x77B9DBFD1F416385, "null": 0x86C8EA0C2E507294}


def _tag(name: str) -> np.uint64:
    return _U(_TAG[name])


def _seq_combine(elem: np.ndarray, offsets: np.ndarray, tag: np.uint64) -> np.ndarray:
    """Per row: the elements ``elem[offsets[i]:offsets[i+1]]`` mixed with their positions."""
    offsets = np.asarray(offsets, np.int64)
    lengths = np.diff(offsets)
    n = len(lengths)
    out = np.zeros(n, _U)
    if len(elem):
        base = offsets[0]
        starts = offsets[:-1] - base
        pos = np.arange(len(elem), dtype=np.int64) - np.repeat(starts, lengths)
        w = mix64(np.asarray(elem, _U) ^ mix64(pos.astype(_U) + tag))
        nz = lengths > 0
        if nz.any():
            out[nz] = np.add.reduceat(w, starts[nz])
    return mix64(out ^ mix64(lengths.astype(_U) ^ tag))


def value_words(arr) -> np.ndarray:
    """One uint64 word per value of an Arrow array (nulls get a word of their own)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_binary(t) \
            or pa.types.is_large_binary(t):
        b = arr.cast(pa.large_binary())
        offsets = np.frombuffer(b.buffers()[1], np.int64)[b.offset:b.offset + len(b) + 1]
        data = np.frombuffer(b.buffers()[2], np.uint8) if b.buffers()[2] is not None \
            else np.zeros(0, np.uint8)
        words = _seq_combine(data[offsets[0]:offsets[-1]], offsets, _tag("str"))
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = value_words(arr.flatten())
        offsets = arr.offsets.to_numpy().astype(np.int64)
        words = _seq_combine(inner, offsets - offsets[0], _tag("list"))
    elif pa.types.is_boolean(t):
        words = mix64(np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), _U)
                      ^ _tag("bool"))
    elif pa.types.is_integer(t):
        v = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        words = mix64(v.view(_U) ^ _tag("int"))
    elif pa.types.is_floating(t) or pa.types.is_decimal(t):
        v = arr.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False) + 0.0
        words = mix64(v.view(_U) ^ _tag("float"))  # + 0.0: -0.0 and 0.0 are one value
    elif pa.types.is_timestamp(t):
        v = arr.cast(pa.timestamp("us", t.tz)).cast(pa.int64()).fill_null(0)
        words = mix64(v.to_numpy(zero_copy_only=False).view(_U) ^ _tag("time"))
    elif pa.types.is_date(t):
        v = arr.cast(pa.date32()).cast(pa.int32()).cast(pa.int64()).fill_null(0)
        words = mix64(v.to_numpy(zero_copy_only=False).view(_U) ^ _tag("date"))
    else:
        raise TypeError(f"cannot hash values of type {t}")
    if arr.null_count:
        nulls = pc.is_null(arr).to_numpy(zero_copy_only=False)
        words = np.where(nulls, mix64(np.full(len(arr), _tag("null"), _U)), words)
    return words


def row_words(columns: list) -> np.ndarray:
    """One uint64 per row of several columns of equal length (order matters)."""
    h = None
    for col in columns:
        w = value_words(col)
        h = w if h is None else mix64(h ^ mix64(w + _U(0x9E3779B97F4A7C15)))
    return h


def key_of(*words: np.ndarray) -> np.ndarray:
    """A non-negative int64 naming a row (``src_row``) from uint64 words (group, session, ...)."""
    h = np.zeros(len(words[0]), _U)
    for w in words:
        h = mix64(h ^ np.asarray(w, _U))
    return (h >> _U(1)).astype(np.int64)


def unit_of(words: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """A float in [0, 1) per word, for seeded splits (``salt`` keeps uses apart)."""
    s = mix64(np.array([(seed ^ salt) & 0xFFFFFFFFFFFFFFFF], _U))[0]
    return (mix64(np.asarray(words, _U) ^ s) >> _U(11)).astype(np.float64) * (1.0 / (1 << 53))
