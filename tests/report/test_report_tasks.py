"""The report's sections per task: a classifier's accuracy curve; a forecaster's RMSE/MAE beside
the naive forecasts (checked against `evaluate`) and its forecast-vs-actual chart."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from browser import chromium, needs_chromium

import rnn_spark as rs
from rnn_spark import ingest
from rnn_spark.cli import main
from rnn_spark.serve.evaluate import evaluate

pytest.importorskip("matplotlib")
TRAIN = ["--runner", "inline", "--hidden-sizes", "12", "--batch-size", "8", "--steps-per-round",
         "2", "--max-rounds", "8", "--validate-every", "2", "--quiet"]
WINDOW, HORIZON, SEASON = 30, 3, 24


def vertices(page: str, gid: str) -> int:
    m = re.search(rf'id="{gid}"[^>]*>\s*<path d="([^"]+)"', page)
    assert m, gid
    return len(re.findall(r"[ML] ", m.group(1)))


@pytest.fixture(scope="module")
def classify_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("cls")
    rng = np.random.default_rng(4)
    lines = [json.dumps({"sequence": (rng.integers(0, 4, int(rng.integers(3, 9))) + 4 * (i % 2))
                         .tolist(), "label": i % 2}) for i in range(160)]
    (tmp / "s.jsonl").write_text("\n".join(lines) + "\n")
    ingest.ingest_labelled([str(tmp / "s.jsonl")], str(tmp / "ds"), task="classify",
                           val_fraction=0.25, quiet=True)
    assert main(["train", "--data", str(tmp / "ds"), "--run-dir", str(tmp / "run"), *TRAIN]) == 0
    return tmp / "run"


@pytest.fixture(scope="module")
def forecast_run(tmp_path_factory) -> Path:
    """Hourly series with a daily cycle (a season of 24 steps), two sites."""
    tmp = tmp_path_factory.mktemp("fc")
    rng = np.random.default_rng(5)
    rows = ["site,hour,demand"]
    for site, phase in (("north", 0.0), ("south", 1.0)):
        for h in range(240):
            value = 50 + 10 * np.sin(2 * np.pi * h / SEASON + phase) + rng.normal(0, 0.5)
            rows.append(f"{site},2024-03-{1 + h // 24:02d} {h % 24:02d}:00:00,{value:.3f}")
    (tmp / "demand.csv").write_text("\n".join(rows) + "\n")
    ingest.ingest_series([str(tmp / "demand.csv")], str(tmp / "ds"), window=WINDOW,
                         horizon=HORIZON, columns=["demand"], time_column="hour",
                         group_column="site", val_fraction=0.2, quiet=True)
    assert main(["train", "--data", str(tmp / "ds"), "--run-dir", str(tmp / "run"), *TRAIN]) == 0
    return tmp / "run"


def val_records(run: Path) -> list[dict]:
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
            if r["kind"] == "val"]


def test_classifier_report_has_the_accuracy_curve(classify_run):
    assert main(["report", str(classify_run)]) == 0
    page = (classify_run / "report.html").read_text()
    vals = val_records(classify_run)
    assert all({"accuracy", "macro_f1", "roc_auc", "pr_auc"} <= set(v) for v in vals)
    for name in ("accuracy", "macro-F1", "ROC-AUC", "PR-AUC"):  # two classes: all four
        assert f"{name} at best" in page
    assert "<h2>Validation accuracy</h2>" in page and "id='chart-accuracy'" in page
    assert vertices(page, "accuracy-accuracy-line") == len(vals) >= 2
    assert (classify_run / "report-accuracy.png").read_bytes().startswith(b"\x89PNG")
    assert "Forecast accuracy" not in page and "<pre id='sample'>" not in page


def cells(page: str) -> dict[str, list[str]]:
    table = re.search(r"<table id=[\"']forecast-metrics[\"']>(.*?)</table>", page).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", table)
    return {re.findall(r"<td>(.*?)</td>", r)[0]: re.findall(r"<td>(.*?)</td>", r)[1:]
            for r in rows[1:]}


def test_forecaster_report_errors_beside_the_naive_forecasts(forecast_run):
    assert main(["report", str(forecast_run), "--season", str(SEASON)]) == 0
    page = (forecast_run / "report.html").read_text()
    ds = str(forecast_run.parent / "ds")
    m = evaluate(rs.load_model(str(forecast_run)), ds, season=SEASON).metrics
    got = cells(page)
    f = "{:.6g}".format
    assert got["model"][:2] == [f(m["rmse"]), f(m["mae"])]
    naive = m["naive_last_value"]
    assert got["naive: last value carried forward"] == [f(naive["rmse"]), f(naive["mae"]),
                                                        f(1.0)]
    seasonal = m["seasonal_naive"]
    assert got[f"seasonal naive: the value {SEASON} steps earlier"] == [
        f(seasonal["rmse"]), f(seasonal["mae"]), f(seasonal["rmse"] / naive["rmse"])]
    assert seasonal["rmse"] < naive["rmse"]  # a daily cycle: one day back beats one hour back
    assert "errors in the data's original units" in page and "Validation accuracy" not in page
    # forecast vs actual: one series' validation windows, times on the axis
    assert "<h2>Forecast vs actual</h2>" in page and "id='chart-forecast'" in page
    n = val_windows(ds, "north")
    assert n > 10
    assert vertices(page, "forecast-forecast-step-1") == n            # 1 step ahead
    assert vertices(page, "forecast-forecast-step-2") == n            # 3 steps ahead
    assert vertices(page, "forecast-forecast-actual") == n + HORIZON - 1
    assert "forecast 3 steps ahead" in page and "demand of series north" in page
    assert re.search(r">2024-03-1\d \d\d:00:00<", page)                # time tick labels
    assert (forecast_run / "report-forecast.png").read_bytes().startswith(b"\x89PNG")


def val_windows(ds: str, group: str) -> int:
    from rnn_spark.data import read_manifest
    from rnn_spark.serve.series import dataset_indexes
    m = read_manifest(ds)
    (index,) = dataset_indexes(m, m.stats)
    series = index.groups.index(group)
    import pyarrow.parquet as pq
    rows = 0
    for u in m.work_units("val"):
        t = pq.ParquetFile(u.shard).read_row_group(u.row_group, columns=["src_row"])
        e, _ = index.locate(t["src_row"].to_numpy())
        rows += int((e == series).sum())
    return rows


def test_forecaster_report_without_season_or_sources(forecast_run, tmp_path):
    """No --season: no seasonal row. The source CSV gone: the errors still (they need only the
    shards), and a scatter of forecast against actual instead of one series over time."""
    src = forecast_run.parent / "demand.csv"
    moved = tmp_path / "demand.csv"
    src.rename(moved)
    try:
        out = tmp_path / "r.html"
        assert main(["report", str(forecast_run), "--out", str(out)]) == 0
    finally:
        moved.rename(src)
    page = out.read_text()
    assert set(cells(page)) == {"model", "naive: last value carried forward"}
    assert 'id="forecast-forecast-points"' in page and "forecast = actual" in page


def test_bad_season(classify_run, forecast_run, tmp_path, capsys):
    for run, season, words in ((classify_run, "24", "--season 24: the seasonal naive forecast is "
                                                    "for forecasting runs; this run's task is "
                                                    "classify"),
                               (forecast_run, "0", "0 is not in the range x>=1")):
        out = tmp_path / "r.html"
        capsys.readouterr()
        assert main(["report", str(run), "--season", season, "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err
        assert list(tmp_path.iterdir()) == []  # nothing written


@needs_chromium
def test_forecaster_report_in_headless_chromium(forecast_run, tmp_path):
    """As the browser parsed it: the metrics table and the forecast chart are there, offline."""
    assert main(["report", str(forecast_run), "--season", str(SEASON)]) == 0
    dom = chromium("--dump-dom", (forecast_run / "report.html").as_uri(), cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert set(cells(dom.stdout)) == {"model", "naive: last value carried forward",
                                      f"seasonal naive: the value {SEASON} steps earlier"}
    assert vertices(dom.stdout, "forecast-forecast-actual") > 10
    assert dom.stdout.count("<svg") == 6  # loss, throughput, time, straggler, lr, forecast
