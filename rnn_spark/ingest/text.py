"""Text ingest: UTF-8 files -> language-model rows of ``seq_len + 1`` token ids.

Char and byte vocabularies: each file is one token stream (rows never cross files). Row ``k`` of a
file starts at token ``k * (seq_len - overlap)`` and holds up to ``seq_len + 1`` ids (inputs
``[:-1]``, targets ``[1:]``); the last row of a file may be shorter (kept when it has at least 2
steps). A row goes to the validation split when its seeded hash falls below ``val_fraction``.

Sub-word and word vocabularies (``bpe``, ``word``): each file is cut into segments first
(:mod:`rnn_spark.ingest.segments`), split by segment, and the tokenizer is trained on the driver in
``finalize`` from (a sample of) the training segments; each segment is then one token stream as
above, its rows numbered on through the file (``src_row``).
"""

from __future__ import annotations

import numpy as np

from rnn_spark import fs
from rnn_spark.data.schema import empty_block, make_block, row_hash, unit_fraction
from rnn_spark.data.tokenizer import SUBWORD_KINDS, require_tokenizers
from rnn_spark.data.vocab import Vocab
from rnn_spark.errors import ConfigError, DataError
from rnn_spark.ingest.chunks import (MAX_UTF8_BYTES, char_start, chunk_range, chunk_rows, n_rows,
                                     prefix, read_range, rows_between)
from rnn_spark.ingest.job import Job
from rnn_spark.ingest.pipeline import run_ingest
from rnn_spark.ingest import segments as sg
from rnn_spark.ingest.sources import read_source
from rnn_spark.ingest.vocab import build_char_vocab, check_size, train_vocab

DEFAULT_VOCAB_SAMPLE = 64 << 20
ESTIMATE_BYTES = 1 << 20  # tokens per character (to size the shard plan) from this much sample


