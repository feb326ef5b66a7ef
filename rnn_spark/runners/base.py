"""What a runner does: run one function over a round's task specs and hand back the results in
task order, with one shared payload (start weights, optimizer state) made available to every task.

Runners carry no training logic: the inline runner is the reference (same process, debuggable);
the Spark runner must give bitwise the same results (the determinism contract).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Iterator, Protocol

BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

# tree_reduce: how many consecutive parts one combine adds (a power of two, see tree_reduce)
TREE_FAN_IN = 8


class Runner(Protocol):
    workers_hint: int

    def map(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any) -> Iterator[Any]:
        """Yield fn(task, shared) for every task, in task order."""

    def tree_reduce(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any,
                    combine: Callable[[list], Any]) -> Any:
        """combine over fn(task, shared) of every task, grouped by task index in aligned blocks:
        parts [i F, (i+1) F) are combined, then blocks of F of those, ... down to one (F =
        TREE_FAN_IN). When `combine` is itself a pairwise tree over its list, the result does not
        depend on F (nor on where the combines run): the caller's bits are fixed."""

    def close(self) -> None: ...


def combine_blocks(parts: list, combine: Callable[[list], Any], fan_in: int = TREE_FAN_IN) -> Any:
    """tree_reduce's grouping, in this process: the reference the Spark stages follow."""
    if not parts:
        raise ValueError("tree_reduce: no tasks")
    while len(parts) > 1:
        parts = [combine(parts[i:i + fan_in]) for i in range(0, len(parts), fan_in)]
    return parts[0]


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
