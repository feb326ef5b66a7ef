"""`ingest text --vocab bpe|word`: the tokenizer is trained on the training segments only, the same
bytes every run (two processes), saved with the dataset; windows over each segment's tokens; the
bad inputs of the new options (one line, exit 2, nothing created)."""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from rnn_spark.cli import main
from rnn_spark.data import read_manifest
from rnn_spark.data.tokenizer import TOKENIZER_FILE, TokenizerVocab
from rnn_spark.ingest import ingest_text
from rnn_spark.ingest import segments as sg
from shard_snapshot import snapshot

pytest.importorskip("tokenizers", reason="the text extra (tokenizers) is not installed")

STDLIB = Path(sysconfig.get_paths()["stdlib"])
ROOT = Path(__file__).resolve().parents[2]


def _rows(root) -> list[list[int]]:
    out = []
    for split in ("train", "val"):
        for p in sorted((Path(root) / split).rglob("*.parquet")):
            out += pq.read_table(p)["x"].to_pylist()
    return out


def test_bpe_dataset_holds_its_tokenizer_and_round_trips(tmp_path):
    src = str(STDLIB / "json" / "*.py")
    m = ingest_text([src], str(tmp_path / "d"), seq_len=24, vocab="bpe", vocab_size=300, seed=2)
    assert m.vocab_info["type"] == "bpe" and m.vocab_size == 300 == m.output_size
    saved = (tmp_path / "d" / TOKENIZER_FILE).read_text(encoding="utf-8")
    assert saved == m.vocab_info["tokenizer"]  # the file beside is the manifest's tokenizer
    vocab = m.tokenizer()
    assert isinstance(vocab, TokenizerVocab) and vocab.size == 300
    text = (STDLIB / "json" / "decoder.py").read_text(encoding="utf-8")
    ids = vocab.encode(text)
    assert vocab.decode(ids) == text  # byte-level: every text comes back exactly
    assert vocab.char_lengths()[ids].sum() == len(text)  # ids add up to the characters
    rows = _rows(tmp_path / "d")
    assert rows and all(3 <= len(r) <= 25 for r in rows)
    assert max(max(r) for r in rows) < 300
    assert m.counts("train")["sequences"] > 0 and m.counts("val")["sequences"] > 0


def _lines_corpus(path: Path, n: int) -> Path:
    path.write_text("".join(f"w{j}a w{j}b w{j}c\n" for j in range(n)), encoding="utf-8")
    return path


def test_word_vocabulary_is_the_training_segments_words_only(tmp_path):
    src = _lines_corpus(tmp_path / "lines.txt", 400)
    seed, seq_len = 5, 8
    m = ingest_text([str(src)], str(tmp_path / "d"), seq_len=seq_len, vocab="word",
                    vocab_size=10_000, seed=seed, val_fraction=0.3)
    data = src.read_bytes()
    b = sg.bounds(data, sg.segment_bytes(seq_len))
    val = sg.val_segments(seed, 0, len(b) - 1, 0.3)
    assert 0 < val.sum() < len(val)
    words = {w for j in range(len(val)) if not val[j]
             for w in data[b[j]:b[j + 1]].decode().split()}
    held_out = {w for j in range(len(val)) if val[j]
                for w in data[b[j]:b[j + 1]].decode().split()}
    vocab = set(m.tokenizer().tokens)
    assert words <= vocab and not (held_out & vocab)
    assert vocab - words == {"<unk>", " ", "\n"}
    # each validation row's tokens come from validation segments: their words are all <unk>
    val_rows = [r for p in sorted((tmp_path / "d" / "val").rglob("*.parquet"))
                for r in pq.read_table(p)["x"].to_pylist()]
    unk, space, nl = 0, m.tokenizer().tokens.index(" "), m.tokenizer().tokens.index("\n")
    assert val_rows and all(set(r) <= {unk, space, nl} for r in val_rows)


@pytest.mark.parametrize("kind,size,sample", [("bpe", 320, "64MiB"), ("word", 50, "64MiB"),
                                               ("bpe", 320, "2KiB")])
