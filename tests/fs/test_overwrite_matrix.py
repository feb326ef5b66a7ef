"""#21.2: every command that writes an output, pointed with --overwrite at every kind of directory
rnn-spark makes (and at places inside them), replaces only an output of its own kind; everything
else is refused with one line, exit 2, and the whole tree left byte for byte as it was.

Before the fix `export --out OTHER_RUN/best --overwrite` took best/ (it holds a model.json) for an
export directory and replaced the run's model with the export.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn_spark.cli import main
from rnn_spark.fs.kinds import DATASET, EXPORT, PREDICTIONS, RUN, kind_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "training"))
from safety_helpers import snapshot, tiny_args  # noqa: E402  tests/training/safety_helpers.py


def _cli(capsys, args):
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """One of each: sources, a dataset, a run (RUN/model, RUN/best, checkpoints, report.html),
    a copy of it to read models from, an export of each format, predictions, a report file."""
    w = tmp_path_factory.mktemp("world")
    src = w / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (src / f"{name}.txt").write_text("the quick brown fox jumps over the lazy dog. " * 40)
    rows = ["t,v"] + [f"{k},{np.sin(k / 5):.4f}" for k in range(120)]
    (src / "series.csv").write_text("\n".join(rows) + "\n")
    (src / "seqs.jsonl").write_text("".join(
        json.dumps({"sequence": rng.integers(0, 6, 5).tolist(), "label": i % 2}) + "\n"
        for i in range(40)))
    assert main(["ingest", "text", str(src / "*.txt"), "--out", str(w / "ds"), "--seq-len", "8",
                 "-q"]) == 0
    assert main(tiny_args(w / "ds", w / "run", "--quiet")) == 0
    shutil.copytree(w / "run", w / "src_run")
    for fmt, d in (("onnx", "exp_onnx"), ("pytorch", "exp_pt")):
        assert main(["export", "--model", str(w / "src_run"), "--out", str(w / d),
                     "--format", fmt]) == 0
    assert main(["predict", "--model", str(w / "src_run"), "--data", str(w / "ds"),
                 "--out", str(w / "pred")]) == 0
    assert main(["report", str(w / "run")]) == 0
    assert main(["report", str(w / "src_run"), "--out", str(w / "report.html")]) == 0
    return w


# target -> (path in the world, what is there now: the kind that may replace it)
TARGETS = {
    "dataset": ("ds", DATASET),
    "inside-dataset": ("ds/train/000", None),
    "inside-dataset-new": ("ds/new", None),
    "run": ("run", RUN),
    "run-model": ("run/model", None),
    "run-best": ("run/best", None),
    "checkpoint": ("run/checkpoints/round-000001", None),
    "inside-run-new": ("run/new", None),
    "inside-model-new": ("run/best/new", None),
    "export-onnx": ("exp_onnx", EXPORT),
    "export-pytorch": ("exp_pt", EXPORT),
    "inside-export-new": ("exp_onnx/new", None),
    "predictions": ("pred", PREDICTIONS),
    "inside-predictions-new": ("pred/new", None),
    "run-report": ("run/report.html", "report"),
    "report": ("report.html", "report"),
}


def _ingest(kind):
    extra = {"text": ["src/*.txt", "--seq-len", "8"],
             "series": ["src/series.csv", "--window", "6", "--time-column", "t"],
             "labelled": ["src/seqs.jsonl"]}[kind]
    return lambda w, t: ["ingest", kind, *[str(w / a) if a.startswith("src") else a
                                           for a in extra], "--out", t, "-q", "--overwrite"]


# command -> (argv for a target, the kind it writes)
COMMANDS = {
    "ingest-text": (_ingest("text"), DATASET),
    "ingest-series": (_ingest("series"), DATASET),
    "ingest-labelled": (_ingest("labelled"), DATASET),
    "train": (lambda w, t: tiny_args(w / "ds", t, "--quiet", "--overwrite"), RUN),
    "predict": (lambda w, t: ["predict", "--model", w / "src_run", "--data", w / "ds", "--out", t,
                              "--overwrite"], PREDICTIONS),
    "predict-input": (lambda w, t: ["predict", "--model", w / "src_run", "--input",
                                    w / "src" / "a.txt", "--out", t, "--overwrite"], PREDICTIONS),
    "export-onnx": (lambda w, t: ["export", "--model", w / "src_run", "--out", t, "--format",
                                  "onnx", "--overwrite"], EXPORT),
    "export-pytorch": (lambda w, t: ["export", "--model", w / "src_run", "--out", t, "--format",
                                     "pytorch", "--overwrite"], EXPORT),
    "report": (lambda w, t: ["report", w / "src_run", "--out", t], "report"),
}


def _is_report(path: Path) -> bool:
    return path.is_file() and path.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("command", list(COMMANDS))
def test_overwrite_replaces_only_its_own_kind(world, tmp_path, capsys, command, target):
    w = tmp_path / "w"
    shutil.copytree(world, w, symlinks=True)
    rel, there = TARGETS[target]
    argv, writes = COMMANDS[command]
    out = w / rel
    before = snapshot(w)
    code, _, err = _cli(capsys, argv(w, str(out)))
    if there != writes:
        lines = [x for x in err.splitlines() if x.strip() and not x.startswith("rnn-spark: ")]
        assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), err
        assert "Traceback" not in err
        assert snapshot(w) == before, f"{command} -> {rel} changed the tree"
        return
    assert code == 0, err
    assert _is_report(out) if writes == "report" else kind_of(str(out)) == writes
    # nothing outside the target changed (a report's PNG copies go beside it)
    keep = rel + ("-" if writes == "report" else "/")
    stem = rel.rsplit(".", 1)[0] + "-"

    def outside(snap):
        return {k: v for k, v in snap.items()
                if k != rel and not k.startswith(keep) and not k.startswith(stem)}
    assert outside(snapshot(w)) == outside(before)


def test_export_over_another_runs_best_keeps_its_model(world, tmp_path, capsys):
    """The user's report of #21.2: the run keeps its model, and resume still finds it."""
    import rnn_spark as rs
    w = tmp_path / "w"
    shutil.copytree(world, w, symlinks=True)
    for sub in ("best", "model", "checkpoints/round-000001"):
        before = snapshot(w / "run")
        code, _, err = _cli(capsys, ["export", "--model", w / "src_run", "--out", w / "run" / sub,
                                     "--format", "onnx", "--overwrite"])
        assert code == 2 and "lies inside the run directory" in err, err
        assert snapshot(w / "run") == before
        assert rs.load_model(str(w / "run" / sub)).config.task == "lm"


