"""A forecaster's section of the report: the run's model (the one `rnn-spark predict --model RUN`
uses: best/, else model/) on the validation split.

* its RMSE and MAE in the data's original units beside the naive forecasts' (serve/evaluate.py):
  the last input value carried forward, and, given ``season`` P, the seasonal naive forecast (the
  value one season earlier);
* a chart of its forecasts against the actual values over the validation windows of one series
  (the first in the series ingest's order that has any), at one step ahead and at the last step
  of the horizon; time labels from the time column. Without the series' source files (moved, or
  not a series dataset) a scatter of forecast against actual instead.

Nothing here fails the report: what cannot be computed is said in ``note``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rnn_spark.errors import UserError
from rnn_spark.report.charts import Chart, ForecastPlot, forecast_chart

MAX_POINTS = 500        # windows drawn at most (the newest of the series)


@dataclass(frozen=True)
class ForecastReport:
    rows: tuple[tuple[str, object, object, object], ...]  # forecast, RMSE, MAE, RMSE / naive's
    windows: int                                          # validation windows measured
    chart: Chart | None
    note: str | None                                      # what is missing, and why


def forecast_report(run_uri: str, manifest, season: int = 0) -> ForecastReport:
    from rnn_spark.serve.evaluate import evaluate
    from rnn_spark.serve.load import load_model
    if "val" not in manifest.splits:
        return ForecastReport((), 0, None, "the dataset has no validation split to measure on")
    try:
        tm = load_model(run_uri)
        ev = evaluate(tm, manifest.root, "val", season=season)
    except UserError as err:
        return ForecastReport((), 0, None, f"not measured: {str(err).splitlines()[0]}")
    mets = ev.metrics
    naive = mets.get("naive_last_value")
    rows = [("model", mets["rmse"], mets["mae"], _ratio(mets, naive))]
    rows.append(("naive: last value carried forward", *_errors(naive), 1.0 if naive else None))
    if season:
        seasonal = mets.get("seasonal_naive")
        rows.append((f"seasonal naive: the value {season} steps earlier", *_errors(seasonal),
                     _ratio(seasonal, naive)))
    try:
        chart = forecast_chart(_plot(tm, manifest))
        note = None
    except UserError as err:
        chart, note = None, f"no forecast chart: {str(err).splitlines()[0]}"
    return ForecastReport(tuple(rows), ev.rows, chart, note)


def _errors(m: dict | None) -> tuple[object, object]:
    return (m["rmse"], m["mae"]) if m else ("not applicable", "not applicable")


def _ratio(m: dict | None, naive: dict | None):
    return m["rmse"] / naive["rmse"] if m and naive and naive["rmse"] else None


def _val_tables(manifest):
    """The validation split's row groups, one at a time."""
    from rnn_spark.serve.common import unit_reader
    reader = unit_reader()
    try:
        for unit in manifest.work_units("val"):
            yield reader.read_row_group(unit)
    finally:
        reader.close()


def _plot(tm, manifest) -> ForecastPlot:
    from rnn_spark.serve.series import dataset_indexes
    try:
        indexes = dataset_indexes(manifest, tm.stats or manifest.stats)
    except UserError:
        indexes = None
    return _series_plot(tm, manifest, indexes) if indexes else _scatter_plot(tm, manifest)


def _score(tm, manifest, table, keys=None):
    from rnn_spark.serve.score import score_table
    return score_table(tm.engine(), table, manifest, "val", batch_size=64, top_k=1, tokens=None,
                       keys=keys)


def _series_plot(tm, manifest, indexes) -> ForecastPlot:
    """The validation windows of the first series (ingest order) that has any."""
    from rnn_spark.serve.series import key_columns
    chosen, kept = None, []  # (file, series) of the rows kept, and those rows
    for t in _val_tables(manifest):
        f, r = t["src_file"].to_numpy(), t["src_row"].to_numpy()
        series = np.zeros(len(r), np.int64)
        for i in np.unique(f).tolist():
            series[f == i] = indexes[i].locate(r[f == i])[0]
        key = f.astype(np.int64) * (1 << 40) + series
        if len(key) and (chosen is None or key.min() < chosen):
            chosen, kept = int(key.min()), []  # a series earlier in the order: start with it
        kept.append(t.filter(pa.array(key == chosen)))
    if chosen is None:
        raise UserError("the validation split has no rows")
    table = pa.concat_tables(kept)
    table = table.take(pa.array(np.argsort(table["src_row"].to_numpy())[-MAX_POINTS:]))
    keys = key_columns(indexes, table["src_file"].to_numpy(), table["src_row"].to_numpy())
    out = _score(tm, manifest, table, keys).to_pydict()
    opts = manifest.data.get("options") or {}
    steps, nt = len(out["pred"][0]) // _targets(manifest), _targets(manifest)
    horizon = int(opts.get("horizon", 1))
    t0 = np.array(out["time_index"], float)
    last = steps - 1
    ahead = horizon if manifest.head_at == "every" else steps  # the last step's lead
    lines = [("actual", t0 + last, [v[last * nt] for v in out["target"]]),
             (f"forecast {ahead} step{'s' if ahead > 1 else ''} ahead", t0 + last,
              [v[last * nt] for v in out["pred"]])]
    if manifest.head_at == "last" and steps > 1:
        lines.insert(1, ("forecast 1 step ahead", t0, [v[0] for v in out["pred"]]))
        lines[0] = ("actual", np.concatenate([t0, t0[-1:] + np.arange(1, steps)]),
                    [v[0] for v in out["target"]] + [out["target"][-1][j * nt]
                                                     for j in range(1, steps)])
    group = out["group"][0]
    column = manifest.stats["targets"]["columns"][0] if manifest.stats else "target"
    return ForecastPlot(
        title=f"{column}" + (f" of series {group}" if group is not None else "")
              + " (validation windows)",
        xlabel="time" if out["time"][0][0] is not None else "row of the series",
        lines=tuple((n, tuple(map(float, x)), tuple(map(float, y))) for n, x, y in lines),
        ticks=_ticks(t0 + last, [v[last] for v in out["time"]]))


def _targets(manifest) -> int:
    return len(manifest.stats["targets"]["columns"]) if manifest.stats else 1


def _ticks(xs: np.ndarray, times: list) -> tuple[tuple[float, str], ...]:
    if not len(xs) or times[0] is None:
        return ()
    at = np.unique(np.linspace(0, len(xs) - 1, min(6, len(xs))).round().astype(int))
    return tuple((float(xs[i]), str(times[i])) for i in at.tolist())


def _scatter_plot(tm, manifest) -> ForecastPlot:
    kept, n = [], 0
    for t in _val_tables(manifest):
        kept.append(t.slice(0, MAX_POINTS - n))
        n += kept[-1].num_rows
        if n >= MAX_POINTS:
            break
    if not n:
        raise UserError("the validation split has no rows")
    out = _score(tm, manifest, pa.concat_tables(kept)).to_pydict()
    return ForecastPlot(title="Forecast vs actual (validation rows, first output)",
                        xlabel="forecast", scatter=(tuple(float(v[0]) for v in out["pred"]),
                                                    tuple(float(v[0]) for v in out["target"])))
