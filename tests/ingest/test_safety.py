"""`rnn-spark ingest`: nothing lost (the --overwrite rule), wrong inputs refused in one line,
messages in the user's words, damaged shards found by `ingest verify` (issue #8)."""

import json
import os

import pytest

from rnn_spark.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _tree(root):
    out = {}
    for d, _, names in os.walk(root):
        for n in names:
            p = os.path.join(d, n)
            out[os.path.relpath(p, root)] = open(p, "rb").read()
    return out


def _refused(capsys, tmp_path, *argv, match):
    before = _tree(tmp_path)
    code, so, se = _run(capsys, *argv)
    assert code == 2, se
    err = [line for line in se.splitlines() if not line.startswith("ingest [")]  # progress
    assert len(err) == 1 and "Traceback" not in se and so == "", se
    assert match in err[0], se
    assert _tree(tmp_path) == before  # nothing created, nothing deleted
    return err[0] + "\n"


@pytest.fixture()
def corpus(tmp_path):
    d = tmp_path / "corpus"
    d.mkdir()
    for k in range(3):
        (d / f"m{k}.py").write_text("def f(x):\n    return x * 2  # héllo\n" * (30 + k))
    return d


# -- #8.1 --overwrite -------------------------------------------------------------------------

def test_out_equal_to_the_glob_directory_refused(capsys, tmp_path, corpus):
    se = _refused(capsys, tmp_path, "ingest", "text", str(corpus / "*.py"), "--out", str(corpus),
                  "--seq-len", "8", "--overwrite", match="--out contains the input")
    assert se.startswith(f"error: {corpus}: ")


def test_out_equal_to_an_input_file_refused(capsys, tmp_path, corpus):
    src = str(corpus / "m0.py")
    _refused(capsys, tmp_path, "ingest", "text", src, "--out", src, "--seq-len", "8",
             "--overwrite", match="--out is the input")


def test_out_inside_an_input_directory_refused(capsys, tmp_path, corpus):
    _refused(capsys, tmp_path, "ingest", "text", str(corpus), "--out", str(corpus / "ds"),
             "--seq-len", "8", match="--out lies inside the input")


def test_out_with_user_files_and_overwrite_refused(capsys, tmp_path, corpus):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    _refused(capsys, tmp_path, "ingest", "text", str(corpus), "--out", str(mine),
             "--seq-len", "8", "--overwrite",
             match="holds files that are not a dataset rnn-spark made")


def test_out_a_file_refused(capsys, tmp_path, corpus):
    (tmp_path / "notes.txt").write_text("x")
    _refused(capsys, tmp_path, "ingest", "text", str(corpus), "--out", str(tmp_path / "notes.txt"),
             "--seq-len", "8", "--overwrite", match="is a file, not a dataset")


def test_out_working_directory_refused(capsys, tmp_path, corpus, monkeypatch):
    monkeypatch.chdir(tmp_path / "corpus")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "keep.txt").write_text("x")
    se = _refused(capsys, tmp_path, "ingest", "text", str(corpus), "--out", ".", "--seq-len", "8",
                  "--overwrite", match="--out is a filesystem root or the working directory")
    assert "not a root" not in se


def test_old_dataset_replaced_with_overwrite(capsys, tmp_path, corpus):
    out = str(tmp_path / "ds")
    assert _run(capsys, "ingest", "text", str(corpus / "m0.py"), "--out", out, "--seq-len", "8",
                "-q")[0] == 0
    code, so, se = _run(capsys, "ingest", "text", str(corpus / "*.py"), "--out", out,
                        "--seq-len", "8", "-q", "--overwrite")
    assert code == 0, se
    m = json.load(open(os.path.join(out, "manifest.json")))
    assert len(m["sources"]) == 3
    assert sorted(os.listdir(tmp_path)) == ["corpus", "ds"]  # no staging leftovers


def test_empty_directory_is_a_fine_output(capsys, tmp_path, corpus):
    (tmp_path / "empty").mkdir()
    code, so, se = _run(capsys, "ingest", "text", str(corpus), "--out", str(tmp_path / "empty"),
                        "--seq-len", "8", "-q")
    assert code == 0, se
    assert os.path.exists(tmp_path / "empty" / "manifest.json")


# -- #8.8 / #8.9 options and messages ---------------------------------------------------------