def window_rows(n: int, seq_len: int, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and length of every row over a stream of ``n`` tokens."""
    L, stride = seq_len + 1, seq_len - overlap
    if n < 3:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    count = max(0, -(-(n - L) // stride)) + 1
    starts = np.arange(count, dtype=np.int64) * stride
    lengths = np.minimum(L, n - starts)
    keep = lengths >= 3
    return starts[keep], lengths[keep]


def _bad_utf8(uri: str, line: int, pos: int) -> DataError:
    return DataError(f"{uri}: line {line} (byte {pos}): not valid UTF-8; pass --on-decode-error "
                     "replace to substitute U+FFFD, or use --vocab byte")


def _open(uri: str):
    try:
        return fs.open_read(uri)
    except fs.FsNotFound:
        raise DataError(f"{uri}: input not found (was it removed during the ingest?)") from None


class TextJob(Job):
    type = "text"
    kind, task, head_at = "tokens", "lm", "every"
    chunkable = True  # the Spark engine may cut big files into byte-range chunks

    def __init__(self, *, seq_len: int, vocab: str = "char", min_freq: int = 1,
                 max_vocab: int | None = None, overlap: int = 0, val_fraction: float = 0.1,
                 seed: int = 0, on_decode_error: str = "fail", vocab_size: int | None = None,
                 vocab_sample: int = DEFAULT_VOCAB_SAMPLE):
        if seq_len < 2:
            raise ConfigError(f"seq_len: {seq_len} is too short; use at least 2")
        if not 0 <= overlap < seq_len:
            raise ConfigError(f"overlap: {overlap} must be in [0, seq_len - 1]")
        if vocab not in ("char", "byte", *SUBWORD_KINDS):
            raise ConfigError(f"vocab: {vocab!r} is not one of char, byte, "
                              f"{', '.join(SUBWORD_KINDS)}")
        self.subword = vocab in SUBWORD_KINDS
        if self.subword:
            require_tokenizers(f"--vocab {vocab}")
            check_size(vocab, vocab_size)
            if vocab_sample < 1:
                raise ConfigError(f"vocab_sample: {vocab_sample} must be >= 1 byte")
        elif vocab_size is not None:
            raise ConfigError(f"vocab_size: sets the size of a {' or '.join(SUBWORD_KINDS)} "
                              f"vocabulary; --vocab {vocab} " + (
                                  "has 256 ids: drop --vocab-size" if vocab == "byte" else
                                  "keeps every character seen --min-freq times: cap it with "
                                  "--max-vocab instead"))
        if on_decode_error not in ("fail", "replace"):
            raise ConfigError(f"on_decode_error: {on_decode_error!r} is not one of fail, replace")
        if not 0 <= val_fraction < 1:
            raise ConfigError(f"val_fraction: {val_fraction} must be in [0, 1)")
        if min_freq < 1:
            raise ConfigError("min_freq: must be >= 1")
        if max_vocab is not None and vocab != "char":
            raise ConfigError(f"max_vocab: {max_vocab} applies to the char vocabulary only "
                              "(--vocab char); drop --max-vocab")
        if max_vocab is not None and max_vocab < 2:
            raise ConfigError(f"max_vocab: {max_vocab} leaves no room for any character besides "
                              "<unk>; use at least 2, or leave --max-vocab unset")
        self.opts = dict(seq_len=seq_len, vocab=vocab, min_freq=min_freq, max_vocab=max_vocab,
                         overlap=overlap, val_fraction=val_fraction,
                         on_decode_error=on_decode_error)
        if self.subword:
            self.opts.update(vocab_size=vocab_size, vocab_sample=vocab_sample,
                             segment_bytes=sg.segment_bytes(seq_len))
            self.chunkable = False  # a segment is tokenized whole: one task per file
        self.seed = seed
        self.vocab = None

    def _codes(self, uri: str) -> np.ndarray:
        data = read_source(uri)
        if self.opts["vocab"] == "byte":
            return np.frombuffer(data, dtype=np.uint8)
        try:
            text = data.decode("utf-8", errors="strict" if self.opts["on_decode_error"] == "fail"
                               else "replace")
        except UnicodeDecodeError as err:
            raise _bad_utf8(uri, data.count(b"\n", 0, err.start) + 1, err.start) from None
        return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)

    def _split(self, idx: int, rows: np.ndarray) -> np.ndarray:
        split = (unit_fraction(row_hash(self.seed, idx, rows)) < self.opts["val_fraction"])
        return split.astype(np.int8)

    def _rows(self, idx: int, n: int):
        starts, lengths = window_rows(n, self.opts["seq_len"], self.opts["overlap"])
        rows = np.arange(len(starts), dtype=np.int64)
        return starts, lengths, rows, self._split(idx, rows)

    def _block(self, idx, ids, starts, lengths, rows, split):
        """Rows ``starts[i] : starts[i] + lengths[i]`` of ``ids`` as a block."""
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        gather = np.arange(offsets[-1], dtype=np.int64) - np.repeat(offsets[:-1] - starts, lengths)
        return make_block("tokens", "lm", x_values=ids[gather], x_offsets=offsets,
                          lengths=lengths, src_file=idx, src_row=rows, split=split,
                          seed=self.seed)

    def scan(self, idx, uri):
        if self.subword:
            return self._scan_segments(idx, uri)
        codes = self._codes(uri)
        starts, lengths, rows, split = self._rows(idx, len(codes))
        out = {"rows": [int((split == 0).sum()), int((split == 1).sum())],
               "values": [int(lengths[split == 0].sum()), int(lengths[split == 1].sum())]}
        if self.opts["vocab"] == "char":
            cps, counts = np.unique(codes, return_counts=True)
            out["counts"] = [cps.tolist(), counts.tolist()]
        return out

    def finalize(self, scans, sources):
        if self.subword:
            return self._train(scans, sources)
        if self.opts["vocab"] == "byte":
            self.vocab = Vocab("byte")
            return
        counts: dict[int, int] = {}
        for s in scans:
            for cp, c in zip(*s["counts"]):
                counts[cp] = counts.get(cp, 0) + c
        self.vocab = build_char_vocab(counts, self.opts["min_freq"], self.opts["max_vocab"])

    def block(self, idx, uri):
        if self.subword:
            ids, starts, lengths, split = self.token_rows(idx, uri, self.vocab)
            return self._block(idx, ids, starts, lengths, np.arange(len(starts)), split)
        codes = self._codes(uri)
        ids = self.vocab.encode_codes(codes)
        return self._block(idx, ids, *self._rows(idx, len(ids)))

    # -- sub-word and word vocabularies: segments, the tokenizer (see rnn_spark.ingest.segments) --

    def _errors(self) -> str:
        return "strict" if self.opts["on_decode_error"] == "fail" else "replace"

    def _segmented(self, idx: int, uri: str):
        """The file's bytes (checked to be UTF-8 unless --on-decode-error replace), its segment
        bounds and which segments go to validation."""
        data = read_source(uri)
        if self._errors() == "strict":
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as err:
                raise _bad_utf8(uri, data.count(b"\n", 0, err.start) + 1, err.start) from None
        b = sg.bounds(data, self.opts["segment_bytes"])
        return data, b, sg.val_segments(self.seed, idx, len(b) - 1, self.opts["val_fraction"])

    def _scan_segments(self, idx, uri):
        data, b, val = self._segmented(idx, uri)
        nbytes, chars = np.diff(b), sg.char_counts(data, b)
        return {"segments": len(b) - 1, "bytes": [int(nbytes[val == c].sum()) for c in (0, 1)],
                "chars": [int(chars[val == c].sum()) for c in (0, 1)],
                "rows": [0, 0], "values": [0, 0]}  # known after the tokenizer: see _estimate

    def _sample(self, scans, sources, fraction: float, keep: list):
        """The training segments' text the tokenizer learns from (see the module doc of
        segments); the first ``ESTIMATE_BYTES`` of it also go into ``keep``."""
        seg, vf, kept = self.opts["segment_bytes"], self.opts["val_fraction"], 0
        for i, (s, src) in enumerate(zip(scans, sources)):
            k = s["segments"]
            take = sg.sampled(self.seed, i, k, fraction) & \
                (sg.val_segments(self.seed, i, k, vf) == 0)
            if not take.any():
                continue
            if fraction >= 0.25:  # most of the file: read it whole
                data = read_source(src["uri"])
                b = sg.bounds(data, seg)
                pieces = (data[b[j]:b[j + 1]] for j in np.flatnonzero(take))
            else:
                pieces = self._ranges(src["uri"], src["bytes"], len(take), np.flatnonzero(take))
            for raw in pieces:
                text = raw.decode("utf-8", errors=self._errors())
                if kept < ESTIMATE_BYTES:
                    keep.append(text)
                    kept += len(raw)
                yield text

    def _ranges(self, uri: str, size: int, k: int, which):
        """The bytes of segments ``which`` of a ``k``-segment file, by ranged reads."""
        seg = self.opts["segment_bytes"]
        with _open(uri) as f:
            def read(lo, hi):
                return read_range(f, lo, hi)
            for j in which:
                yield read(sg.cut(read, j, seg, size), sg.cut(read, j + 1, seg, size)
                           if j + 1 < k else size)

    def _train(self, scans, sources):
        """Train the tokenizer on (a sample of) the training segments, then estimate each file's
        rows and values per split for the shard plan (which only sizes shards and row groups)."""
        o = self.opts
        train, held = sum(s["bytes"][0] for s in scans), sum(s["bytes"][1] for s in scans)
        if train == 0:
            raise DataError(f"no training text: all {held} bytes went to validation (segments "
                            f"of about {o['segment_bytes']} bytes, 64 rows of --seq-len + 1); "
                            "lower --val-fraction or --seq-len, or ingest more text" if held
                            else f"{sources[0]['uri']}: no text in the input; check the files")
        keep: list[str] = []
        self.vocab = train_vocab(o["vocab"], self._sample(scans, sources, o["vocab_sample"] / train,
                                                          keep), o["vocab_size"], o["min_freq"])
        chars = sum(len(t) for t in keep)
        ratio = sum(len(x) for x in self.vocab.encode_many(keep)) / chars if chars else 1.0
        stride = o["seq_len"] - o["overlap"]
        for s in scans:
            s["values"] = [int(round(c * ratio)) for c in s["chars"]]
            s["rows"] = [-(-v // stride) if v >= 3 else 0 for v in s["values"]]

    def token_rows(self, idx: int, uri: str, vocab, batch: int = 256):
        """A file's token ids as rows: (ids, row starts, row lengths, row split), segment by
        segment (also ``predict --input``'s reading, with the model's vocabulary)."""
        data, b, val = self._segmented(idx, uri)
        ids, starts, lengths, split, off = [], [], [], [], 0
        seq_len, overlap = self.opts["seq_len"], self.opts["overlap"]
        for a in range(0, len(b) - 1, batch):
            js = range(a, min(a + batch, len(b) - 1))
            texts = [data[b[j]:b[j + 1]].decode("utf-8", errors=self._errors()) for j in js]
            for j, x in zip(js, vocab.encode_many(texts)):
                st, ln = window_rows(len(x), seq_len, overlap)
                ids.append(x)
                starts.append(st + off)
                lengths.append(ln)
                split.append(np.full(len(st), val[j], np.int8))
                off += len(x)

        def cat(parts, dtype):
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)
        return (cat(ids, np.int32), cat(starts, np.int64), cat(lengths, np.int64),
                cat(split, np.int8))

    # -- byte-range chunks of one big file (Spark engine; see rnn_spark.ingest.chunks) ----------

    def scan_chunk(self, idx: int, uri: str, size: int, k: int, chunk_bytes: int) -> dict:
        """Chunk ``k``'s byte range, token count, code point counts or first decode error."""
        char = self.opts["vocab"] == "char"
        with _open(uri) as f:
            lo, hi = chunk_range(f, k, chunk_bytes, size, align=char)
            if not char:
                return {"lo": lo, "hi": hi, "n": hi - lo}
            data = read_range(f, lo, hi)
        out = {"lo": lo, "hi": hi}
        strict = self.opts["on_decode_error"] == "fail"
        if strict:
            out["nl"] = data.count(b"\n")
        try:
            text = data.decode("utf-8", errors="strict" if strict else "replace")
        except UnicodeDecodeError as err:
            out.update(err=lo + err.start, err_nl=data.count(b"\n", 0, err.start))
            return out
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        cps, counts = np.unique(codes, return_counts=True)
        out.update(n=len(codes), counts=[cps.tolist(), counts.tolist()])
        return out

    def merge_chunks(self, idx: int, uri: str, size: int, scans: list[dict]):
        """The file's scan (as :meth:`scan` gives it) and the arguments of every chunk block."""
        lines = 1
        for s in scans:
            if "err" in s:
                raise _bad_utf8(uri, lines + s["err_nl"], s["err"])
            lines += s.get("nl", 0)
        t = prefix(s["n"] for s in scans)
        n, seq_len, overlap = t[-1], self.opts["seq_len"], self.opts["overlap"]
        rows, values, count, step = [0, 0], [0, 0], n_rows(n, seq_len, overlap), 1 << 22
        for r0 in range(0, count, step):
            rws, _, lengths = rows_between(r0, min(count, r0 + step), n, seq_len, overlap)
            split = self._split(idx, rws)
            for code in (0, 1):
                rows[code] += int((split == code).sum())
                values[code] += int(lengths[split == code].sum())
        out = {"rows": rows, "values": values}
        if self.opts["vocab"] == "char":
            merged: dict[int, int] = {}
            for s in scans:
                for cp, c in zip(*s["counts"]):
                    merged[cp] = merged.get(cp, 0) + c
            cps = sorted(merged)
            out["counts"] = [cps, [merged[cp] for cp in cps]]
        args = [{"lo": s["lo"], "hi": s["hi"], "t0": t[k], "t1": t[k + 1], "n": n, "size": size}
                for k, s in enumerate(scans)]
        return out, args

    def block_chunk(self, idx: int, uri: str, a: dict):
        """The rows of the file whose start token lies in this chunk (global ``src_row``)."""
        seq_len, overlap = self.opts["seq_len"], self.opts["overlap"]
        r0, r1 = chunk_rows(a["t0"], a["t1"], a["n"], seq_len, overlap)
        if r1 <= r0:
            return empty_block(self.kind, self.task)
        rows, starts, lengths = rows_between(r0, r1, a["n"], seq_len, overlap)
        need = int(starts[-1] + lengths[-1]) - a["t0"]  # tokens from t0 to the last row's end
        with _open(uri) as f:
            if self.opts["vocab"] == "byte":
                codes = np.frombuffer(read_range(f, a["lo"], a["lo"] + need), dtype=np.uint8)
            else:
                extra = need - (a["t1"] - a["t0"])
                end = a["hi"] if extra <= 0 else char_start(
                    f, min(a["size"], a["hi"] + MAX_UTF8_BYTES * extra), a["size"])
                text = read_range(f, a["lo"], end).decode(
                    "utf-8", errors="strict" if self.opts["on_decode_error"] == "fail"
                    else "replace")
                codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)[:need]
        if len(codes) != need:
            raise DataError(f"{uri}: changed during the ingest (chunk at byte {a['lo']} is "
                            "shorter than scanned); re-run the ingest")
        ids = self.vocab.encode_codes(codes)
        return self._block(idx, ids, starts - a["t0"], lengths, rows, self._split(idx, rows))

    def files(self):
        """Beside manifest.json: the tokenizer of a bpe/word vocabulary, for other tools (the
        manifest holds the same JSON, which is what rnn-spark reads)."""
        if not self.subword:
            return {}
        from rnn_spark.data.tokenizer import TOKENIZER_FILE
        return {TOKENIZER_FILE: self.vocab.json.encode("utf-8")}

    def fields(self):
        return {"vocab_size": self.vocab.size, "input_size": None,
                "output_size": self.vocab.size, "vocab": self.vocab.to_dict(), "stats": None,
                "options": self.opts}


