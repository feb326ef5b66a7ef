"""Runners: how one round's tasks run (runners/base.py says what a runner does).

``make_runner(name, workers, spark)`` picks one by the ``train.runner`` name: ``inline`` (this
process, one task after another: the reference) or ``spark`` (one SparkContext: local[N],
standalone, YARN). Spark is imported only when asked for.
"""

from __future__ import annotations

from rnn_spark.errors import ConfigError

RUNNERS = ("spark", "inline")


def make_runner(name: str, workers: int, spark, result_bytes: int = 0):
    """A runner for `workers` tasks per round. `spark`: the [spark] settings (master, app_name,
    task_cpus, conf; the inline runner uses task_cpus only). `result_bytes`: the size of one task's
    result, which decides whether the Spark runner collects results at once or streams them."""
    if name == "inline":
        from rnn_spark.runners.inline import InlineRunner

        return InlineRunner(workers, spark.task_cpus)
    if name == "spark":
        from rnn_spark.runners.spark import SparkRunner

        return SparkRunner(spark.master, spark.app_name, spark.task_cpus, spark.conf,
                           result_bytes_hint=result_bytes,
                           log_level=getattr(spark, "log_level", ""))
    raise ConfigError(f"train.runner: {name!r} is not one of {', '.join(RUNNERS)}")
