"""The report's charts: matplotlib (Agg) figures rendered to SVG text (inlined in the page) and PNG
bytes (written next to it). Every per-round line carries an SVG id (``gid``) and is drawn without
path simplification, so the page holds exactly one vertex per round (the browser test counts them).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from rnn_spark.training.roundstats import PHASES


@dataclass(frozen=True)
class Chart:
    name: str      # file stem: loss, throughput, time, straggler, lr, accuracy, forecast
    title: str
    svg: str       # <svg ...> element, no XML prologue
    png: bytes


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"path.simplify": False, "svg.hashsalt": "rnn-spark",
                         "svg.fonttype": "none", "figure.dpi": 100})
    return plt


def _render(fig, name: str, title: str) -> Chart:
    plt = _plt()
    svg_io, png_io = io.StringIO(), io.BytesIO()
    fig.savefig(svg_io, format="svg", bbox_inches="tight", metadata={"Date": None})
    fig.savefig(png_io, format="png", bbox_inches="tight")
    plt.close(fig)
    svg = svg_io.getvalue()
    svg = svg[svg.index("<svg"):]
    # ids unique per chart: several SVGs share one page
    svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: f'url(#{name}-{m.group(1)})', svg)
    svg = re.sub(r'xlink:href="#([^"]+)"', lambda m: f'xlink:href="#{name}-{m.group(1)}"', svg)
    return Chart(name, title, svg, png_io.getvalue())


def _axes(title: str, ylabel: str):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    ax.set_title(title, fontsize=11)
    ax.set_xlabel("round")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return fig, ax


def loss_chart(rounds: list[dict], vals: list[dict], log_scale: bool) -> Chart:
    fig, ax = _axes("Loss", "loss (log)" if log_scale else "loss")
    ax.plot([r["round"] for r in rounds], [r["loss"] for r in rounds], lw=1.2, label="train",
            gid="train-loss")
    if vals:
        ax.plot([v["round"] for v in vals], [v["loss"] for v in vals], "o-", ms=4, lw=1.2,
                label="validation", gid="val-loss")
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    return _render(fig, "loss", "Train and validation loss")


def line_chart(rounds: list[dict], field: str, name: str, title: str, ylabel: str) -> Chart:
    fig, ax = _axes(title, ylabel)
    ax.plot([r["round"] for r in rounds], [r.get(field) or 0.0 for r in rounds], lw=1.2,
            gid=f"{name}-line")
    return _render(fig, name, title)


def time_chart(rounds: list[dict]) -> Chart:
    """Stacked seconds per phase; "other" is the rest of the round's wall time."""
    fig, ax = _axes("Where each round's time goes", "seconds")
    xs = [r["round"] for r in rounds]
    layers = {p: [r.get(p) or 0.0 for r in rounds] for p in PHASES}
    totals = [r["seconds"] + (r.get("validate_s") or 0.0) + (r.get("checkpoint_s") or 0.0)
              for r in rounds]
    layers["other"] = [max(0.0, t - sum(layers[p][i] for p in PHASES)) for i, t in enumerate(totals)]
    ax.stackplot(xs, *layers.values(), labels=[k.removesuffix("_s") for k in layers], alpha=0.85)
    ax.legend(loc="upper left", fontsize=7, ncol=4)
    return _render(fig, "time", "Per-round time split (stacked)")


def accuracy_chart(vals: list[dict]) -> Chart:
    """Validation accuracy per validation (classifiers; language models: the next token)."""
    fig, ax = _axes("Validation accuracy", "accuracy")
    ax.plot([v["round"] for v in vals], [v["accuracy"] for v in vals], "o-", ms=4, lw=1.2,
            gid="accuracy-line")
    return _render(fig, "accuracy", "Validation accuracy")


@dataclass(frozen=True)
class ForecastPlot:
    """What the forecast chart draws: ``lines`` over one series' time (label, x, y: the first is
    the actual values), or, without a series to follow, ``scatter`` of (forecast, actual)."""

    title: str
    xlabel: str
    lines: tuple[tuple[str, tuple[float, ...], tuple[float, ...]], ...] = ()
    ticks: tuple[tuple[float, str], ...] = ()
    scatter: tuple[tuple[float, ...], tuple[float, ...]] | None = None
    ylabel: str = field(default="value (original units)")


def forecast_chart(p: ForecastPlot) -> Chart:
    fig, ax = _axes(p.title, p.ylabel)
    ax.set_xlabel(p.xlabel)
    if p.scatter is not None:
        pred, actual = p.scatter
        lo, hi = min(min(pred), min(actual)), max(max(pred), max(actual))
        ax.plot([lo, hi], [lo, hi], color="#999", lw=1, label="forecast = actual")
        ax.plot(pred, actual, "o", ms=3, alpha=0.6, gid="forecast-points", label="windows")
        ax.set_xlabel("forecast (original units)")
        ax.set_ylabel("actual (original units)")
    for i, (label, xs, ys) in enumerate(p.lines):
        ax.plot(xs, ys, lw=1.6 if i == 0 else 1.2, color="black" if i == 0 else None,
                ls="-" if i < 2 else "--", label=label,
                gid="forecast-actual" if i == 0 else f"forecast-step-{i}")
    if p.ticks:
        ax.set_xticks([t for t, _ in p.ticks], [s for _, s in p.ticks], fontsize=7, rotation=20)
    ax.legend(fontsize=8)
    return _render(fig, "forecast", "Forecast vs actual")


CHART_NAMES = ("loss", "throughput", "time", "straggler", "lr", "accuracy",
               "forecast")  # report-<name>.png


def all_charts(rounds: list[dict], vals: list[dict], log_scale: bool) -> list[Chart]:
    if not rounds:
        return []
    charts = [loss_chart(rounds, vals, log_scale),
              line_chart(rounds, "tokens_per_s", "throughput", "Throughput", "tokens / s"),
              time_chart(rounds),
              line_chart(rounds, "straggler", "straggler", "Straggler ratio (slowest / mean task)",
                         "ratio"),
              line_chart(rounds, "lr", "lr", "Learning rate", "lr")]
    accurate = [v for v in vals if isinstance(v.get("accuracy"), (int, float))]
    if accurate:
        charts.append(accuracy_chart(accurate))
    return charts
