"""Language models on bpe and word vocabularies: the tokenizer travels with the model (model.json of
model/, best/, checkpoints; tokenizer.json in exports), generate decodes back to text, predict
--input tokenizes raw text as the ingest did, evaluate and validation report bits per character,
and a model refuses a dataset with another tokenizer (one line)."""

import json
import math
import sysconfig
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import rnn_spark as rs
from rnn_spark.cli import main
from rnn_spark.data import read_manifest
from rnn_spark.ingest import ingest_text
from rnn_spark.serve.evaluate import evaluate
from rnn_spark.serve.generate import generate

pytest.importorskip("tokenizers", reason="the text extra (tokenizers) is not installed")

SRC = str(Path(sysconfig.get_paths()["stdlib"]) / "json" / "*.py")


def run_cli(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def bpe_run(tmp_path_factory, train_run):
    root = tmp_path_factory.mktemp("bpe")
    ds = str(root / "data")
    ingest_text([SRC], ds, seq_len=24, vocab="bpe", vocab_size=300, rows_per_group=32, seed=3)
    return ds, train_run(ds, root / "run", **{"model.cell": "gru"})


@pytest.fixture(scope="module")
def word_run(tmp_path_factory, train_run):
    root = tmp_path_factory.mktemp("word")
    ds = str(root / "data")
    ingest_text([SRC], ds, seq_len=16, vocab="word", vocab_size=200, rows_per_group=32, seed=3)
    return ds, train_run(ds, root / "run", **{"model.cell": "gru", "train.max_rounds": 2})


def _targets(ds: str, split: str = "val") -> np.ndarray:
    rows = [r for p in sorted((Path(ds) / split).rglob("*.parquet"))
            for r in pq.read_table(p)["x"].to_pylist()]
    return np.concatenate([np.asarray(r[1:]) for r in rows])


def test_the_tokenizer_travels_with_the_model(bpe_run):
    ds, run = bpe_run
    want = read_manifest(ds).vocab_info["tokenizer"]
    dirs = [Path(run) / "model", Path(run) / "best", *sorted((Path(run) / "checkpoints").iterdir())]
    for d in dirs:
        assert json.loads((d / "model.json").read_text())["vocab"]["tokenizer"] == want
        tm = rs.load_model(str(d))
        assert tm.vocab.kind == "bpe" and tm.vocab.size == tm.config.vocab_size == 300


def test_evaluate_and_validation_report_bits_per_char(bpe_run):
    ds, run = bpe_run
    tm = rs.load_model(run)
    ev = evaluate(tm, ds)
    t = _targets(ds)
    chars = tm.vocab.char_lengths()[t].sum()
    assert ev.metrics["targets"] == len(t) and chars > len(t)  # a token is > 1 character
    assert ev.metrics["bits_per_char"] == pytest.approx(
        ev.metrics["loss"] * len(t) / chars / math.log(2), rel=1e-12)
    vals = [json.loads(x) for x in (Path(run) / "metrics.jsonl").read_text().splitlines()
            if '"val"' in x]
    assert vals and all(v["bits_per_char"] == pytest.approx(
        v["loss"] * v["count"] / chars / math.log(2), rel=1e-9) for v in vals)


def test_generate_decodes_to_text(bpe_run, capsys):
    _, run = bpe_run
    tm = rs.load_model(run)
    g = generate(tm, prime="def decode(", length=30, seed=4)
    assert g.samples[0].startswith("def decode(") and g.unknown_prime == 0
    assert g.samples[0] == tm.vocab.decode(g.ids[0])
    code, out, _ = run_cli(capsys, "generate", "--model", run, "--prime", "def decode(",
                           "--length", "30", "--seed", "4", "--json")
    assert code == 0 and json.loads(out)["samples"] == g.samples


def test_predict_input_tokenizes_like_the_ingest(bpe_run, tmp_path, capsys):
    ds, run = bpe_run
    m = read_manifest(ds)
    code, out, err = run_cli(capsys, "predict", "--model", run, "--input", SRC,
                             "--out", str(tmp_path / "p"), "--runner", "inline")
    assert code == 0, err
    res = json.loads(out)
    assert res["rows"] == m.counts("train")["sequences"] + m.counts("val")["sequences"]
    assert res["unknown_tokens"] == 0
    got = pq.read_table(tmp_path / "p", columns=["src_file", "src_row", "length"]).to_pylist()
    want = [r for split in ("train", "val") for p in sorted((Path(ds) / split).rglob("*.parquet"))
            for r in pq.read_table(p, columns=["src_file", "src_row", "length"]).to_pylist()]
    key = (lambda r: (r["src_file"], r["src_row"]))
    assert sorted(got, key=key) == sorted(want, key=key)


def test_export_carries_the_tokenizer(bpe_run, tmp_path):
    pytest.importorskip("torch", reason="the pytorch export needs torch")
    ds, run = bpe_run
    code = main(["export", "--model", run, "--out", str(tmp_path / "e"), "--format", "pytorch"])
    assert code == 0
    tok = (tmp_path / "e" / "tokenizer.json").read_text(encoding="utf-8")
    assert tok == read_manifest(ds).vocab_info["tokenizer"]
    meta = json.loads((tmp_path / "e" / "model.json").read_text())
    assert "tokenizer.json" in meta["interface"]["inputs"][0]["units"]
    from tokenizers import Tokenizer
    assert Tokenizer.from_file(str(tmp_path / "e" / "tokenizer.json")).encode("x = 1").ids == \
        rs.load_model(run).vocab.encode("x = 1").tolist()


def test_another_tokenizer_is_refused_in_one_line(bpe_run, tmp_path, capsys):
    ds, run = bpe_run
    other = str(tmp_path / "other")  # the same size, another split: other training text
    ingest_text([SRC], other, seq_len=24, vocab="bpe", vocab_size=300, seed=11)
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", other)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "vocabulary differs" in err and other in err
    char = str(tmp_path / "char")
    ingest_text([SRC], char, seq_len=24, max_vocab=300, seed=3)
    code, out, err = run_cli(capsys, "evaluate", "--model", run, "--data", char)
    assert code == 2 and err.count("\n") == 1 and "vocabulary" in err


def test_word_model_counts_unknown_words(word_run, tmp_path, capsys):
    ds, run = word_run
    tm = rs.load_model(run)
    assert tm.vocab.kind == "word" and tm.vocab.unk_id == 0
    code, out, err = run_cli(capsys, "generate", "--model", run, "--prime",
                             "def zzyzx(qqq):", "--length", "5")
    assert code == 0 and "2 prime word(s) are not in the model's vocabulary" in err
    src = tmp_path / "new.txt"
    text = "import json\nzzyzx = json.loads(qqq)\n" * 20
    src.write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, "predict", "--model", run, "--input", str(src), "--out",
                             str(tmp_path / "p"), "--runner", "inline")
    unknown = int((tm.vocab.encode(text) == 0).sum())
    assert unknown >= 40 and "zzyzx" not in tm.vocab.tokens
    assert code == 0 and json.loads(out)["unknown_tokens"] == unknown
    assert f"{unknown} input word(s)" in err
    ev = evaluate(tm, ds)
    assert ev.metrics["bits_per_char"] < ev.metrics["bits_per_token"]


