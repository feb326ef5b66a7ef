"""`rnn-spark report RUN`: one self-contained HTML page about a run (report/page.py), its charts
drawn with matplotlib as inline SVG plus PNG copies (report/charts.py)."""

from rnn_spark.report.page import build_report, write_report

__all__ = ["build_report", "write_report"]
