"""What a runner does: run one function over a round's task specs and hand back the results in
task order, with one shared payload (start weights, optimizer state) made available to every task.

Runners carry no training logic: the inline runner is the reference (same process, debuggable);
the Spark runner must give bitwise the same results (the determinism contract).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Protocol

BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


class Runner(Protocol):
    workers_hint: int

    def map(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any) -> Iterator[Any]:
        """Yield fn(task, shared) for every task, in task order."""

    def close(self) -> None: ...


def limit_blas_threads(n: int) -> None:
    """One BLAS thread per task core (docs/ARCHITECTURE.md: rules of the house). Env vars cover
    BLAS libraries loaded later; threadpoolctl (if installed) also resizes ones already loaded."""
    for var in BLAS_ENV:
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=n)
