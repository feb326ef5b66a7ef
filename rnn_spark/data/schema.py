"""Shard schema (one Parquet row per sequence), seeded row hashing, and block assembly.

Columns of every shard:

* ``x``       -- ``list<int32>`` token ids (kind ``tokens``) or ``list<float32>`` features flattened
                 step-major (kind ``features``: ``length * input_size`` values); kind ``mixed``
                 (schema version 2, ``rnn-spark ingest table``): ``list<int32>``, ``n_cat`` ids per
                 step (:mod:`rnn_spark.data.steps`).
* ``xn``      -- kind ``mixed`` only: ``list<float32>``, the ``n_num`` numeric fields of each step.
* ``length``  -- ``int32`` number of time steps stored in ``x`` (for task ``lm`` a row holds
                 ``seq_len + 1`` ids: inputs ``x[:-1]``, targets ``x[1:]``).
* ``y``       -- absent for ``lm``; ``int32`` class for ``classify``; ``list<float32>`` for
                 ``regress`` (``output_size`` values for head_at ``last``, ``length * output_size``
                 step-major for head_at ``every``).
* ``src_file``, ``src_row`` -- where the row came from (index into the manifest's sources, row or
                 window number in that file): provenance for error messages.

Rows are spread over shards and ordered inside a shard by a 64-bit hash of (seed, src_file,
src_row), so the layout depends on the seed and the input alone, never on how the work was
distributed: the local and Spark engines produce the same bytes.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

SCHEMA_VERSION = 1          # what tokens and features datasets are written with
MIXED_SCHEMA_VERSION = 2    # kind mixed: several categorical fields and/or numeric ones per step
SCHEMA_VERSIONS = (SCHEMA_VERSION, MIXED_SCHEMA_VERSION)  # what this rnn-spark reads
FORMAT = "rnn-spark-shards"
KINDS = ("tokens", "features", "mixed")
TASKS = ("lm", "classify", "regress")
HEADS = ("every", "last")
SPLITS = ("train", "val")  # in manifest and shard order

_U64 = np.uint64
_MASK = (1 << 64) - 1


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic, vectorised)."""
    z = np.asarray(x, dtype=_U64) + _U64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


def row_hash(seed: int, src_file: int, src_row: np.ndarray) -> np.ndarray:
    """Hash per row, a function of (seed, file index, row index) only."""
    a = mix64(np.array([seed & _MASK], dtype=_U64))
    b = mix64(a ^ _U64(src_file & _MASK))
    return mix64(b[0] ^ np.asarray(src_row, dtype=np.int64).astype(_U64))


def unit_fraction(h: np.ndarray) -> np.ndarray:
    """Map hashes to floats uniform in [0, 1) (53 bits)."""
    return (np.asarray(h, dtype=_U64) >> _U64(11)).astype(np.float64) * (1.0 / (1 << 53))


def shard_of(h: np.ndarray, n_shards: int) -> np.ndarray:
    """Shard index per row (independent of the split decision, which uses ``h`` itself)."""
    return (mix64(np.asarray(h, dtype=_U64) ^ _U64(0x5DEECE66D)) % _U64(n_shards)).astype(np.int64)


def schema_version(kind: str) -> int:
    """The lowest schema version that describes a dataset of ``kind``."""
    return MIXED_SCHEMA_VERSION if kind == "mixed" else SCHEMA_VERSION


def arrow_schema(kind: str, task: str) -> pa.Schema:
    fields = [pa.field("x", pa.list_(pa.float32() if kind == "features" else pa.int32()))]
    if kind == "mixed":
        fields.append(pa.field("xn", pa.list_(pa.float32())))
    fields.append(pa.field("length", pa.int32()))
    if task == "classify":
        fields.append(pa.field("y", pa.int32()))
    elif task == "regress":
        fields.append(pa.field("y", pa.list_(pa.float32())))
    fields += [pa.field("src_file", pa.int32()), pa.field("src_row", pa.int64())]
    return pa.schema(fields)


def list_array(values: np.ndarray, offsets: np.ndarray, value_type: pa.DataType) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(np.asarray(offsets, dtype=np.int32)),
                                    pa.array(values, type=value_type))


def make_block(kind: str, task: str, *, x_values, x_offsets, lengths, src_file: int,
               src_row, y=None, y_offsets=None, split=None, seed: int = 0, xn_values=None,
               xn_offsets=None) -> pa.Table:
    """Build a table of rows (plus the private ``_h`` hash and ``_split`` columns);
    ``xn_values``/``xn_offsets``: the numeric fields of a mixed dataset."""
    src_row = np.asarray(src_row, dtype=np.int64)
    n = len(src_row)
    ids = kind != "features"
    xt = pa.int32() if ids else pa.float32()
    xv = np.asarray(x_values, dtype=np.int32 if ids else np.float32)
    cols = {"x": list_array(xv, x_offsets, xt)}
    if kind == "mixed":
        cols["xn"] = list_array(np.asarray(xn_values, np.float32), xn_offsets, pa.float32())
    cols["length"] = pa.array(np.asarray(lengths, np.int32))
    if task == "classify":
        cols["y"] = pa.array(np.asarray(y, dtype=np.int32))
    elif task == "regress":
        cols["y"] = list_array(np.asarray(y, dtype=np.float32), y_offsets, pa.float32())
    cols["src_file"] = pa.array(np.full(n, src_file, dtype=np.int32))
    cols["src_row"] = pa.array(src_row)
    h = row_hash(seed, src_file, src_row)
    cols["_h"] = pa.array(h)
    cols["_split"] = pa.array(np.zeros(n, np.int8) if split is None else np.asarray(split, np.int8))
    return pa.table(cols)


def empty_block(kind: str, task: str) -> pa.Table:
    schema = arrow_schema(kind, task)
    schema = schema.append(pa.field("_h", pa.uint64())).append(pa.field("_split", pa.int8()))
    return schema.empty_table()


def order_rows(table: pa.Table) -> pa.Table:
    """Canonical order inside a shard: by hash, ties by (src_file, src_row); private cols dropped."""
    if table.num_rows:
        idx = np.lexsort((table["src_row"].to_numpy(), table["src_file"].to_numpy(),
                          table["_h"].to_numpy()))
        table = table.take(pa.array(idx))
    return table.drop_columns([c for c in ("_h", "_split") if c in table.column_names])


def steps_of(table: pa.Table, task: str) -> np.ndarray:
    """Input time steps per row (``length - 1`` for lm rows)."""
    n = table["length"].to_numpy().astype(np.int64)
    return n - 1 if task == "lm" else n
