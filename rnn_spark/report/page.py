"""The report page: everything inline (CSS, SVG charts), no script, no network.

Reads RUN/metrics.jsonl, RUN/config.toml, the dataset's manifest (when reachable) and, by task:

* every run: summary, loss, throughput, per-round time split, straggler ratio, learning rate,
  dataset, configuration;
* classifiers and language models: the validation accuracy curve;
* language models: a generated sample from the exported model (rnn_spark/serve/sample.py);
* forecasters (regress): RMSE and MAE on the validation split in original units beside the naive
  forecasts', and forecast vs actual (report/forecast.py).
"""

from __future__ import annotations

import html
import json
import math
import time

from rnn_spark import fs
from rnn_spark.errors import DataError, UserError
from rnn_spark.fs.guard import check_not_inside
from rnn_spark.fs.kinds import RUN
from rnn_spark.report.charts import CHART_NAMES, Chart, all_charts
from rnn_spark.report.forecast import forecast_report
from rnn_spark.serve.sample import sample_text
from rnn_spark.training.rundir import RunDir

CSS = """body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;color:#222}
h1{font-size:22px}h2{font-size:17px;border-bottom:1px solid #ddd;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px}.chart svg{max-width:100%;height:auto}
.note{color:#777}"""


def _read_records(run: RunDir) -> list[dict]:
    if not fs.exists(run.metrics):
        raise UserError(f"{run.uri}: no metrics.jsonl; is this a run directory written by "
                        f"`rnn-spark train`? (pass the run directory, e.g. runs/lm)")
    out = []
    for n, line in enumerate(fs.read_text(run.metrics).splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            rec, why = None, f"not JSON ({exc.msg})"
        else:
            why = _bad_record(rec)
        if why:
            raise DataError(f"{run.metrics}: line {n} is {why}; it is written by `rnn-spark "
                            f"train`: restore it, or remove that line")
        out.append(rec)
    return out


def _bad_record(rec) -> str | None:
    """Why a metrics line cannot be charted (None when it can)."""
    if not isinstance(rec, dict) or not isinstance(rec.get("kind"), str):
        return "not a metrics record (a JSON object with a \"kind\")"
    if rec["kind"] in ("round", "val"):
        if not isinstance(rec.get("round"), int) or isinstance(rec.get("round"), bool):
            return f"a {rec['kind']!r} record without an integer \"round\""
        if rec.get("loss") is not None and not isinstance(rec["loss"], (int, float)):
            return f"a {rec['kind']!r} record whose \"loss\" is not a number"
    return None


def _check_out(out: str, pngs: list[str]) -> None:
    """--out may replace an earlier report (and its PNGs), never anything else: a directory, or a
    file that is not an rnn-spark report, is refused before anything is written; so is a page
    inside a directory rnn-spark made (a dataset, a model, an export), except a run's own page,
    RUN/report.html."""
    own_page = out == RunDir(fs.parent(out)).report
    check_not_inside(out, "report", parent_may_be=RUN if own_page else None)
    if fs.exists(out):
        if fs.isdir(out):
            raise UserError(f"--out {out} is a directory; give the page's file name, e.g. "
                            f"{fs.join(out, 'report.html')}")
        head = fs.read_bytes(out)[:400].decode("utf-8", "replace")
        if not head.startswith("<!doctype html>") or "<title>rnn-spark report: " not in head:
            raise UserError(f"--out {out} exists and is not an rnn-spark report; it is left as "
                            f"it is: choose another path")
        return
    for p in pngs:  # an earlier report's PNG (its page removed) may go; anything else stays
        if fs.exists(p) and (fs.isdir(p) or not fs.read_bytes(p).startswith(b"\x89PNG")):
            raise UserError(f"--out {out}: {p} already exists and is not a chart's PNG copy (they "
                            f"go beside the page); choose another path")


def _num(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else str(v)
    return html.escape(str(v)) if v is not None else "-"


def _table(rows: list[tuple[str, object]]) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{_num(v)}</td></tr>"
                               for k, v in rows) + "</table>"


def _dataset(cfg_text: str) -> tuple[list[tuple[str, object]], object]:
    """Rows about the dataset, and its manifest (None when it cannot be read now)."""
    from rnn_spark.config import tomllib

    try:
        path = tomllib.loads(cfg_text).get("data", {}).get("path", "")
    except tomllib.TOMLDecodeError:
        return [("dataset", "config.toml unreadable")], None
    try:
        from rnn_spark import data

        m = data.read_manifest(path)
    except (UserError, OSError) as exc:
        return [("path", path), ("manifest", f"not readable now: {exc}")], None
    rows = [("path", path), ("task", m.task), ("kind", m.kind), ("vocabulary size", m.vocab_size),
            ("input size", m.input_size), ("output size", m.output_size)]
    for split in m.splits:
        c = m.counts(split)
        rows.append((f"{split}: sequences / tokens", f"{c['sequences']:,} / {c['tokens']:,}"))
    return rows, m


def _forecast(run: RunDir, manifest, season: int) -> tuple[list[str], list[Chart]]:
    """A forecaster's section (HTML parts) and its chart."""
    fr = forecast_report(run.uri, manifest, season)
    parts = ["<h2>Forecast accuracy</h2>"]
    if fr.rows:
        parts.append(f"<p class='note'>The run's model on the validation split ({fr.windows:,} "
                     "windows), errors in the data's original units.</p>")
        parts.append("<table id='forecast-metrics'><tr><th>forecast</th><th>RMSE</th>"
                     "<th>MAE</th><th>RMSE / naive RMSE</th></tr>" + "".join(
                         "<tr>" + "".join(f"<td>{_num(v)}</td>" for v in row) + "</tr>"
                         for row in fr.rows) + "</table>")
    if fr.note:
        parts.append(f"<p class='note' id='forecast-note'>{html.escape(fr.note)}</p>")
    if fr.chart is None:
        return parts, []
    return parts + [_chart_html(fr.chart)], [fr.chart]


def _chart_html(c: Chart) -> str:
    return f"<h2>{html.escape(c.title)}</h2><div class='chart' id='chart-{c.name}'>{c.svg}</div>"


def build_report(run_uri: str, log_scale: bool = False, season: int = 0) -> tuple[str, list[Chart]]:
    """The page and its charts; ``season``: a forecaster's season in steps, for the seasonal
    naive forecast beside the model's errors (0: none)."""
    run = RunDir(run_uri)
    recs = _read_records(run)
    rounds = [r for r in recs if r.get("kind") == "round"]
    vals = [r for r in recs if r.get("kind") == "val"]
    stop = next((r for r in recs if r.get("kind") == "stop"), None)
    cfg_text = fs.read_text(run.config) if fs.exists(run.config) else ""
    ds_rows, manifest = _dataset(cfg_text)
    task = manifest.task if manifest is not None else None
    if season and task != "regress":
        raise UserError(f"--season {season}: the seasonal naive forecast is for forecasting runs; "
                        f"this run's task is {task or 'unknown (its dataset is not readable)'}: "
                        "drop --season")
    charts = all_charts(rounds, vals, log_scale)
    best = min(vals, key=lambda v: v["loss"]) if vals else None
    last = rounds[-1] if rounds else {}
    summary = [("rounds", len(rounds)), ("final train loss", last.get("loss")),
               ("final validation loss", vals[-1]["loss"] if vals else None),
               ("best validation loss", f"{best['loss']:.6g} (round {best['round']})" if best else None),
               ("stopped", stop["reason"] if stop else "ran to its last round"),
               ("mean tokens/s", _mean(rounds, "tokens_per_s")),
               ("mean round seconds", _mean(rounds, "seconds")),
               ("mean straggler ratio", _mean(rounds, "straggler"))]
    for key, name in (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("roc_auc", "ROC-AUC"),
                      ("pr_auc", "PR-AUC")):
        if best and key in best:
            summary.append((f"{name} at best", best[key]))
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>rnn-spark report: "
             f"{html.escape(run.uri)}</title><style>{CSS}</style></head><body>",
             f"<h1>rnn-spark run <code>{html.escape(run.uri)}</code></h1>",
             f"<p class='note'>written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>",
             "<h2>Summary</h2>", _table(summary)]
    parts += [_chart_html(c) for c in charts]
    if task == "regress":
        more_parts, more_charts = _forecast(run, manifest, season)
        parts += more_parts
        charts += more_charts
    sample = sample_text(run.model, task)
    if sample:
        parts.append(f"<h2>Generated sample</h2><pre id='sample'>{html.escape(sample)}</pre>")
    parts += ["<h2>Dataset</h2>", _table(ds_rows),
              "<h2>Configuration</h2>", f"<pre id='config'>{html.escape(cfg_text)}</pre>",
              "</body></html>"]
    return "\n".join(parts), charts


def _mean(rounds: list[dict], field: str):
    xs = [r[field] for r in rounds if isinstance(r.get(field), (int, float))]
    return sum(xs) / len(xs) if xs else None


def write_report(run_uri: str, out: str | None = None, log_scale: bool = False,
                 season: int = 0) -> str:
    """Write the page (default RUN/report.html) and PNG copies of its charts beside it
    (report-<chart>.png); local or hdfs://. Returns the page's URI."""
    out = out or RunDir(run_uri).report
    stem = fs.basename(out).rsplit(".", 1)[0]
    pngs = {name: fs.join(fs.parent(out), f"{stem}-{name}.png") for name in CHART_NAMES}
    _check_out(out, list(pngs.values()))
    page, charts = build_report(run_uri, log_scale, season)
    for c in charts:
        fs.write_bytes(pngs[c.name], c.png, overwrite=True)
    fs.write_text(out, page, overwrite=True)
    return out
