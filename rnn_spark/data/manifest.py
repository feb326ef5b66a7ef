"""``manifest.json``: what a shard directory holds, and the work units a trainer streams.

The manifest is JSON (sorted keys, no timestamps, shard paths relative to the manifest's
directory) so the same input + options + seed give byte-identical manifests wherever they were
written. Readers refuse a format or schema version they do not know, and shard paths that are
not relative paths inside the dataset directory (absolute, a URI, or with ``..``). Each shard
entry records its size in bytes (``bytes``), which :class:`~rnn_spark.data.reader.ShardReader`
checks when it opens the shard, and its sha256.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass

from rnn_spark import fs
from rnn_spark.data.schema import (FORMAT, HEADS, KINDS, MIXED_SCHEMA_VERSION, SCHEMA_VERSIONS,
                                   TASKS)
from rnn_spark.errors import DataError

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class WorkUnit:
    """One row group of one shard: the unit of work a trainer deals to its workers."""

    shard: str        # absolute URI of the shard file
    row_group: int
    rows: int
    tokens: int
    sha256: str
    size: int | None = None   # bytes of the shard file per the manifest (None: unchecked)
    dataset: str = ""         # the dataset directory (the manifest's), for error messages

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "WorkUnit":
        size = d.get("size")
        return cls(shard=str(d["shard"]), row_group=int(d["row_group"]), rows=int(d["rows"]),
                   tokens=int(d["tokens"]), sha256=str(d["sha256"]),
                   size=None if size is None else int(size), dataset=str(d.get("dataset", "")))


def _absolute(uri: str) -> str:
    return uri if fs.scheme(uri) != "file" or "://" in uri else os.path.abspath(uri)


class Manifest:
    """A parsed, validated manifest (``root`` is the directory holding it)."""

    def __init__(self, data: dict, root: str):
        self.data, self.root = data, _absolute(root)
        self.task = data["task"]
        self.head_at = data["head_at"]
        self.kind = data["kind"]
        self.vocab_size = data.get("vocab_size")
        self.input_size = data.get("input_size")
        self.output_size = data["output_size"]
        self.stats = data.get("stats")
        self.vocab_info = data.get("vocab")
        self.steps_info = data.get("steps")  # table datasets: the step layout (data/steps.py)
        self.splits = [s for s in ("train", "val") if s in data["splits"]]

    @property
    def vocab(self):
        """The vocabulary as a model.json records it: token strings (char/byte vocabulary), the
        vocabulary record itself (bpe/word: it holds the tokenizer), or ``None``."""
        if not self.vocab_info:
            return None
        from rnn_spark.data.tokenizer import SUBWORD_KINDS
        if self.vocab_info.get("type") in SUBWORD_KINDS:
            return dict(self.vocab_info)
        from rnn_spark.data.vocab import Vocab
        return Vocab.from_dict(self.vocab_info).tokens

    @property
    def steps(self):
        """The :class:`~rnn_spark.data.steps.StepLayout` of a table dataset, or ``None``."""
        from rnn_spark.data.steps import StepLayout
        return StepLayout.from_dict(self.steps_info)

    def tokenizer(self):
        """The :class:`~rnn_spark.data.vocab.Vocab` (encode/decode text), or ``None``."""
        if not self.vocab_info:
            return None
        from rnn_spark.data.vocab import Vocab
        return Vocab.from_dict(self.vocab_info)

    def counts(self, split: str) -> dict:
        s = self._split(split)
        return {"sequences": s["sequences"], "tokens": s["tokens"]}

    def class_counts(self, split: str) -> list[int] | None:
        """A classify dataset's rows per label in ``split`` (index = class), or None when the
        manifest has none (written before rnn-spark counted them)."""
        counts = (self.data.get("class_counts") or {}).get(split)
        return None if counts is None else [int(c) for c in counts]

    def shards(self, split: str) -> list[dict]:
        return list(self._split(split)["shards"])

    def work_units(self, split: str) -> list[WorkUnit]:
        """Every row group of the split, in canonical order (shard index, then row group)."""
        units = []
        for sh in self._split(split)["shards"]:
            uri = fs.join(self.root, sh["path"])
            size = sh.get("bytes")
            for i, g in enumerate(sh["row_groups"]):
                units.append(WorkUnit(uri, i, g["rows"], g["tokens"], sh["sha256"],
                                      None if size is None else int(size), self.root))
        return units

    def model_fields(self) -> dict:
        return {"vocab_size": self.vocab_size, "input_size": self.input_size,
                "output_size": self.output_size, "task": self.task, "head_at": self.head_at}

    def _split(self, split: str) -> dict:
        try:
            return self.data["splits"][split]
        except KeyError:
            raise DataError(f"{fs.join(self.root, MANIFEST_NAME)}: no split {split!r} "
                            f"(has: {', '.join(self.splits) or 'none'})") from None

    def verify(self, check: str = "hash") -> None:
        """Check every shard exists with the recorded size (``"size"``) and hash (``"hash"``),
        and that its Parquet footer lists the manifest's row groups."""
        import hashlib
        for split in self.splits:
            for sh in self.shards(split):
                uri = fs.join(self.root, sh["path"])
                if not fs.exists(uri):
                    raise DataError(f"{uri}: shard listed in the manifest is missing; "
                                    "re-run the ingest")
                size = fs.info(uri)["size"]
                if size != sh["bytes"]:
                    raise DataError(f"{uri}: {size} bytes, the manifest says {sh['bytes']}; "
                                    "the shard was changed or truncated, re-run the ingest")
                if check == "hash":
                    h = hashlib.sha256()
                    with fs.open_read(uri) as f:
                        for chunk in iter(lambda: f.read(1 << 20), b""):
                            h.update(chunk)
                    if h.hexdigest() != sh["sha256"]:
                        raise DataError(f"{uri}: content hash differs from the manifest; "
                                        "the shard was changed, re-run the ingest")
                _check_footer(uri, sh["row_groups"])


