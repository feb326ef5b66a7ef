"""Whether data encoded for one model is encoded the same way as a dataset: the vocabulary itself
(not only its size) and the normalisation statistics, value by value.

A vocabulary of the same size in another order (a grown corpus re-ingested: ids follow character
counts) or features normalised otherwise (other statistics, or ``--no-normalize``) fit the model's
shapes and give numbers without meaning; `mismatch` names the first difference in one phrase
("vocabulary differs: id 5 is 'e' in the model, 'a' in DATA (12 of 96 ids differ)").

Both sides are given as the manifest records them (``vocab`` and ``stats`` of manifest.json, which
a model's model.json copies). Statistics are compared with a tolerance far below anything a change
of data makes (relative 1e-9): the same data ingested again gives the same numbers, bit for bit.

A character vocabulary in another order can be read anyway, token by token, when the user asks
(``--remap-vocab``): `IdMap` takes each dataset id to the model's id of the same character (the
model's ``<unk>``, id 0, for characters it does not know) and `IdMap.apply` rewrites the token
column of a row group as it is read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rnn_spark.data.vocab import Vocab

STATS_RTOL = 1e-9


def vocab_mismatch(model, data, name: str,
                   model_name: str = "the model") -> str | None:
    """What differs between the model's vocabulary and ``data``'s (each as ``Vocab.of`` reads it;
    ``name``, ``model_name``: how to call them), or None when they are the same token for token
    (or either side has none)."""
    if model is None or not data:
        return None
    mv, dv = Vocab.of(model), Vocab.of(data)
    if mv.kind != dv.kind:
        return (f"vocabulary differs: {model_name}'s is {mv.kind}-level ({mv.size} ids), {name}'s "
                f"is {dv.kind}-level ({dv.size} ids)")
    a, b = mv.tokens, dv.tokens
    differ = [i for i in range(max(len(a), len(b)))
              if i >= len(a) or i >= len(b) or a[i] != b[i]]
    if not differ:
        if getattr(mv, "json", None) != getattr(dv, "json", None):  # bpe/word: the tokenizer
            return (f"vocabulary differs: the same {len(a)} {mv.kind} tokens, but {model_name}'s "
                    f"tokenizer is not {name}'s (other merges or settings)")
        return None
    i = differ[0]
    if i >= len(a):
        where = f"id {i} is {b[i]!r} in {name}, beyond {model_name}'s {len(a)} ids"
    elif i >= len(b):
        where = f"id {i} is {a[i]!r} in {model_name}, beyond {name}'s {len(b)} ids"
    else:
        where = f"id {i} is {a[i]!r} in {model_name}, {b[i]!r} in {name}"
    return f"vocabulary differs: {where} ({len(differ)} of {max(len(a), len(b))} ids differ)"


_PARTS = (("features", "feature"), ("targets", "target"))


def _num(v: float) -> str:
    return format(float(v), ".6g")


def stats_mismatch(model: dict | None, data: dict | None, name: str,
                   model_name: str = "the model") -> str | None:
    """What differs between the model's normalisation statistics and ``data``'s: normalised or
    not, the columns, and (normalised data) each column's mean and std; None when they agree."""
    if not model or not data:
        return None
    mn, dn = bool(model.get("normalized")), bool(data.get("normalized"))
    if mn != dn:
        how = {True: "normalised", False: "not normalised (--no-normalize)"}
        trained = "normalised data" if mn else f"data {how[False]}"
        return f"normalisation differs: {model_name} was trained on {trained}, {name} is {how[dn]}"
    for part, label in _PARTS:
        m, d = model.get(part), data.get(part)
        if not isinstance(m, dict) or not isinstance(d, dict):
            continue
        mc, dc = list(m.get("columns") or []), list(d.get("columns") or [])
        if mc and dc and mc != dc:
            return (f"{label} columns differ: {model_name}'s are {','.join(map(str, mc))}, "
                    f"{name}'s are {','.join(map(str, dc))}")
        if not mn:
            continue  # values are read as they are: the statistics only describe them
        for i in range(min(len(m["mean"]), len(d["mean"]))):
            pairs = ((m["mean"][i], d["mean"][i]), (m["std"][i], d["std"][i]))
            if not all(np.isclose(x, y, rtol=STATS_RTOL, atol=0.0) for x, y in pairs):
                col = mc[i] if i < len(mc) else str(i)
                return (f"normalisation statistics differ: {label} {col!r} has mean "
                        f"{_num(m['mean'][i])} and std {_num(m['std'][i])} in {model_name}, mean "
                        f"{_num(d['mean'][i])} and std {_num(d['std'][i])} in {name} (statistics "
                        f"of other data)")
    return None


def mismatch(model_vocab, model_stats, data_vocab, data_stats, name: str,
             model_name: str = "the model", model_steps=None, data_steps=None) -> str | None:
    """The first difference in how the model and the dataset ``name`` encode their data
    (``*_steps``: a table dataset's step layout, its categorical vocabularies)."""
    from rnn_spark.data.steps import steps_mismatch
    return (vocab_mismatch(model_vocab, data_vocab, name, model_name)
            or steps_mismatch(model_steps, data_steps, name, model_name)
            or stats_mismatch(model_stats, data_stats, name, model_name))


@dataclass(frozen=True)
class IdMap:
    """Dataset token id -> model token id (``ids[i]``), and the dataset's tokens the model lacks."""

    ids: np.ndarray
    unknown: tuple[str, ...]

    @classmethod
    def between(cls, model, data) -> "IdMap":
        """From the dataset's character vocabulary ``data`` to the model's ``model``."""
        mv, dv = Vocab.of(model), Vocab.of(data)
        index = {t: i for i, t in enumerate(mv.tokens)}
        ids = np.array([0] + [index.get(t, 0) for t in dv.tokens[1:]], dtype=np.int32)
        return cls(ids, tuple(t for t in dv.tokens[1:] if t not in index))

    def apply(self, table: pa.Table) -> pa.Table:
        """``table`` (shard rows of token ids) with its ``x`` ids in the model's numbering."""
        x = table["x"].combine_chunks()
        values = pa.array(self.ids[x.values.to_numpy()], type=x.type.value_type)
        return table.set_column(table.schema.get_field_index("x"), "x",
                                type(x).from_arrays(x.offsets, values))
