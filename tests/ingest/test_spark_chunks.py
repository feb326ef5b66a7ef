"""Big text files are scanned and blocked in byte-range chunks by the Spark engine (local[2]); the
output stays byte-identical to the local engine's (rows, src_file/src_row, shards, manifest)."""

import io
import os
import random

import pytest

from rnn_spark.ingest import ingest_text
from rnn_spark.ingest.chunks import chunk_range, chunk_rows, n_rows
from rnn_spark.ingest.sources import resolve_sources
from rnn_spark.ingest.spark import scan_items
from rnn_spark.ingest.text import TextJob, window_rows
from rnn_spark.errors import DataError
from shard_snapshot import snapshot

CHUNK = 1024
WORDS = ["alpha", "beta", "gamma", "délta", "εψιλον", "zeta", "ηλιος", "x"]


def _words(n, seed):
    rnd = random.Random(seed)
    return " ".join(rnd.choice(WORDS) + ("\n" if rnd.random() < 0.1 else "") for _ in range(n))


def _exact(size, seed):
    """UTF-8 text of exactly ``size`` bytes (multi-byte characters inside)."""
    data = _words(size // 3, seed).encode()[:size - 8]
    data = data.decode("utf-8", errors="ignore").encode()
    return data + b"z" * (size - len(data))


@pytest.fixture()
def files(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    big = _words(900, 1).encode()
    split_char = b"a" * (CHUNK - 1) + "é".encode() + _words(400, 2).encode()  # é cut at 1024
    assert split_char[CHUNK] & 0xC0 == 0x80
    contents = {"a_big.txt": big, "b_split.txt": split_char,
                "c_two_chunks.txt": _exact(2 * CHUNK, 3), "d_one_chunk.txt": _exact(CHUNK, 4),
                "e_small.txt": _words(60, 5).encode(), "f_plus_one.txt": _exact(CHUNK + 1, 6)}
    for name, data in contents.items():
        (d / name).write_bytes(data)
    return [str(d / n) for n in sorted(contents)]


def _same(tmp_path, srcs, **kw):
    kw = dict(dict(rows_per_group=8, shard_bytes=4000, seed=3, val_fraction=0.2), **kw)
    ingest_text(srcs, str(tmp_path / "local"), engine="local", **kw)
    ingest_text(srcs, str(tmp_path / "spark"), engine="spark", chunk_bytes=CHUNK, **kw)
    a, b = snapshot(tmp_path / "local"), snapshot(tmp_path / "spark")
    assert len(a) > 3 and a == b


def test_row_arithmetic_matches_window_rows():
    for seq_len in (2, 3, 5, 9):
        for overlap in range(seq_len):
            for n in range(0, 60):
                starts, _ = window_rows(n, seq_len, overlap)
                assert n_rows(n, seq_len, overlap) == len(starts)
                cuts = sorted({0, n, *random.Random(n).sample(range(n + 1), min(n + 1, 4))})
                got = []
                for t0, t1 in zip(cuts, cuts[1:]):
                    r0, r1 = chunk_rows(t0, t1, n, seq_len, overlap)
                    assert all(t0 <= s < t1 for s in starts[r0:r1])
                    got += list(range(r0, r1))
                assert got == list(range(len(starts)))


def test_chunk_ranges_start_on_characters():
    data = ("aé€😀" * 50).encode()
    f = io.BytesIO(data)
    cuts = [chunk_range(f, k, 7, len(data), align=True) for k in range(-(-len(data) // 7))]
    assert cuts[0][0] == 0 and cuts[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(cuts, cuts[1:]))
    assert b"".join(data[lo:hi] for lo, hi in cuts) == data
    for lo, hi in cuts:
        data[lo:hi].decode("utf-8")  # every chunk decodes on its own


def test_big_files_are_chunked(files):
    srcs = resolve_sources(files)
    items = scan_items(TextJob(seq_len=8), srcs, CHUNK)
    per_file = [sum(1 for t in items if t[0] == i) for i in range(len(srcs))]
    assert per_file == [-(-s["bytes"] // CHUNK) for s in srcs]
    assert per_file[2:] == [2, 1, 1, 2] and per_file[0] > 3
    assert [t[3] for t in items if t[0] == 3] == [-1]  # one chunk: the whole-file path


@pytest.mark.spark
@pytest.mark.parametrize("kw", [
    dict(seq_len=12),
    dict(seq_len=16, overlap=5),
    dict(seq_len=300, overlap=7),  # rows run over several chunks
    dict(seq_len=10, overlap=3, vocab="byte"),
    dict(seq_len=2000, overlap=999, vocab="byte", shard_bytes=1500, rows_per_group=1),
    dict(seq_len=40, max_vocab=12, min_freq=2),
])
def test_chunked_spark_is_byte_identical(spark, files, tmp_path, kw):
    _same(tmp_path, files, **kw)


@pytest.mark.spark
def test_replace_mode_with_bad_bytes_at_chunk_cuts(spark, tmp_path):
    p = tmp_path / "bad.txt"
    good = _words(700, 7).encode()
    data = (good[:CHUNK - 2] + b"\x80\x80\x80\x80\x80" + good[:CHUNK - 3] + b"\xe2\x82"
            + good[:CHUNK - 1] + b"\xf0\x9f" + b"\xff" + good)
    p.write_bytes(data)
    _same(tmp_path, [str(p)], seq_len=9, overlap=2, on_decode_error="replace")


@pytest.mark.spark
def test_decode_error_names_the_global_line_and_byte(spark, tmp_path):
    good = _words(900, 8).encode()
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_bytes(good + b"\xfe" + good)
    b.write_bytes(b"\xff" + good)
    errors = []
    for engine in ("local", "spark"):
        with pytest.raises(DataError) as ei:
            ingest_text([str(b), str(a)], str(tmp_path / engine), seq_len=8, engine=engine,
                        chunk_bytes=CHUNK)
        errors.append(str(ei.value))
        assert not (tmp_path / engine).exists()
    line = good.count(b"\n") + 1
    assert errors[0] == errors[1] == (
        f"{a}: line {line} (byte {len(good)}): not valid UTF-8; pass --on-decode-error replace "
        "to substitute U+FFFD, or use --vocab byte")


@pytest.mark.spark
def test_cli_chunk_bytes_reaches_the_spark_engine(tmp_path, spark):
    from rnn_spark.cli import main

    src = tmp_path / "big.txt"
    src.write_text(_words(3000, 7), encoding="utf-8")
    assert os.path.getsize(src) > 4 * CHUNK
    common = ["ingest", "text", str(src), "--seq-len", "40", "--quiet"]
    assert main(common + ["--out", str(tmp_path / "local"), "--engine", "local"]) == 0
    assert main(common + ["--out", str(tmp_path / "spark"), "--engine", "spark",
                          "--master", "local[2]", "--chunk-bytes", str(CHUNK)]) == 0
    for name in ("manifest.json", "train/000/part-00000.parquet"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "spark" / name).read_bytes()
    assert main(common + ["--out", str(tmp_path / "x"), "--chunk-bytes", "0"]) == 2
