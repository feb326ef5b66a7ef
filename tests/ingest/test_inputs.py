"""Which files an ingest reads (#21): one rule for directories and globs, hidden names counted,
the same file named twice read once, identical content warned about, a dataset is not input."""

import json
import os
import shutil

import pytest

from rnn_spark.cli import main
from rnn_spark.errors import DataError
from rnn_spark.ingest import ingest_labelled, ingest_series, ingest_text
from rnn_spark.ingest.sources import find_inputs


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _uris(inputs):
    return [os.path.basename(f["uri"]) for f in inputs.files]


@pytest.fixture()
def pkg(tmp_path):
    """A Python package as a user has it: underscore names, a dotfile, a .git dir, a marker."""
    d = tmp_path / "pkg"
    (d / "sub").mkdir(parents=True)
    (d / ".git").mkdir()
    for name, text in (("__init__.py", "import os\n"), ("_collections_abc.py", "class A: pass\n"),
                       ("mod.py", "def f(): return 1\n"), ("sub/_impl.py", "X = 2\n"),
                       (".hidden.py", "secret = 1\n"), (".git/config", "[core]\n"),
                       ("_SUCCESS", "")):
        (d / name).write_text(text)
    return d


def test_directory_reads_underscore_names_like_a_glob(pkg):
    """#21: a directory skipped `__init__.py` & co. (194 of 1,790 files) while a glob read them."""
    by_dir = find_inputs([str(pkg)])
    assert _uris(by_dir) == ["__init__.py", "_collections_abc.py", "mod.py", "_impl.py"]
    assert _uris(find_inputs([str(pkg / "*")])) == _uris(by_dir)  # a matched dir is walked too
    assert _uris(find_inputs([str(pkg / "**" / "*.py")])) == _uris(by_dir)
    assert sorted(os.path.basename(h) for h in by_dir.hidden) == [".git", ".hidden.py",
                                                                   "_SUCCESS"]
    assert sorted(os.path.basename(h) for h in find_inputs([str(pkg / "*")]).hidden) == \
        [".git", ".hidden.py", "_SUCCESS"]
    # a hidden name spelled out (or a pattern starting with its first character) is read
    assert _uris(find_inputs([str(pkg / ".hidden.py")])) == [".hidden.py"]
    assert _uris(find_inputs([str(pkg / ".h*")])) == [".hidden.py"]


def test_cli_says_how_many_hidden_names_were_skipped(capsys, pkg, tmp_path):
    code, so, se = _run(capsys, "ingest", "text", str(pkg), "--out", str(tmp_path / "o"),
                        "--seq-len", "4")
    assert code == 0, se
    assert (f"skipped 3 hidden name(s) (.git, .hidden.py, _SUCCESS) under {pkg}: names "
            "starting with '.' and Hadoop/Spark markers are not read; name a file to read "
            "it") in se
    assert "4 input file(s)" in se
    assert len(json.load(open(tmp_path / "o" / "manifest.json"))["sources"]) == 4


def test_series_and_labelled_read_underscore_files_of_a_directory(tmp_path, series_csv,
                                                                   labelled_jsonl):
    d = tmp_path / "sd"
    d.mkdir()
    shutil.copy(series_csv, d / "_part-0.csv")
    (d / "_SUCCESS").write_text("")
    m = ingest_series([str(d)], str(tmp_path / "s"), window=5, time_column="t",
                      group_column="ent")
    assert [os.path.basename(s["uri"]) for s in m.data["sources"]] == ["_part-0.csv"]
    d = tmp_path / "ld"
    d.mkdir()
    shutil.copy(labelled_jsonl, d / "_a.jsonl")
    m = ingest_labelled([str(d)], str(tmp_path / "l"))
    assert [os.path.basename(s["uri"]) for s in m.data["sources"]] == ["_a.jsonl"]


# -- the same file named twice -----------------------------------------------------------------

@pytest.fixture()
def licences(tmp_path):
    """`GPL -> GPL-3` as in #21, plus an unrelated file."""
    d = tmp_path / "lic"
    d.mkdir()
    (d / "GPL-3").write_text("GNU GENERAL PUBLIC LICENSE\n" * 60)
    (d / "MIT").write_text("Permission is hereby granted, free of charge\n" * 40)
    os.symlink("GPL-3", d / "GPL")
    return d