def test_same_bytes_in_two_processes(tmp_path, kind, size, sample):
    """The tokenizer (and so every shard) is a function of the text: trained in two processes
    (two hash seeds in the Rust library too) it is the same JSON, byte for byte; a sample cap
    small enough for ranged reads (2KiB of ~40 KB) too."""
    src = str(STDLIB / "json" / "*.py")
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        r = subprocess.run([sys.executable, "-c", "import sys; from rnn_spark.cli import main; "
                            "sys.exit(main(sys.argv[1:]))", "ingest", "text", src, "--out",
                            str(out), "--seq-len", "16", "--vocab", kind, "--vocab-size",
                            str(size), "--vocab-sample", sample, "-q"],
                           env={**os.environ, "PYTHONPATH": str(ROOT),
                                "PYTHONHASHSEED": str(k + 1)},
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        outs.append(snapshot(out))
    assert outs[0] == outs[1] and len(outs[0]) >= 4


def test_sample_cap_trains_on_fewer_segments(tmp_path):
    src = str(STDLIB / "json" / "*.py")
    full = ingest_text([src], str(tmp_path / "a"), seq_len=16, vocab="word", vocab_size=5000)
    part = ingest_text([src], str(tmp_path / "b"), seq_len=16, vocab="word", vocab_size=5000,
                       vocab_sample=4096)
    assert part.vocab_size < full.vocab_size
    assert set(part.tokenizer().tokens) < set(full.tokenizer().tokens)
    assert part.data["options"]["vocab_sample"] == 4096


def test_segments_are_cut_at_line_starts():
    data = ("a" * 30 + "\n" + "b" * 50 + "\n" + "é" * 40).encode()
    b = sg.bounds(data, 25)
    assert b[0] == 0 and b[-1] == len(data) and list(b) == sorted(b)
    for k, cut in enumerate(b[1:-1], start=1):
        assert cut >= 25 * k
        assert data[cut - 1:cut] == b"\n" or data[cut] & 0xC0 != 0x80
    assert sg.cut(lambda lo, hi: data[lo:hi], 1, 25, len(data)) == 31  # the line start after 25


def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args,msg", [
    (["--vocab", "bpe", "--vocab-size", "100"],
     "error: vocab_size: 100 is too small for the bpe tokenizer; use at least 257 (the 256 byte "
     "tokens and one merge (for bytes alone use --vocab byte))"),
    (["--vocab", "word", "--vocab-size", "1"],
     "error: vocab_size: 1 is too small for the word tokenizer; use at least 2 (<unk> and one "
     "word)"),
    (["--vocab", "bpe"], "error: vocab_size: --vocab bpe needs --vocab-size N (tokens, at least "
                         "257: the 256 byte tokens and one merge (for bytes alone use --vocab "
                         "byte))"),
    (["--vocab-size", "500"], "error: vocab_size: sets the size of a bpe or word vocabulary; "
                              "--vocab char keeps every character seen --min-freq times: cap it "
                              "with --max-vocab instead"),
    (["--vocab", "byte", "--vocab-size", "500"],
     "error: vocab_size: sets the size of a bpe or word vocabulary; --vocab byte has 256 ids: "
     "drop --vocab-size"),
    (["--vocab", "word", "--vocab-size", "50", "--max-vocab", "10"],
     "error: max_vocab: 10 applies to the char vocabulary only (--vocab char); drop --max-vocab"),
    (["--vocab", "bpe", "--vocab-size", "300", "--val-fraction", "0.99"],
     "error: no training text: all"),
])
def test_bad_inputs_one_line(capsys, text_files, tmp_path, args, msg):
    out = tmp_path / "o"
    code, so, se = _cli(capsys, "ingest", "text", str(text_files[0]), "--out", str(out),
                        "--seq-len", "8", "-q", *args)
    assert code == 2 and se.startswith(msg) and se.count("\n") == 1, se
    assert not out.exists() and so == ""


def test_without_the_extra_one_line_names_it(text_files, tmp_path):
    out = tmp_path / "o"
    code = ("import sys; sys.modules['tokenizers'] = None\n"
            "from rnn_spark.cli import main; sys.exit(main(sys.argv[1:]))")
    r = subprocess.run([sys.executable, "-c", code, "ingest", "text", str(text_files[0]),
                        "--out", str(out), "--seq-len", "8", "--vocab", "bpe", "--vocab-size",
                        "300"], env={**os.environ, "PYTHONPATH": str(ROOT)},
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("error: --vocab bpe needs the Hugging Face tokenizers package: pip "
                        "install 'rnn-spark[text]' (the text extra)\n")
    assert not out.exists() and os.listdir(tmp_path) == [text_files[0].parent.name]


def test_manifest_records_options_and_summary(capsys, tmp_path):
    src = str(STDLIB / "json" / "*.py")
    code, so, se = _cli(capsys, "ingest", "text", src, "--out", str(tmp_path / "d"), "--seq-len",
                        "16", "--vocab", "bpe", "--vocab-size", "300", "--min-freq", "3", "-q")
    assert code == 0, se
    assert json.loads(so)["vocab_size"] == 300
    m = read_manifest(str(tmp_path / "d"))
    assert m.data["options"]["segment_bytes"] == 64 * 17 and m.vocab_info["min_freq"] == 3
    assert np.all(m.tokenizer().char_lengths()[:256] <= 1)
