"""The inline runner: every task of a round runs in this process, one after another.

No Spark, no serialisation: the reference the Spark runner is checked against, and the easiest
way to debug a worker (breakpoints work).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from rnn_spark.runners.base import combine_blocks, limit_blas_threads
from rnn_spark.runners.faults import maybe_hold


class InlineRunner:
    def __init__(self, workers_hint: int = 1, blas_threads: int = 1):
        self.workers_hint = workers_hint
        limit_blas_threads(blas_threads)

    def map(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any) -> Iterator[Any]:
        for task in tasks:
            maybe_hold(task)  # fault tests only (off unless RNN_SPARK_FAULT_DIR is set)
            yield fn(task, shared)

    def tree_reduce(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any,
                    combine: Callable[[list], Any]) -> Any:
        return combine_blocks(list(self.map(fn, tasks, shared)), combine)

    def close(self) -> None:
        pass