@pytest.mark.parametrize("n", ["0", "1"])
def test_max_vocab_too_small_refused(capsys, tmp_path, corpus, n):
    _refused(capsys, tmp_path, "ingest", "text", str(corpus), "--out", str(tmp_path / "o"),
             "--seq-len", "8", "--max-vocab", n, match=f"max_vocab: {n} leaves no room")


def test_max_vocab_with_byte_vocab_refused(capsys, tmp_path, corpus):
    _refused(capsys, tmp_path, "ingest", "text", str(corpus), "--out", str(tmp_path / "o"),
             "--seq-len", "8", "--vocab", "byte", "--max-vocab", "10",
             match="applies to the char vocabulary only")


def test_series_unknown_extension_suggests_only_what_it_reads(capsys, tmp_path):
    (tmp_path / "prices.dat").write_text("a,b\n1,2\n")
    se = _refused(capsys, tmp_path, "ingest", "series", str(tmp_path / "prices.dat"), "--out",
                  str(tmp_path / "o"), "--window", "2", match="pass --format csv|parquet")
    assert "jsonl" not in se


def test_nan_is_reported_as_nan_not_missing(capsys, tmp_path):
    rows = "".join(f"{t},{t * 0.5}\n" for t in range(20))
    (tmp_path / "s.csv").write_text("a,b\n" + rows + "NaN,1\n")
    se = _refused(capsys, tmp_path, "ingest", "series", str(tmp_path / "s.csv"), "--out",
                  str(tmp_path / "o"), "--window", "2", match="line 22: field 'a' is nan (NaN/Inf)")
    assert "missing" not in se
    (tmp_path / "t.csv").write_text("a,b\n" + rows + ",1\n")
    _refused(capsys, tmp_path, "ingest", "series", str(tmp_path / "t.csv"), "--out",
             str(tmp_path / "o"), "--window", "2", match="field 'a' is missing")


def test_binary_bytes_in_csv_error_are_escaped(capsys, tmp_path):
    (tmp_path / "b.csv").write_bytes(b"a,b\n1,2\n3,\x00\x01\x1b[31m\xff\xfe,5,6\n" + bytes(range(256)))
    se = _refused(capsys, tmp_path, "ingest", "series", str(tmp_path / "b.csv"), "--out",
                  str(tmp_path / "o"), "--window", "2", match="cannot parse CSV")
    assert all(c.isprintable() for c in se.rstrip("\n"))
    assert "\\x00" in se or "\\x1b" in se
    assert len(se) < 500


# -- ingest verify finds damaged shards ---------------------------------------------------------

@pytest.fixture()
def dataset(capsys, tmp_path, corpus):
    out = str(tmp_path / "ds")
    assert _run(capsys, "ingest", "text", str(corpus), "--out", out, "--seq-len", "8",
                "--rows-per-group", "8", "-q")[0] == 0
    m = json.load(open(os.path.join(out, "manifest.json")))
    return out, os.path.join(out, m["splits"]["train"]["shards"][0]["path"])


@pytest.mark.parametrize("damage,check,msg", [
    ("truncate", "size", "truncated"),
    ("append", "size", "truncated"),
    ("flip", "hash", "content hash differs"),
    ("remove", "size", "missing"),
])
def test_verify_detects_damage_in_one_line(capsys, dataset, damage, check, msg):
    out, shard = dataset
    assert _run(capsys, "ingest", "verify", out)[0] == 0
    data = bytearray(open(shard, "rb").read())
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "append":
        data += b"\0" * 10
    elif damage == "flip":
        data[len(data) // 2] ^= 0xFF
    if damage == "remove":
        os.remove(shard)
    else:
        open(shard, "wb").write(bytes(data))
    for how in {check, "hash"}:
        code, so, se = _run(capsys, "ingest", "verify", out, "--check", how)
        assert code == 2 and se.count("\n") == 1 and msg in se and shard in se, se


def test_verify_checks_row_groups_against_the_footer(capsys, dataset):
    out, shard = dataset
    path = os.path.join(out, "manifest.json")
    m = json.load(open(path))
    m["splits"]["train"]["shards"][0]["row_groups"][0]["rows"] += 1
    open(path, "w").write(json.dumps(m))
    code, so, se = _run(capsys, "ingest", "verify", out, "--check", "size")
    assert code == 2 and se.count("\n") == 1 and f"{shard}: row group 0 holds" in se, se