def _check_footer(uri: str, groups: list[dict]) -> None:
    """The shard's Parquet footer lists the row groups the manifest lists (same row counts)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    try:
        with fs.open_read(uri) as f:
            md = pq.ParquetFile(f).metadata
    except (pa.ArrowException, OSError, ValueError) as err:
        cause = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise DataError(f"{uri}: not a readable Parquet file ({cause}); the shard is damaged, "
                        "re-run the ingest") from None
    if md.num_row_groups != len(groups):
        raise DataError(f"{uri}: {md.num_row_groups} row groups, the manifest says "
                        f"{len(groups)}; the shard was replaced, re-run the ingest")
    for i, g in enumerate(groups):
        if md.row_group(i).num_rows != g["rows"]:
            raise DataError(f"{uri}: row group {i} holds {md.row_group(i).num_rows} rows, the "
                            f"manifest says {g['rows']}; the shard was replaced, re-run the "
                            "ingest")


def _require(cond, where, msg):
    if not cond:
        raise DataError(f"{where}: {msg}")


_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def check_shard_path(path, where: str) -> None:
    """A shard path must be relative and stay inside the dataset directory: no absolute path,
    no URI scheme, no ``..`` component (a manifest must not make a reader open other files)."""
    ok = (isinstance(path, str) and path and not path.startswith(("/", "\\"))
          and not _SCHEME_RE.match(path) and "\\" not in path and "\0" not in path
          and all(part not in ("..", ".", "") for part in path.split("/")))
    if not ok:
        shown = repr(path)[:120]
        raise DataError(f"{where}: shard path {shown} is not a relative path inside the dataset "
                        "directory; the manifest was edited or damaged, re-run the ingest")


def validate(data, where: str) -> None:
    _require(isinstance(data, dict) and data.get("format") == FORMAT, where,
             f"not an rnn-spark manifest (no \"format\": \"{FORMAT}\")")
    v = data.get("schema_version")
    _require(v in SCHEMA_VERSIONS, where,
             f"schema version {v!r} is not supported by this rnn-spark (reads versions "
             f"{', '.join(map(str, SCHEMA_VERSIONS))}); re-ingest the data or upgrade rnn-spark")
    _require(data.get("kind") in KINDS, where, f"field 'kind' must be one of {KINDS}")
    _require(data["kind"] != "mixed" or v >= MIXED_SCHEMA_VERSION, where,
             f"kind 'mixed' needs schema version {MIXED_SCHEMA_VERSION}, the manifest says {v}")
    if data["kind"] == "mixed" or data.get("steps") is not None:
        from rnn_spark.data.steps import validate_steps
        _require(data["kind"] != "mixed" or isinstance(data.get("steps"), dict), where,
                 "a mixed dataset needs field 'steps' (its step layout); re-run the ingest")
        validate_steps(data["steps"], data["kind"], where)
    _require(data.get("task") in TASKS, where, f"field 'task' must be one of {TASKS}")
    _require(data.get("head_at") in HEADS, where, f"field 'head_at' must be one of {HEADS}")
    _require(isinstance(data.get("splits"), dict) and data["splits"], where,
             "field 'splits' is missing or empty")
    for name, s in data["splits"].items():
        _require(name in ("train", "val"), where, f"unknown split {name!r}")
        for key in ("sequences", "tokens", "shards"):
            _require(key in s, where, f"split {name!r} lacks field {key!r}")
        for sh in s["shards"]:
            for key in ("path", "sha256", "bytes", "sequences", "tokens", "row_groups"):
                _require(key in sh, where, f"a shard of split {name!r} lacks field {key!r}")
            check_shard_path(sh["path"], where)
        _require(sum(sh["sequences"] for sh in s["shards"]) == s["sequences"], where,
                 f"split {name!r}: shard sequence counts do not add up")
        counts = (data.get("class_counts") or {}).get(name)
        _require(counts is None or (isinstance(counts, list) and sum(counts) == s["sequences"]
                                    and len(counts) == data.get("output_size")), where,
                 f"split {name!r}: class_counts do not add up to its sequences")


def read_manifest(uri: str) -> Manifest:
    """Read ``uri`` (a manifest.json or the directory holding one); validate it."""
    given = uri
    if not uri.rstrip("/").endswith(".json"):
        uri = fs.join(uri, MANIFEST_NAME)
    try:
        raw = fs.read_bytes(uri)
    except fs.FsError as err:
        if given == uri or isinstance(err, (fs.FsUnreachable, fs.FsPermission)):
            raise
        raise _not_a_dataset(given) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DataError(f"{uri}: not valid JSON ({err}); re-run the ingest") from None
    validate(data, uri)
    return Manifest(data, fs.parent(uri))


def _not_a_dataset(uri: str) -> DataError:
    """Why ``uri`` (which has no readable manifest.json inside) is not a dataset, and the fix."""
    fix = (f"run `rnn-spark ingest text|labelled|series SRC... --out DIR` on the raw data first, "
           "then pass DIR")
    if not fs.exists(uri):
        return DataError(f"{uri}: does not exist; pass a dataset (the directory `rnn-spark "
                         "ingest` writes), or " + fix)
    if not fs.isdir(uri):
        return DataError(f"{uri}: is a file, not a dataset (the directory of Parquet shards + "
                         f"manifest.json that `rnn-spark ingest` writes); {fix}")
    return DataError(f"{uri}: is a directory without {MANIFEST_NAME}, not a dataset (the "
                     f"directory `rnn-spark ingest` writes); {fix}")


def dump_manifest(data: dict) -> bytes:
    return (json.dumps(data, sort_keys=True, indent=1, allow_nan=False) + "\n").encode("utf-8")