def ingest_text(sources, out: str, *, seq_len: int, vocab: str = "char", min_freq: int = 1,
                max_vocab: int | None = None, overlap: int = 0, val_fraction: float = 0.1,
                seed: int = 0, on_decode_error: str = "fail", vocab_size: int | None = None,
                vocab_sample: int = DEFAULT_VOCAB_SAMPLE, **run):
    """Ingest UTF-8 text files/globs into LM shards at ``out``; return the Manifest.

    ``vocab``: char, byte, bpe (byte-level BPE) or word; bpe and word need ``vocab_size`` and the
    ``text`` extra, and train their tokenizer on at most ``vocab_sample`` bytes of the training
    split (see ``rnn_spark.ingest.segments``).

    ``run`` takes the engine options of :func:`rnn_spark.ingest.pipeline.run_ingest`
    (overwrite, engine, master, shard_bytes, row_group_bytes, rows_per_group, chunk_bytes, quiet).
    """
    job = TextJob(seq_len=seq_len, vocab=vocab, min_freq=min_freq, max_vocab=max_vocab,
                  overlap=overlap, val_fraction=val_fraction, seed=seed,
                  on_decode_error=on_decode_error, vocab_size=vocab_size,
                  vocab_sample=vocab_sample)
    return run_ingest(job, sources, out, seed=seed, **run)
