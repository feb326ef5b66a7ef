"""`rnn-spark report RUN`: a self-contained page, checked as text and in a real browser (headless
Debian chromium, started with no network at all: its own empty network namespace)."""

import json
import re
import sysconfig
from pathlib import Path

import pytest

from browser import chromium, needs_chromium

from rnn_spark import ingest
from rnn_spark.cli import main

pytest.importorskip("matplotlib")
ROUNDS = 12


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    ingest.ingest_text([str(stdlib / "json" / "*.py")], str(tmp / "ds"), seq_len=33,
                       rows_per_group=64, val_fraction=0.1, seed=3, quiet=True)
    run = tmp / "run"
    assert main(["train", "--data", str(tmp / "ds"), "--run-dir", str(run), "--runner", "inline",
                 "--hidden-sizes", "16", "--embedding-size", "8", "--k1", "16", "--batch-size", "8",
                 "--steps-per-round", "1", "--max-rounds", str(ROUNDS), "--validate-every", "4",
                 "--quiet"]) == 0
    assert main(["report", str(run), "--log-scale"]) == 0
    return run


def vertices(page: str, gid: str) -> int:
    m = re.search(rf'id="{gid}"[^>]*>\s*<path d="([^"]+)"', page)
    assert m, gid
    return len(re.findall(r"[ML] ", m.group(1)))


def test_page_is_self_contained_with_one_point_per_round(run_dir):
    page = (run_dir / "report.html").read_text()
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert not re.findall(r'(?:src|href)="(?!#)', page)            # nothing fetched
    assert vertices(page, "loss-train-loss") == ROUNDS
    assert vertices(page, "loss-val-loss") == ROUNDS // 4
    for chart in ("throughput", "straggler", "lr"):
        assert vertices(page, f"{chart}-{chart}-line") == ROUNDS
    assert vertices(page, "accuracy-accuracy-line") == ROUNDS // 4  # next-token accuracy
    for chart in ("loss", "throughput", "time", "straggler", "lr", "accuracy"):
        png = (run_dir / f"report-{chart}.png").read_bytes()
        assert png.startswith(b"\x89PNG")
    assert "[optim]" in page and "sequences / tokens" in page and "best validation loss" in page
    assert "loss (log)" in page                                     # --log-scale
    assert "<pre id='sample'>" in page and "(no sample" not in page  # a language model's sample
    for field in ("mean tokens/s", "mean straggler ratio", "final train loss", "stopped"):
        assert field in page


def test_linear_scale_by_default(run_dir, tmp_path):
    out = tmp_path / "lin.html"
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    page = out.read_text()
    assert "loss (log)" not in page and ">loss<" in page


def test_out_path_and_bad_inputs(run_dir, tmp_path, capsys):
    out = tmp_path / "elsewhere" / "r.html"
    out.parent.mkdir()
    assert main(["report", str(run_dir), "--out", str(out)]) == 0
    assert out.is_file() and (out.parent / "r-loss.png").is_file()
    capsys.readouterr()
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "no metrics.jsonl" in err and "\n" not in err
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize("line, words", [
    ("garbage", "line 2 is not JSON"),
    ('[1, 2]', 'line 2 is not a metrics record'),
    ('{"kind": "round", "loss": 1.0}', "line 2 is a 'round' record without an integer"),
    ('{"kind": "val", "round": 3, "loss": "low"}', "line 2 is a 'val' record whose \"loss\""),
])
def test_damaged_metrics_is_one_line(run_dir, tmp_path, capsys, line, words):
    bad = tmp_path / "bad"
    bad.mkdir()
    first = (run_dir / "metrics.jsonl").read_text().splitlines()[0]
    (bad / "metrics.jsonl").write_text(first + "\n" + line + "\n")
    capsys.readouterr()
    assert main(["report", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and "metrics.jsonl" in err and "\n" not in err
    assert sorted(p.name for p in bad.iterdir()) == ["metrics.jsonl"]  # nothing written


def test_out_never_replaces_what_is_not_a_report(run_dir, tmp_path, capsys):
    mine = tmp_path / "notes.html"
    mine.write_text("<!doctype html><title>my notes</title>")
    (tmp_path / "dir.html").mkdir()
    (tmp_path / "r-loss.png").write_text("my own file, not a PNG")
    for out, words in ((mine, "is not an rnn-spark report"), (tmp_path / "dir.html", "is a directory"),
                       (tmp_path / "r.html", "r-loss.png already exists and is not")):
        before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
        capsys.readouterr()
        assert main(["report", str(run_dir), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err
        assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before
    # an earlier report (and its PNGs) is replaced
    again = tmp_path / "again.html"
    assert main(["report", str(run_dir), "--out", str(again)]) == 0
    assert main(["report", str(run_dir), "--out", str(again)]) == 0
    again.unlink()  # its PNGs stay: still replaced
    assert main(["report", str(run_dir), "--out", str(again)]) == 0


@needs_chromium
def test_report_in_headless_chromium_offline(run_dir, tmp_path):
    np = pytest.importorskip("numpy")
    Image = pytest.importorskip("PIL.Image")
    url = (run_dir / "report.html").as_uri()
    dom = chromium("--dump-dom", url, cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert vertices(dom.stdout, "loss-train-loss") == ROUNDS   # as the browser parsed it
    assert dom.stdout.count("<svg") == 6
    shot = tmp_path / "shot.png"
    p = chromium(f"--screenshot={shot}", "--window-size=1100,2200", url, cwd=tmp_path)
    assert p.returncode == 0 and shot.is_file(), p.stderr[-2000:]
    px = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    nonwhite = (px.sum(axis=2) < 3 * 245).mean()
    assert px.std() > 10 and nonwhite > 0.02, (px.std(), nonwhite)
    colourful = (px.max(axis=2) - px.min(axis=2) > 60).mean()  # the chart lines and areas
    assert colourful > 0.002, colourful
