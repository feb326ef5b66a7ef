"""The one way to read shard rows: :class:`ShardReader`, a bounded row-group cache that turns any
damage into one :class:`~rnn_spark.errors.DataError` line.

Training workers, evaluation, prediction and :func:`~rnn_spark.data.iter_minibatches` all read
row groups through it. On the first open of a shard in a reader, the file's size is compared with
the manifest's (a cheap check: the size comes with the open); with ``verify_sha256`` the shard's
content hash is checked too, once per shard per process. A missing, truncated, resized or
corrupted shard, a row group that cannot be decoded, or one whose row count or columns differ from
the manifest, raises ``DataError`` naming the shard, the row group and the command that checks the
whole dataset (``rnn-spark ingest verify DATASET``). The error pickles (it crosses Spark's Python
worker boundary as a plain one-argument exception).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rnn_spark import fs
from rnn_spark.data.manifest import WorkUnit
from rnn_spark.errors import ConfigError, DataError

# (shard URI, sha256) whose content hash matched in this process: hashed once per process.
_SHA_VERIFIED: set[tuple[str, str]] = set()

REQUIRED_COLUMNS = ("x", "length")


def dataset_of(unit: WorkUnit) -> str:
    """The dataset directory of ``unit`` (its manifest's directory)."""
    if unit.dataset:
        return unit.dataset
    # Shards written by rnn-spark live at <dataset>/<split>/<nnn>/part-<i>.parquet.
    return fs.parent(fs.parent(fs.parent(unit.shard)))


def damaged(unit: WorkUnit, what: str) -> DataError:
    """The one-line error for a damaged shard: where, what, and how to check the dataset."""
    return DataError(f"{unit.shard}: row group {unit.row_group} {what}; the dataset is damaged: "
                     f"check it with `rnn-spark ingest verify {dataset_of(unit)}` and re-run the "
                     "ingest")


def _cause(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:160] if text else type(err).__name__


def _sha256(f) -> str:
    f.seek(0)
    h = hashlib.sha256()
    for chunk in iter(lambda: f.read(1 << 20), b""):
        h.update(chunk)
    f.seek(0)
    return h.hexdigest()


class ShardReader:
    """Reads row groups of shards, keeping the ``cache_row_groups`` most recently used ones.

    At most one shard file is open at a time (the one last read from); the cache holds decoded
    Arrow tables keyed by (shard, row group, sha256), so memory stays at a few row groups whatever
    the dataset's size. Use it as a context manager or call :meth:`close`.
    """

    def __init__(self, cache_row_groups: int = 4, verify_sha256: bool = False):
        if cache_row_groups < 0:
            raise ConfigError(f"cache_row_groups: {cache_row_groups} must be >= 0")
        self.cache_row_groups = cache_row_groups
        self.verify_sha256 = verify_sha256
        self._cache: OrderedDict[tuple, pa.Table] = OrderedDict()
        self._checked: set[str] = set()   # shards whose size (and hash) passed in this reader
        self._uri: str | None = None
        self._file = None
        self._pf: pq.ParquetFile | None = None

    def read_row_group(self, unit: WorkUnit) -> pa.Table:
        """Row group ``unit.row_group`` of ``unit.shard`` as an Arrow table (cached)."""
        key = (unit.shard, unit.row_group, unit.sha256)
        table = self._cache.get(key)
        if table is not None:
            self._cache.move_to_end(key)
            return table
        table = self._read(unit)
        if self.cache_row_groups:
            self._cache[key] = table
            while len(self._cache) > self.cache_row_groups:
                self._cache.popitem(last=False)
        return table

    def read_lengths(self, unit: WorkUnit) -> np.ndarray:
        """The ``length`` column of one row group (time steps stored per row), read alone and not
        cached: what a check over a whole split needs without decoding the rows."""
        table = self._read(unit, columns=["length"])
        return table["length"].to_numpy()

    def _open(self, unit: WorkUnit) -> pq.ParquetFile:
        if unit.shard == self._uri and self._pf is not None:
            return self._pf
        self._close_file()
        try:
            f = fs.open_read(unit.shard)
        except fs.FsNotFound:
            raise damaged(unit, "unreadable: the shard listed in the manifest is missing") from None
        try:
            if unit.shard not in self._checked:
                self._check(unit, f)
            try:
                pf = pq.ParquetFile(f)
            except (pa.ArrowException, OSError, ValueError) as err:
                raise damaged(unit, "unreadable: not a readable Parquet file "
                                    f"({_cause(err)})") from None
        except BaseException:
            f.close()
            raise
        self._uri, self._file, self._pf = unit.shard, f, pf
        return pf

    def _check(self, unit: WorkUnit, f) -> None:
        if unit.size is not None:
            size = int(f.size()) if hasattr(f, "size") else int(fs.info(unit.shard)["size"])
            if size != unit.size:
                raise damaged(unit, "unreadable: not a readable Parquet file of this dataset "
                                    f"(file is {size} bytes, manifest says {unit.size}: "
                                    "truncated or replaced, the shard does not match the manifest)")
        if self.verify_sha256 and (unit.shard, unit.sha256) not in _SHA_VERIFIED:
            if _sha256(f) != unit.sha256:
                raise damaged(unit, "unreadable: the content hash differs from the manifest "
                                    "(the shard was changed)")
            _SHA_VERIFIED.add((unit.shard, unit.sha256))
        self._checked.add(unit.shard)

    def _read(self, unit: WorkUnit, columns: list[str] | None = None) -> pa.Table:
        pf = self._open(unit)
        md = pf.metadata
        if unit.row_group >= md.num_row_groups:
            raise damaged(unit, "does not match the manifest (the shard has "
                                f"{md.num_row_groups} row groups)")
        if md.row_group(unit.row_group).num_rows != unit.rows:
            raise damaged(unit, f"does not match the manifest (it holds "
                                f"{md.row_group(unit.row_group).num_rows} rows, the manifest says "
                                f"{unit.rows})")
        try:
            table = pf.read_row_group(unit.row_group, columns=columns)
        except (pa.ArrowException, OSError, ValueError, EOFError) as err:
            raise damaged(unit, f"unreadable ({_cause(err)})") from None
        missing = [c for c in columns or REQUIRED_COLUMNS if c not in table.column_names]
        if missing:
            raise damaged(unit, f"does not match the shard format (no column {missing[0]!r})")
        return table

    def _close_file(self) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
        self._uri, self._file, self._pf = None, None, None

    def close(self) -> None:
        """Close the open shard and drop the cache."""
        self._close_file()
        self._cache.clear()

    def __enter__(self) -> "ShardReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
