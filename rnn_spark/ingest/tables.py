"""Reading tabular inputs (CSV, Parquet, JSON lines) with errors that name file, row and field."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.errors import DataError
from rnn_spark.ingest.sources import read_source

FORMATS = ("auto", "csv", "parquet", "jsonl")


# Cells read as missing in CSV files. Unlike pyarrow's default, "NaN"/"nan" are numbers (reported
# as NaN, not as missing values).
CSV_NULLS = ["", "NA", "N/A", "n/a", "#N/A", "NULL", "null"]


def detect_format(uri: str, fmt: str, allowed: tuple[str, ...] = FORMATS[1:]) -> str:
    """``fmt``, or the format the file name says; the error lists ``allowed`` (the formats
    this ingest reads)."""
    if fmt != "auto":
        return fmt
    name = fs.basename(uri).lower()
    for ext, f in ((".parquet", "parquet"), (".pq", "parquet"), (".csv", "csv"),
                   (".tsv", "csv"), (".jsonl", "jsonl"), (".ndjson", "jsonl"),
                   (".json", "jsonl")):
        if name.endswith(ext):
            return f
    raise DataError(f"{uri}: cannot tell the format from the file name; pass --format "
                    f"{'|'.join(allowed)}")


def where(uri: str, fmt: str, row: int) -> str:
    """Human location of data row ``row`` (0-based) of a file."""
    if fmt == "csv":
        return f"{uri}: line {row + 2}"  # 1-based, after the header line
    if fmt == "jsonl":
        return f"{uri}: line {row + 1}"
    return f"{uri}: row {row + 1}"


def safe_text(text: str, limit: int = 80) -> str:
    """``text`` fit for a one-line message: control and undecodable characters escaped
    (``\\x00``, ``\\ufffd``), cut to about ``limit`` characters."""
    out = "".join(c if c.isprintable() and c != "\ufffd" else c.encode("unicode_escape").decode()
                  for c in text[:limit])
    return out + ("..." if len(text) > limit else "")


def _first_line(err) -> str:
    text = str(err).strip()
    return safe_text(text.splitlines()[0], 160) if text else type(err).__name__


def read_table(uri: str, fmt: str, string_columns=()) -> pa.Table:
    """The whole file as an Arrow table (CSV: ``string_columns`` kept as text)."""
    if fmt == "parquet":
        try:
            with fs.open_read(uri) as f:
                return pq.read_table(f)
        except (pa.ArrowException, OSError) as err:
            if isinstance(err, fs.FsError):
                raise
            raise DataError(f"{uri}: not a readable Parquet file ({_first_line(err)}); the file "
                            "is truncated or corrupt, re-export it") from None
    data = read_source(uri)
    if not data.strip():
        raise DataError(f"{uri}: the file is empty")
    if fmt == "csv":
        delim = "\t" if uri.lower().endswith(".tsv") else ","
        try:
            return pacsv.read_csv(
                io.BytesIO(data), parse_options=pacsv.ParseOptions(delimiter=delim),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in string_columns},
                    null_values=CSV_NULLS, strings_can_be_null=False))
        except (pa.ArrowException, OSError) as err:
            raise DataError(f"{uri}: cannot parse CSV ({_first_line(err)}); fix the file") from None
    rows = []
    for n, line in enumerate(data.decode("utf-8", errors="strict").splitlines()):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{uri}: line {n + 1}: not valid JSON ({err.msg}); fix the line"
                            ) from None
        if not isinstance(obj, dict):
            raise DataError(f"{uri}: line {n + 1}: expected a JSON object per line")
        obj["__line"] = n
        rows.append(obj)
    return rows  # JSON lines stay Python objects (mixed int/float matters)


def _no_column(uri: str, name: str, columns) -> DataError:
    return DataError(f"{uri}: no column {name!r} (columns: {', '.join(columns)}); check the "
                     "column options")


def column(table: pa.Table, name: str, uri: str) -> pa.ChunkedArray:
    if name not in table.column_names:
        raise _no_column(uri, name, table.column_names)
    return table[name]


def require_fields(rows: list[dict], names, uri: str) -> None:
    """JSON lines: a field that no row has is a wrong column name (as a CSV's missing column),
    not a missing value."""
    seen = dict.fromkeys(k for r in rows for k in r if k != "__line")
    for name in names:
        if name not in seen:
            raise _no_column(uri, name, seen)


# a date (1958-03-29, 1958/03/29, 29.03.1958) with or without a time, or a time (10:30)
_DATE_TIME = re.compile(r"(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
                        r"([ T]\d{1,2}:\d{2}\S*)?(\s*(Z|UTC|[+-]\d{2}:?\d{2}))?"
                        r"|\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?")


def date_time_text(col: pa.ChunkedArray) -> str | None:
    """The first value of a column of dates/times (Arrow temporal type, or text that looks like
    one), as text; ``None`` for any other column."""
    temporal = pa.types.is_temporal(col.type)
    if not (temporal or pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        return None
    values = col.drop_null()
    if len(values) == 0:
        return None
    first = values[0].as_py()
    return str(first) if temporal or _DATE_TIME.fullmatch(first.strip()) else None


def numeric_matrix(table: pa.Table, names: list[str], uri: str, fmt: str) -> np.ndarray:
    """Selected columns as float64 [rows, len(names)]; missing/non-numeric/NaN/Inf are errors."""
    out = np.empty((table.num_rows, len(names)), dtype=np.float64)
    for j, name in enumerate(names):
        col = column(table, name, uri)
        if col.null_count:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataError(f"{where(uri, fmt, row)}: field {name!r} is missing; fill or drop "
                            "the row")
        if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
                or pa.types.is_boolean(col.type)):
            values = col.to_pylist()
            for row, v in enumerate(values):
                try:
                    float(v)
                except (TypeError, ValueError):
                    raise DataError(f"{where(uri, fmt, row)}: field {name!r} = {str(v)[:40]!r} is "
                                    "not a number; fix the value or choose other columns"
                                    ) from None
            vals = np.array([float(v) for v in values], dtype=np.float64)
        else:
            vals = col.cast(pa.float64()).to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(vals)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(f"{where(uri, fmt, row)}: field {name!r} is {vals[row]} (NaN/Inf); "
                            "fix or drop the row")
        out[:, j] = vals
    return out


def sort_order(table: pa.Table, keys: list[str], uri: str, fmt: str) -> np.ndarray:
    """Stable order by ``keys`` (each must have no missing values)."""
    for k in keys:
        col = column(table, k, uri)
        if col.null_count:
            row = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataError(f"{where(uri, fmt, row)}: field {k!r} is missing; fill or drop the row")
    if not keys:
        return np.arange(table.num_rows)
    return pc.sort_indices(table, sort_keys=[(k, "ascending") for k in keys]).to_numpy()