def test_refusals_say_what_the_target_is(world, tmp_path, capsys):
    w = tmp_path / "w"
    shutil.copytree(world, w, symlinks=True)
    # a copy of a run's best/ outside any run is still a model, not an export
    shutil.copytree(w / "run" / "best", w / "best_copy")
    code, _, err = _cli(capsys, ["export", "--model", w / "src_run", "--out", w / "best_copy",
                                 "--format", "pytorch", "--overwrite"])
    assert code == 2 and "is a model rnn-spark made, not an export directory" in err, err
    code, _, err = _cli(capsys, ["export", "--model", w / "src_run", "--out", w / "pred",
                                 "--format", "pytorch"])
    assert code == 2 and "is a predictions directory rnn-spark made, not an export" in err, err
    code, _, err = _cli(capsys, ["predict", "--model", w / "src_run", "--input",
                                 w / "src" / "a.txt", "--out", w / "ds" / "train" / "000" / "p"])
    assert code == 2 and "lies inside the dataset" in err, err
    assert sorted(os.listdir(w / "ds" / "train" / "000")) == ["part-00000.parquet"]


def test_exports_of_earlier_releases_stay_replaceable(world, tmp_path, capsys):
    """An export written before the marker (model.json "pytorch-state-dict" beside model.onnx)
    is still replaced; the same files beside anything else are not."""
    w = tmp_path / "w"
    shutil.copytree(world, w, symlinks=True)
    old = w / "exp_onnx"
    (old / ".rnn-spark-export").unlink()
    mj = json.loads((old / "model.json").read_text())
    (old / "model.json").write_text(json.dumps({**mj, "format": "pytorch-state-dict"}))
    (w / "mixed").mkdir()
    for f in ("model.json", "model.onnx"):
        shutil.copy(old / f, w / "mixed" / f)
    (w / "mixed" / "notes.txt").write_text("mine")
    code, _, err = _cli(capsys, ["export", "--model", w / "src_run", "--out", w / "mixed",
                                 "--format", "onnx", "--overwrite"])
    assert code == 2 and "not an export directory rnn-spark made" in err, err
    assert (w / "mixed" / "notes.txt").read_text() == "mine"
    code, _, err = _cli(capsys, ["export", "--model", w / "src_run", "--out", old,
                                 "--format", "onnx", "--overwrite"])
    assert code == 0, err
    assert (old / ".rnn-spark-export").is_file()


def test_a_user_manifest_json_is_not_a_dataset(world, tmp_path, capsys):
    """A web app's manifest.json is not rnn-spark's: ingest --overwrite leaves the directory."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "manifest.json").write_text('{"name": "my app", "start_url": "/"}')
    (app / "index.html").write_text("<html></html>")
    before = snapshot(app)
    code, _, err = _cli(capsys, ["ingest", "text", world / "src" / "a.txt", "--out", app,
                                 "--seq-len", "8", "-q", "--overwrite"])
    assert code == 2 and "not a dataset rnn-spark made" in err, err
    assert snapshot(app) == before


@pytest.fixture
def env_cache(tmp_path, monkeypatch):
    """A pack-env cache holding this checkout's archive (stand-in bytes: nothing is built)."""
    from rnn_spark.submit import pack
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    archive = pack.cache_dir() / pack.archive_name(pack.content_key(pack.pinned_requirements()))
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"\x1f\x8b stand-in for a packed environment")
    return archive


@pytest.mark.parametrize("rel", ["ds/env.tar.gz", "ds/train/000/env.tar.gz", "run/env.tar.gz",
                                 "run/best/env.tar.gz", "exp_pt/env.tar.gz", "pred/env.tar.gz"])
def test_pack_env_out_never_inside_an_rnn_spark_directory(world, tmp_path, capsys, env_cache, rel):
    w = tmp_path / "w"
    shutil.copytree(world, w, symlinks=True)
    before = snapshot(w)
    code, _, err = _cli(capsys, ["pack-env", "--out", w / rel])
    assert code == 2 and "lies inside the" in err and err.count("\n") == 1, err
    assert snapshot(w) == before


def test_pack_env_replaces_only_an_archive_it_wrote(tmp_path, capsys, env_cache):
    out = tmp_path / "env.tar.gz"
    assert _cli(capsys, ["pack-env", "--out", out])[0] == 0
    assert out.read_bytes() == env_cache.read_bytes()
    assert _cli(capsys, ["pack-env", "--out", out])[0] == 0  # its own copy: replaced
    mine = tmp_path / "backup.tar.gz"   # the user's archive, even of the same size
    mine.write_bytes(bytes(len(env_cache.read_bytes())))
    code, _, err = _cli(capsys, ["pack-env", "--out", mine])
    assert code == 2 and "not an archive pack-env wrote" in err and err.count("\n") == 1, err
    assert mine.read_bytes() == bytes(len(env_cache.read_bytes()))
