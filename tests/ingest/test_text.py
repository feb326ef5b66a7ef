"""Text ingest: round trip, vocabularies, overlap, split, determinism, bad input."""

import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from rnn_spark.data import Vocab, read_manifest
from rnn_spark.ingest import ingest_text
from rnn_spark.errors import ConfigError, DataError


def _rows_by_file(m):
    """{src_file: [(src_row, ids)]} over all splits."""
    out = {}
    for split in m.splits:
        for sh in m.shards(split):
            t = pq.read_table(os.path.join(m.root, sh["path"]))
            for f, r, x, n in zip(t["src_file"].to_pylist(), t["src_row"].to_pylist(),
                                  t["x"].to_pylist(), t["length"].to_pylist()):
                assert len(x) == n
                out.setdefault(f, []).append((r, x))
    return {f: [x for _, x in sorted(v)] for f, v in out.items()}


def _snapshot(root):
    out = {}
    for dp, _, files in os.walk(root):
        for name in files:
            p = os.path.join(dp, name)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


@pytest.mark.parametrize("vocab", ["char", "byte"])
def test_round_trip_reconstructs_every_file(text_files, tmp_path, vocab):
    m = ingest_text([str(p) for p in text_files], str(tmp_path / "out"), seq_len=16,
                    vocab=vocab, rows_per_group=20, shard_bytes=4000, val_fraction=0.2)
    v = Vocab.from_dict(m.vocab_info)
    rows = _rows_by_file(m)
    assert sorted(rows) == [0, 1, 2]
    for i, p in enumerate(text_files):
        ids = v.encode(p.read_text(encoding="utf-8"))
        got = np.concatenate([np.asarray(x[:16]) for x in rows[i][:-1]] + [rows[i][-1]])
        np.testing.assert_array_equal(got, ids)
        assert v.decode(got) == p.read_text(encoding="utf-8")
    assert m.task == "lm" and m.vocab_size == v.size == m.output_size
    total = sum(m.counts(s)["sequences"] for s in m.splits)
    assert 0.1 < m.counts("val")["sequences"] / total < 0.3
    assert m.counts("train")["tokens"] == sum(u.tokens for u in m.work_units("train"))
    assert len(m.shards("train")) > 1 and all(len(s["row_groups"]) >= 1 for s in m.shards("train"))
    assert all(u.rows <= 20 for u in m.work_units("train"))


def test_char_vocab_min_freq_and_unk(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("aaaabbbc" * 10 + "Z", encoding="utf-8")
    m = ingest_text([str(src)], str(tmp_path / "o"), seq_len=8, min_freq=2, val_fraction=0)
    assert m.vocab == ["<unk>", "a", "b", "c"]
    v = Vocab.from_dict(m.vocab_info)
    assert v.encode("abcZ").tolist() == [1, 2, 3, 0]


def test_overlap_rows(tmp_path):
    src = tmp_path / "a.txt"
    src.write_bytes(bytes(range(40)))
    m = ingest_text([str(src)], str(tmp_path / "o"), seq_len=10, overlap=4, vocab="byte",
                    val_fraction=0)
    rows = _rows_by_file(m)[0]
    assert rows[0] == list(range(11)) and rows[1] == list(range(6, 17))
    assert rows[-1][-1] == 39 and all(len(r) >= 3 for r in rows)


def test_deterministic_and_seed_dependent(text_files, tmp_path):
    srcs = [str(p) for p in text_files]
    kw = dict(seq_len=12, rows_per_group=16, shard_bytes=3000)
    ingest_text(srcs, str(tmp_path / "a"), seed=5, **kw)
    ingest_text(list(reversed(srcs)), str(tmp_path / "b"), seed=5, **kw)  # order-insensitive
    ingest_text(srcs, str(tmp_path / "c"), seed=6, **kw)
    a, b, c = (_snapshot(tmp_path / x) for x in "abc")
    assert a == b
    assert a != c


def test_glob_and_directory_sources(text_files, tmp_path):
    d = text_files[0].parent
    m1 = ingest_text([str(d / "*.txt")], str(tmp_path / "g"), seq_len=8)
    m2 = ingest_text([str(d)], str(tmp_path / "d"), seq_len=8)
    assert m1.data["sources"] == m2.data["sources"] and len(m1.data["sources"]) == 3


def test_missing_source(tmp_path):
    with pytest.raises(DataError, match=r"nope\.txt: input not found"):
        ingest_text([str(tmp_path / "nope.txt")], str(tmp_path / "o"), seq_len=8)
    with pytest.raises(DataError, match="no file matches"):
        ingest_text([str(tmp_path / "*.none")], str(tmp_path / "o"), seq_len=8)
    assert not (tmp_path / "o").exists()


def test_non_utf8_fail_or_replace(tmp_path):
    src = tmp_path / "bad.txt"
    src.write_bytes(b"hello\nwor\xffld and more text here")
    with pytest.raises(DataError) as ei:
        ingest_text([str(src)], str(tmp_path / "o"), seq_len=4)
    assert str(ei.value).startswith(f"{src}: line 2 (byte 9): not valid UTF-8")
    assert not (tmp_path / "o").exists() and os.listdir(tmp_path) == ["bad.txt"]
    m = ingest_text([str(src)], str(tmp_path / "o"), seq_len=4, on_decode_error="replace")
    assert "\ufffd" in m.vocab


def test_empty_inputs(tmp_path):
    (tmp_path / "e.txt").write_text("")
    (tmp_path / "f.txt").write_text("ab")
    with pytest.raises(DataError, match="no sequence of at least 2 steps"):
        ingest_text([str(tmp_path / "e.txt"), str(tmp_path / "f.txt")], str(tmp_path / "o"),
                    seq_len=8)
    assert not (tmp_path / "o").exists()


def test_output_exists_refused_unless_overwrite(text_files, tmp_path):
    out = str(tmp_path / "o")
    ingest_text([str(text_files[0])], out, seq_len=8)
    with pytest.raises(DataError, match="already exists; pass --overwrite"):
        ingest_text([str(text_files[0])], out, seq_len=8)
    m = ingest_text([str(text_files[1])], out, seq_len=8, overwrite=True)
    assert m.data["sources"][0]["uri"] == str(text_files[1])
    assert sorted(os.listdir(tmp_path)) == ["o", "txt"]  # no staging leftovers


def test_bad_options(tmp_path, text_files):
    with pytest.raises(ConfigError, match="seq_len"):
        ingest_text([str(text_files[0])], str(tmp_path / "o"), seq_len=1)
    with pytest.raises(ConfigError, match="overlap"):
        ingest_text([str(text_files[0])], str(tmp_path / "o"), seq_len=4, overlap=4)
    with pytest.raises(ConfigError, match="val_fraction"):
        ingest_text([str(text_files[0])], str(tmp_path / "o"), seq_len=4, val_fraction=1.0)


def test_all_rows_to_validation_is_an_error(tmp_path):
    src = tmp_path / "a.txt"
    src.write_text("abcdef")
    with pytest.raises(DataError, match="lower --val-fraction"):
        ingest_text([str(src)], str(tmp_path / "o"), seq_len=8, val_fraction=0.999999)


def test_read_back_manifest(text_files, tmp_path):
    m = ingest_text([str(text_files[0])], str(tmp_path / "o"), seq_len=8)
    m2 = read_manifest(str(tmp_path / "o" / "manifest.json"))
    assert m2.work_units("train") == m.work_units("train")
    assert m2.model_fields() == {"vocab_size": m.vocab_size, "input_size": None,
                                 "output_size": m.vocab_size, "task": "lm", "head_at": "every"}
