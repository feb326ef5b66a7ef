"""One rule of hidden names for globs and recursive listings (#21: `_` names are not hidden)."""

from rnn_spark import fs


def test_hidden_names():
    for name in (".git", ".x.__tmp-1a", "_SUCCESS", "_temporary", "_metadata",
                 "_common_metadata", "_spark_metadata", "_committed_123", "_started_123"):
        assert fs.is_hidden(name), name
    for name in ("__init__.py", "_collections_abc.py", "_part-0.csv", "a_SUCCESS", "SUCCESS"):
        assert not fs.is_hidden(name), name


def test_glob_and_walk_share_the_rule_and_report_what_they_skip(tmp_path):
    root = str(tmp_path)
    for p in ("d/__init__.py", "d/a.py", "d/.b.py", "d/_SUCCESS", "d/.git/HEAD", "d/e/_c.py",
              "d/_temporary/0/part-0"):
        fs.write_text(fs.join(root, p), "1")
    j = lambda *ps: [fs.join(root, p) for p in ps]  # noqa: E731
    skipped = []
    assert fs.walk_files(fs.join(root, "d"), skipped=skipped) == j(
        "d/__init__.py", "d/a.py", "d/e/_c.py")
    assert sorted(skipped) == j("d/.b.py", "d/.git", "d/_SUCCESS", "d/_temporary")
    skipped = []
    assert fs.glob(fs.join(root, "d/*.py"), skipped=skipped) == j("d/__init__.py", "d/a.py")
    assert skipped == j("d/.b.py")
    skipped = []
    assert fs.glob(fs.join(root, "d/**"), skipped=skipped) == j(
        "d/__init__.py", "d/a.py", "d/e", "d/e/_c.py")
    assert sorted(skipped) == j("d/.b.py", "d/.git", "d/_SUCCESS", "d/_temporary")
    assert fs.glob(fs.join(root, "d/_*")) == j("d/_SUCCESS", "d/__init__.py", "d/_temporary")
    assert fs.glob(fs.join(root, "d/_SUCCESS")) == j("d/_SUCCESS")
    assert fs.join(root, "d/_SUCCESS") in fs.walk_files(fs.join(root, "d"), include_hidden=True)