def test_symlink_and_repeated_names_are_one_file(licences, monkeypatch):
    """#21: a symlink made the same file two inputs (42% of val rows were copies of train)."""
    d = licences
    got = find_inputs([str(d)])
    assert _uris(got) == ["GPL-3", "MIT"]
    assert got.same_file == ((str(d / "GPL"), str(d / "GPL-3")),)
    monkeypatch.chdir(d.parent)
    for names in ([str(d / "MIT"), str(d / "MIT")],            # twice on the command line
                  [str(d / "MIT"), "lic/MIT", "lic/../lic/MIT", "file://" + str(d / "MIT")],
                  [str(d / "M*"), str(d)],                     # a glob and a directory
                  ):
        files = [f["uri"] for f in find_inputs(names).files]
        assert [os.path.basename(u) for u in files].count("MIT") == 1, names


def test_ingest_of_a_symlinked_copy_equals_the_file_alone(licences, tmp_path, capsys):
    one = ingest_text([str(licences / "GPL-3")], str(tmp_path / "a"), seq_len=8)
    both = ingest_text([str(licences / "GPL"), str(licences / "GPL-3")], str(tmp_path / "b"),
                       seq_len=8)
    assert both.counts("train") == one.counts("train") and both.counts("val") == one.counts("val")
    code, so, se = _run(capsys, "ingest", "text", str(licences), "--out", str(tmp_path / "c"),
                        "--seq-len", "8")
    assert code == 0, se
    assert f"read once: 1 name(s) are the same file as another input ({licences / 'GPL'} is " \
           f"{licences / 'GPL-3'})" in se


def test_identical_content_under_two_paths_is_a_warning(licences, tmp_path, capsys):
    shutil.copy(licences / "GPL-3", licences / "COPYING")
    code, so, se = _run(capsys, "ingest", "text", str(licences), "--out", str(tmp_path / "o"),
                        "--seq-len", "8", "-q")  # a warning is not progress: --quiet keeps it
    assert code == 0, se
    assert se == (f"ingest: warning: 1 input file(s) have the same content as another "
                  f"({licences / 'GPL-3'} = {licences / 'COPYING'}); their rows are in the "
                  "dataset twice (train and val may share rows): remove the copies from the "
                  "inputs\n")
    # files of equal size but different content are not reported
    (licences / "COPYING").write_text("X" * (licences / "GPL-3").stat().st_size)
    code, so, se = _run(capsys, "ingest", "text", str(licences), "--out", str(tmp_path / "p"),
                        "--seq-len", "8", "-q")
    assert code == 0 and se == ""


def test_identical_large_files_found_past_the_sampled_ends(tmp_path):
    from rnn_spark.ingest.sources import identical_content
    d = tmp_path / "big"
    d.mkdir()
    body = os.urandom(300_000)
    (d / "a").write_bytes(body)
    (d / "b").write_bytes(body)
    (d / "c").write_bytes(body[:150_000] + b"x" + body[150_001:])  # differs in the middle only
    files = find_inputs([str(d)]).files
    assert identical_content(files) == [(str(d / "b"), str(d / "a"))]


# -- an rnn-spark dataset given as input -------------------------------------------------------

def test_a_dataset_as_input_says_so(capsys, tmp_path, licences):
    ds = str(tmp_path / "ds")
    ingest_text([str(licences)], ds, seq_len=8)
    before = sorted(os.listdir(tmp_path))
    for src in (ds, ds + "/*", ds + "/**", ds + "/train", str(tmp_path)):
        code, so, se = _run(capsys, "ingest", "text", src, "--out", str(tmp_path / "o2"),
                            "--seq-len", "8")
        assert code == 2 and se == (
            f"error: {ds}: is an rnn-spark dataset (holds manifest.json), not raw input; "
            f"use it as --data {ds} (train, evaluate, predict), or give the raw files it was "
            "made from\n"), src
    assert sorted(os.listdir(tmp_path)) == before
    # a user's own manifest.json (a web app's) is just a file
    (licences / "manifest.json").write_text('{"name": "app"}')
    assert "manifest.json" in _uris(find_inputs([str(licences)]))


def test_only_hidden_matches_says_so(tmp_path):
    d = tmp_path / "h"
    d.mkdir()
    (d / ".a.txt").write_text("abc")
    with pytest.raises(DataError) as ei:
        find_inputs([str(d)])
    assert str(ei.value) == (f"{d}: directory holds no input files (1 hidden name skipped: "
                             ".a.txt; name a hidden file to read it)")
    with pytest.raises(DataError) as ei:
        find_inputs([str(d / "*.txt")])
    assert str(ei.value) == (f"{d / '*.txt'}: no file matches this pattern (1 hidden name "
                             "skipped: .a.txt; name a hidden file to read it)")
