"""The --overwrite rule (rnn_spark.fs.guard.check_output): refuse inputs, user files, roots."""

import os

import pytest

from rnn_spark.errors import UserError
from rnn_spark.fs.guard import check_output
from rnn_spark.fs.kinds import RUN, RUN_MARKER


def _refused(match, *args, **kw):
    with pytest.raises(UserError, match=match) as err:
        check_output(*args, **kw)
    assert "\n" not in str(err.value)


def _tree(root):
    return sorted(os.path.relpath(os.path.join(d, n), root)
                  for d, dirs, names in os.walk(root) for n in dirs + names)


def test_new_output_ok(tmp_path):
    assert check_output(str(tmp_path / "new"), [str(tmp_path / "in.txt")], overwrite=False) is False


def test_empty_dir_ok_with_or_without_overwrite(tmp_path):
    (tmp_path / "e").mkdir()
    assert check_output(str(tmp_path / "e"), [], overwrite=False) is True
    assert check_output(str(tmp_path / "e"), [], overwrite=True) is True


def test_existing_needs_overwrite(tmp_path):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "manifest.json").write_text('{"format": "rnn-spark-shards"}')
    _refused(r"output already exists; pass --overwrite to replace it$", str(tmp_path / "ds"), [],
             overwrite=False)
    assert check_output(str(tmp_path / "ds"), [], overwrite=True) is True


def test_overwrite_refuses_user_files_and_files(tmp_path):
    d = tmp_path / "mine"
    d.mkdir()
    (d / "notes.txt").write_text("precious")
    before = _tree(tmp_path)
    _refused(r"holds files that are not a dataset rnn-spark made; --overwrite replaces only",
             str(d), [], overwrite=True)
    (tmp_path / "f.txt").write_text("x")
    _refused(r"is a file, not a dataset", str(tmp_path / "f.txt"), [], overwrite=True)
    assert _tree(tmp_path) == sorted(before + ["f.txt"])


def test_output_equal_inside_or_containing_an_input(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.py").write_text("x")
    _refused(r"is the input", str(corpus / "a.py"), [str(corpus / "a.py")], overwrite=True)
    _refused(r"contains the input", str(corpus), [str(corpus / "a.py")], overwrite=True)
    _refused(r"lies inside the input", str(corpus / "ds"), [str(corpus)], overwrite=True)
    # spelled differently: relative, with '..', through a symlink
    os.symlink(corpus, tmp_path / "link")
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        _refused(r"contains the input", "x/../corpus", ["corpus/a.py"], overwrite=True)
        _refused(r"contains the input", "link", [str(corpus / "a.py")], overwrite=True)
    finally:
        os.chdir(cwd)


def test_root_and_working_directory_refused(tmp_path):
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        _refused(r"^\.: --out is a filesystem root or the working directory", ".", [],
                 overwrite=True)
    finally:
        os.chdir(cwd)
    _refused(r"is a filesystem root", "/", [], overwrite=True)
    _refused(r"is a filesystem root", "hdfs:///", [], overwrite=True)


def test_remote_paths_compared_by_path(tmp_path):
    _refused(r"contains the input", "hdfs:///data", ["hdfs://nn:8020/data/raw/x.txt"],
             overwrite=True)
    _refused(r"is the input", "webhdfs://nn:9870/data/x", ["hdfs://nn/data/x/"], overwrite=True)
    # another cluster, or local vs remote: not the same place
    from rnn_spark.fs.guard import _inside, _loc
    assert not _inside(_loc("hdfs://a/data"), _loc("hdfs://b/data"))
    assert not _inside(_loc(str(tmp_path)), _loc("hdfs://" + str(tmp_path)))


def test_run_dir_markers(tmp_path):
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / RUN_MARKER).write_text("{}")
    assert check_output(str(run), [str(tmp_path / "ds")], overwrite=True, kind=RUN,
                        what_flag="--run-dir") is True
    with pytest.raises(UserError, match=r": --run-dir lies inside the input"):
        check_output(str(tmp_path / "ds" / "run"), [str(tmp_path / "ds")], overwrite=True,
                     kind=RUN, what_flag="--run-dir")


def test_dot_is_not_called_a_root():
    """#8.9: '.' used to be reported as 'not a root'."""
    from rnn_spark.fs import FsError
    from rnn_spark.fs.uri import temp_sibling
    for uri in (".", "..", "/"):
        with pytest.raises(FsError, match="names no file or directory") as err:
            temp_sibling(uri)
        assert "not a root" not in str(err.value)


def test_each_kind_by_its_own_marker_and_nothing_else(tmp_path):
    """#21.2: a model.json, a manifest.json, a weights.npz or a checksums.json of the user's own
    does not make a directory rnn-spark's; rnn-spark's markers do."""
    from rnn_spark.fs.kinds import DATASET, EXPORT, MODEL, PREDICTIONS, kind_of

    def d(name, files):
        p = tmp_path / name
        p.mkdir()
        for f, text in files.items():
            (p / f).write_text(text)
        return str(p)
    assert kind_of(d("webapp", {"manifest.json": '{"name": "app"}'})) is None
    assert kind_of(d("numpy", {"weights.npz": "", "notes.txt": ""})) is None
    assert kind_of(d("dl", {"checksums.json": "{}", "a.iso": ""})) is None
    assert kind_of(d("mj", {"model.json": '{"format": "mine"}', "model.onnx": ""})) is None
    assert kind_of(d("preds", {"predictions.json": '{"format": "other"}'})) is None
    assert kind_of(d("ds", {"manifest.json": '{"format": "rnn-spark-shards"}'})) == DATASET
    assert kind_of(d("run", {RUN_MARKER: "{}"})) == RUN
    assert kind_of(d("exp", {".rnn-spark-export": "{}", "model.json": "{}"})) == EXPORT
    assert kind_of(d("p", {"predictions.json": '{"format": "rnn-spark-predictions"}'})) \
        == PREDICTIONS
    assert kind_of(d("ckpt", {"weights.npz": "", "meta.json": "{}"})) == MODEL
    assert kind_of(d("best", {"model.json": '{"format": "rnn-spark-checkpoint"}'})) == MODEL
    assert kind_of(str(tmp_path / "missing")) is None


def test_output_inside_an_rnn_spark_directory_refused(tmp_path):
    run = tmp_path / "run"
    (run / "model").mkdir(parents=True)
    (run / RUN_MARKER).write_text("{}")
    (run / "model" / "weights.npz").write_text("")
    (run / "model" / "model.json").write_text("{}")
    before = _tree(tmp_path)
    for out in (run / "x", run / "model", run / "model" / "x" / "y"):
        _refused(r"lies inside the (run directory|model) .*; rnn-spark writes a dataset only outside",
                 str(out), [], overwrite=True)
    assert _tree(tmp_path) == before