def test_byte_model_bits_per_char_count_characters_not_bytes(tmp_path, train_run):
    src = tmp_path / "mixed.txt"
    src.write_text("".join(f"ligne {i}: café, naïve, 中文 {i * 7}\n" for i in range(300)),
                   encoding="utf-8")
    ds = str(tmp_path / "data")
    ingest_text([str(src)], ds, seq_len=24, vocab="byte", rows_per_group=32, seed=3)
    tm = rs.load_model(train_run(ds, tmp_path / "run", **{"train.max_rounds": 2}))
    ev = evaluate(tm, ds)
    t = _targets(ds)
    chars = int(((t & 0xC0) != 0x80).sum())  # the bytes that start a UTF-8 character
    assert chars < 0.95 * len(t)
    assert ev.metrics["bits_per_char"] == pytest.approx(
        ev.metrics["loss"] * len(t) / chars / math.log(2), rel=1e-12)


def test_a_bpe_model_without_the_extra(bpe_run):
    """Loading and evaluating need no tokenizer (ids and their characters are in model.json);
    turning text into ids does: one line naming the extra."""
    import os
    import subprocess
    import sys
    ds, run = bpe_run
    code = ("import sys; sys.modules['tokenizers'] = None\n"
            "from rnn_spark.cli import main; sys.exit(main(sys.argv[1:]))")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run([sys.executable, "-c", code, "evaluate", "--model", run, "--data", ds,
                        "--json"], env=env, capture_output=True, text=True)
    assert r.returncode == 0 and "bits_per_char" in json.loads(r.stdout), r.stderr
    r = subprocess.run([sys.executable, "-c", code, "generate", "--model", run, "--prime", "x"],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == "" and r.stderr == (
        "error: a bpe vocabulary needs the Hugging Face tokenizers package: pip install "
        "'rnn-spark[text]' (the text extra)\n")
