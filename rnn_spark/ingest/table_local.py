"""``ingest table``'s local engine: a ``--path`` dataset read with pyarrow, in this process.

For small tables, and the reference the Spark engine is held to: the same scans, the same block
code over the whole table as one chunk, the same shards byte for byte. Files are read the way
Spark reads a dataset directory (names starting with ``_`` or ``.`` skipped; CSV with a header,
every column as text, an empty field missing; JSON one object per line).
"""

from __future__ import annotations

import io
import json

import pyarrow as pa
import pyarrow.compute as pc

from rnn_spark import fs
from rnn_spark.data.schema import SPLITS
from rnn_spark.data.shards import write_shard
from rnn_spark.errors import DataError
from rnn_spark.ingest.plans import route
from rnn_spark.ingest.sources import find_inputs
from rnn_spark.ingest.table_block import block_chunk
from rnn_spark.ingest.table_spec import type_name


def _read_one(uri: str, fmt: str) -> pa.Table:
    import pyarrow.csv as pacsv
    import pyarrow.orc as paorc
    import pyarrow.parquet as pq

    try:
        if fmt in ("parquet", "orc"):
            with fs.open_read(uri) as f:
                data = f.read()
            buf = pa.BufferReader(data)
            return pq.read_table(buf) if fmt == "parquet" else paorc.ORCFile(buf).read()
        raw = fs.read_bytes(uri)
        if fmt == "csv":
            header = next(iter(io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8")), "")
            import csv
            names = next(csv.reader([header]), [])
            return pacsv.read_csv(io.BytesIO(raw), convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, null_values=[""],
                strings_can_be_null=True))
        rows = [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]
        return pa.Table.from_pylist(rows)
    except (pa.ArrowException, OSError, ValueError) as err:
        if isinstance(err, fs.FsError):
            raise
        cause = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise DataError(f"{uri}: cannot read it as {fmt} ({cause}); check --format") from None


def read_path(path: str, fmt: str) -> tuple[pa.Table, list[str], int]:
    """The whole dataset at ``path`` -> (table, the paths read, bytes)."""
    inputs = find_inputs([path])
    files = [f for f in inputs.files if not fs.basename(f["uri"]).startswith(("_", "."))]
    if not files:
        raise DataError(f"{path}: no data files (names starting with _ or . are skipped)")
    tables = [_read_one(f["uri"], fmt) for f in files]
    try:
        table = pa.concat_tables(tables, promote_options="default")
    except pa.ArrowInvalid as err:
        raise DataError(f"{path}: its files have different columns or types ({err}); make them "
                        "one table") from None
    return table, inputs.paths, sum(f["bytes"] for f in files)


class LocalTable:
    """The table in memory; chunks are the whole table."""

    engine = "local"

    def __init__(self, path: str, fmt: str):
        self.table, self.inputs, self.bytes = read_path(path, fmt)

    def types(self) -> dict:
        return {f.name: type_name(f.type) for f in self.table.schema}

    def map(self, fn, F, columns, merge, what: str) -> list:
        return [fn(self.table.select(columns), F)]

    def value_counts(self, col: str) -> list:
        vc = pc.value_counts(self.table[col].combine_chunks())
        return [(v, c) for v, c in zip(vc.field(0).to_pylist(), vc.field(1).to_pylist())
                if v is not None]

    def write(self, F, tmp: str, planner, say) -> tuple[dict, list]:
        block = block_chunk(self.table.select(F.spec.columns()), F)
        plans = planner(totals_of(block))
        infos = []
        parts = sorted(route(block, plans).items(), key=lambda kv: (SPLITS.index(kv[0][0]),
                                                                     kv[0][1]))
        schema = F.schema()
        for n, ((name, idx), part) in enumerate(parts):
            infos.append(write_shard(part, tmp, name, idx, plans[name].rows_per_group, F.task,
                                     schema))
            say.tick(f"wrote shard {n + 1}/{len(parts)}", last=n + 1 == len(parts))
        return plans, infos


def totals_of(block: pa.Table) -> dict:
    """Rows and stored values per split of a block of shard rows."""
    out = {name: {"rows": 0, "values": 0} for name in SPLITS}
    split = block["_split"].to_numpy()
    values = sum(pc.list_value_length(block[c]).to_numpy(zero_copy_only=False)
                 for c in ("x", "xn", "y") if c in block.column_names
                 and pa.types.is_list(block.schema.field(c).type))
    for code, name in enumerate(SPLITS):
        sel = split == code
        out[name]["rows"] += int(sel.sum())
        out[name]["values"] += int(values[sel].sum()) if sel.any() else 0
    return out
