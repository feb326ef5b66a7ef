"""The Spark runner: one SparkContext for local[N], standalone and YARN (a SparkSession over it
only when asked for: training needs none).

A round is one Spark job of W tasks (one partition per task). The shared payload (start weights,
optimizer state) goes out as a broadcast that is destroyed after the round. Results come back in
task order: either collected at once (small models) or, to keep the driver at O(P) memory, cached on
the executors and streamed partition by partition in index order with toLocalIterator -- a fixed
order, unlike treeAggregate's arrival order, so sums over tasks are bitwise reproducible.
``tree_reduce`` instead adds the results up on the executors in the same fixed order: one shuffle
stage per level of aligned blocks of TREE_FAN_IN parts (partition = block index, parts sorted by
index inside it), so the driver receives one part whatever the number of tasks.

A UserError raised in a task (a damaged shard, say) reaches the driver as that same error, one line,
not as Spark's Java/Python stack, and is not retried (runners/task_errors.py); the Spark error
text goes to this module's logger at DEBUG.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from typing import Any, Callable, Iterator

from rnn_spark.errors import UserError
from rnn_spark.runners import cds
from rnn_spark.runners.base import BLAS_ENV, TREE_FAN_IN, limit_blas_threads
from rnn_spark.runners.faults import maybe_hold
from rnn_spark.spark_master import DEFAULT_MASTER, check_master, under_spark_submit
from rnn_spark.runners.resident import ResidentLost, ResidentPool
from rnn_spark.runners.task_errors import TaskError, capture, find_in_text

log = logging.getLogger(__name__)

# BLAS settings that pick kernels (and so the rounding of every GEMM); YARN containers do not
# inherit the submitter's environment, so these are passed on when set.
BLAS_PIN_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_VERBOSE", "MKL_CBWR",
                "MKL_ENABLE_INSTRUCTIONS")

# Collect results at once when W * (result size) stays under this; stream them otherwise.
COLLECT_LIMIT_BYTES = 256 * 1024 * 1024


def _run_partition(fn, bc, blas_threads: int, items):
    limit_blas_threads(blas_threads)
    shared = bc.value
    for task in items:
        maybe_hold(task)  # fault tests only (off unless RNN_SPARK_FAULT_DIR is set)
        try:
            result = fn(task, shared)
        except UserError as exc:
            result = capture(exc)  # returned, or raised again marked if a retry may help
        _maybe_fail_first_attempt()
        yield result


def _keyed_leaves(fn, bc, blas_threads: int, fan_in: int, index: int, items):
    """tree_reduce's first stage: task `index`'s part, keyed (block, (index, part))."""
    for part in _run_partition(fn, bc, blas_threads, items):
        yield index // fan_in, (index, part)


def _combine_block(combine, fan_in: int, items):
    """One later stage's task: the parts of one block (one partition), sorted by their index --
    the shuffle delivers them in any order -- and combined; a task's error is passed on instead."""
    items = sorted((kv[1] for kv in items), key=lambda ip: ip[0])
    if not items:
        return
    block = items[0][0] // fan_in
    errors = [p for _, p in items if isinstance(p, TaskError)]
    yield block // fan_in, (block, errors[0] if errors else combine([p for _, p in items]))


def _block_of(key: int) -> int:
    return key


def _maybe_fail_first_attempt() -> None:
    """Fault injection for the retry test: RNN_SPARK_FAIL_FIRST_ATTEMPT=1 makes the first attempt
    of partition 0 of every job fail after it has done its work, so Spark retries it."""
    if os.environ.get("RNN_SPARK_FAIL_FIRST_ATTEMPT") != "1":
        return
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is not None and ctx.partitionId() == 0 and ctx.attemptNumber() == 0:
        raise RuntimeError("injected failure (RNN_SPARK_FAIL_FIRST_ATTEMPT=1)")


def package_zip(dest_dir: str) -> str:
    """Zip the installed rnn_spark package (sources only) so executors can import it."""
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent  # the rnn_spark package (no import: no cycle)
    out = Path(dest_dir) / "rnn_spark.zip"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(root.rglob("*.py")):
            z.write(path, Path("rnn_spark") / path.relative_to(root))
    return str(out)


def ship_package(sc) -> None:
    """Executors on a cluster (YARN, standalone) get this driver's rnn_spark; they need numpy,
    pyarrow and hdfs in their own Python (see docs/guides/yarn.md)."""
    import tempfile

    if getattr(sc, "_rnn_spark_shipped", False):  # once per context (a second fit, say)
        return
    sc.addPyFile(package_zip(tempfile.mkdtemp(prefix="rnn-spark-")))
    sc._rnn_spark_shipped = True


def log4j2_conf() -> str | None:
    """The quiet log4j2 configuration, shipped inside the package (conf/log4j2.properties links to
    it), so a wheel install is as quiet as a checkout; None if it is missing."""
    from pathlib import Path

    path = Path(__file__).resolve().parent / "log4j2.properties"
    return str(path) if path.is_file() else None


def _quiet_logging(sconf, log_level: str) -> None:
    """No log level asked for: the driver JVM logs through conf/log4j2.properties (warnings and
    errors, no start-up noise). Set in the conf the JVM is launched with, so it holds from the
    first line; spark-submit's own --driver-java-options are kept."""
    path = log4j2_conf()
    if log_level or path is None:
        return
    key = "spark.driver.extraJavaOptions"
    have = sconf.get(key, "")
    if "log4j2.configurationFile" not in have:
        sconf.set(key, f"{have} -Dlog4j2.configurationFile=file:{path}".strip())


def _fast_start(sconf, master: str, user_conf: dict) -> None:
    """Local Spark: the driver JVM (which is also the executor) compiles with C1 only. It only
    schedules and moves bytes, so the C2 compiler's start-up CPU buys nothing: SparkSession
    creation measured 16-17 s -> 8-10 s on a loaded 2-core machine (docs/benchmarks/startup.md),
    and it maps its classes from a class-data-sharing archive once one is made (runners/cds.py).
    A user who sets spark.driver.extraJavaOptions decides the JVM flags alone."""
    key = "spark.driver.extraJavaOptions"
    if not master.startswith("local") or key in (user_conf or {}):
        return
    have = sconf.get(key, "")
    if "TieredStopAtLevel" not in have:
        have = f"{have} -XX:TieredStopAtLevel=1".strip()
    if "SharedArchiveFile" not in have:  # its classes from a CDS archive (runners/cds.py)
        have = f"{have} {cds.java_options()}".strip()
    sconf.set(key, have)


DIRECT_RESULT_BYTES = 64 << 20


def _direct_results(sconf) -> None:
    """Task results up to 64 MiB go straight back with the task's status message. Spark's 1 MiB
    default sends a round's result (end weights and Adam moments: 4.3 MB for 361k parameters)
    through the block manager instead, a second fetch per task: 0.068 -> 0.053 s of transfer per
    round on the race of benchmarks/time_to_loss.py. Spark caps it at spark.rpc.message.maxSize
    (128 MiB) itself; a user's own setting wins."""
    sconf.setIfMissing("spark.task.maxDirectResultSize", str(DIRECT_RESULT_BYTES))


class SparkRunner:
    def __init__(self, master: str = DEFAULT_MASTER, app_name: str = "rnn-spark", task_cpus: int = 1,
                 conf: dict | None = None, result_bytes_hint: int = 0, quiet: bool = True,
                 log_level: str = ""):
        # before a JVM is started: one line, not its stack (under spark-submit: its master)
        check_master((conf or {}).get("spark.master", master), conf)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from rnn_spark.fs.hdfs_config import export_env

        hdfs_env = export_env()  # executors resolve hdfs:// URIs the way this driver does
        os.environ.update(hdfs_env)
        for var in BLAS_ENV:  # python workers of local[N] inherit the driver's environment
            os.environ[var] = str(task_cpus)
        from pyspark import SparkConf, SparkContext

        submitted = under_spark_submit()
        if submitted:
            # Launched by spark-submit: its JVM is up; attach so SparkConf sees --master & co.
            SparkContext._ensure_initialized()
        sconf = SparkConf()
        # spark-submit's --master wins; otherwise ours, even when an earlier session of this
        # process left its own spark.master in the JVM's system properties
        if not (submitted and sconf.contains("spark.master")):
            sconf.setMaster(master)
        sconf.setIfMissing("spark.app.name", app_name)
        sconf.set("spark.task.cpus", str(task_cpus))
        sconf.setIfMissing("spark.ui.showConsoleProgress", "false")
        sconf.setIfMissing("spark.python.worker.reuse", "true")
        _direct_results(sconf)
        for var in BLAS_ENV:
            sconf.setIfMissing(f"spark.executorEnv.{var}", str(task_cpus))
        for var in BLAS_PIN_ENV:  # same BLAS kernels on executors as here: same bits
            if os.environ.get(var):
                sconf.setIfMissing(f"spark.executorEnv.{var}", os.environ[var])
        for var, value in hdfs_env.items():
            if var != "HADOOP_CONF_DIR":  # a driver-side path; cluster nodes have their own
                sconf.setIfMissing(f"spark.executorEnv.{var}", value)
        for key, value in (conf or {}).items():
            sconf.set(key, str(value))
        if not submitted:
            _fast_start(sconf, sconf.get("spark.master", master), conf or {})
        _quiet_logging(sconf, log_level)
        # A SparkContext alone: training runs RDD jobs only, and Spark SQL's start (about 2 s of
        # the launch) waits until someone asks for `.spark` (ingest, predict). A context this
        # process already runs (a pyspark.ml Estimator's DataFrame's) is used, and left running.
        self._owns = SparkContext._active_spark_context is None
        self.sc = SparkContext.getOrCreate(sconf)
        self._sconf, self._spark = sconf, None
        if log_level:
            self.sc.setLogLevel(log_level)
        elif quiet:
            self.sc.setLogLevel("WARN")
        if not self.sc.master.startswith("local"):
            ship_package(self.sc)
        self.task_cpus = task_cpus
        self.result_bytes_hint = result_bytes_hint
        self.workers_hint = self.sc.defaultParallelism
        self.last_broadcast_s = 0.0   # the newest round's broadcast, for the metrics
        self.tree_fan_in = TREE_FAN_IN  # tree_reduce's blocks (the bits do not depend on it)
        self._label: str | None = None
        self._resident_count = 0   # > 0: map() runs on a resident pool of this many tasks
        self._pool: ResidentPool | None = None

    @property
    def spark(self):
        """The SparkSession over this runner's context, made on first use."""
        if self._spark is None:
            from pyspark.sql import SparkSession

            self._spark = SparkSession.builder.config(conf=self._sconf).getOrCreate()
        return self._spark

    def describe(self, text: str) -> None:
        """The job group and description of the next job(s), e.g. "round 120/1400: train":
        what the Spark UI and the YARN history server show for it."""
        self._label = text

    def resident_for(self, count: int) -> None:
        """Later map() calls run on `count` resident tasks (runners/resident.py) -- capped at
        the slots Spark is known to have -- started on first use; trouble makes them a job per
        call again, for the rest of this runner's life. A training loop calls this; one-off jobs
        (predict, evaluate) do not: one job is cheaper than a pool for them."""
        from rnn_spark.runners.resident import lacking_tls, usable

        why = usable(self.sc)
        if why:
            log.info("resident tasks off: %s", why)
            return
        why = lacking_tls(self.sc)
        if why:
            log.warning("rnn-spark: resident tasks off: %s", why)
            return
        self._resident_count = max(1, min(count, self._slots()))

    def _slots(self) -> int:
        conf = self.sc.getConf()
        instances = conf.get("spark.executor.instances", None)
        if self.sc.master.startswith("local") or not instances:
            cores = self.sc.defaultParallelism
        else:
            cores = int(instances) * int(conf.get("spark.executor.cores", "1"))
        return max(1, cores // self.task_cpus)

    def map(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any) -> Iterator[Any]:
        if self._resident_count and tasks:
            results = self._on_pool(fn, tasks, shared)
            if results is not None:
                return self._checked(r for r in results)
        return self._checked(self._run(fn, tasks, shared))

    def _on_pool(self, fn, tasks: list, shared: Any) -> list | None:
        """The call's results from the resident pool, or None (the pool is gone for good: the
        caller runs the call as a job, which gives the same bits)."""
        try:
            if self._pool is None:
                self._pool = ResidentPool(self.sc, self._resident_count, self.task_cpus,
                                          self._label or "")
            results = self._pool.map(fn, tasks, shared)
            self.last_broadcast_s = 0.0  # nothing is broadcast
            return results
        except ResidentLost as exc:
            log.warning("rnn-spark: resident tasks stopped (%s); running a Spark job per round "
                        "from here", exc)
            self._stop_pool(cancel=True)
            return None

    def _stop_pool(self, cancel: bool = False) -> None:
        self._resident_count = 0
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close(cancel)

    def tree_reduce(self, fn: Callable[[Any, Any], Any], tasks: list, shared: Any,
                    combine: Callable[[list], Any]) -> Any:
        """runners/base.py: Runner.tree_reduce. One Spark job: the W tasks, then one shuffle stage
        per level of blocks (partition = block index, parts sorted by index inside), until one
        part is left, which is all the driver receives. Stops a resident pool (it holds the
        slots the stages need)."""
        self._stop_pool()
        (root,) = self._checked(self._run_tree(fn, tasks, shared, combine))
        return root

    def _checked(self, results: Iterator[Any]) -> Iterator[Any]:
        """The results, with a task's user error raised here as that error, one line."""
        try:
            with contextlib.closing(results):
                for result in results:
                    if isinstance(result, TaskError):
                        raise result.rebuild()
                    yield result
        except UserError:
            raise
        except Exception as exc:  # Py4JJavaError & co: is a task's user error inside?
            err = find_in_text(str(exc))
            if err is None:
                raise
            log.debug("Spark job failed with a user error in a task", exc_info=True)
            raise err from None

    @contextlib.contextmanager
    def _broadcast(self, shared: Any):
        """The round's job label and its broadcast, destroyed when the round's job is done."""
        import time

        if self._label:
            self.sc.setJobGroup(f"rnn-spark: {self._label}", self._label)
        t0 = time.perf_counter()
        bc = self.sc.broadcast(shared)
        self.last_broadcast_s = time.perf_counter() - t0
        try:
            yield bc
        finally:
            bc.destroy()

    def _run(self, fn, tasks: list, shared: Any) -> Iterator[Any]:
        with self._broadcast(shared) as bc:
            rdd = self.sc.parallelize(tasks, len(tasks)).mapPartitions(
                functools.partial(_run_partition, fn, bc, self.task_cpus))
            if len(tasks) * self.result_bytes_hint <= COLLECT_LIMIT_BYTES:
                yield from rdd.collect()
                return
            from pyspark import StorageLevel

            rdd.persist(StorageLevel.MEMORY_AND_DISK)
            try:
                rdd.count()  # all tasks run in parallel; results stay on the executors
                yield from rdd.toLocalIterator()  # partition 0, 1, ...: a fixed order
            finally:
                rdd.unpersist(blocking=False)

    def _run_tree(self, fn, tasks: list, shared: Any, combine) -> Iterator[Any]:
        fan_in = self.tree_fan_in
        with self._broadcast(shared) as bc:
            rdd = self.sc.parallelize(tasks, len(tasks)).mapPartitionsWithIndex(
                functools.partial(_keyed_leaves, fn, bc, self.task_cpus, fan_in))
            parts = len(tasks)
            while parts > 1:
                parts = -(-parts // fan_in)
                rdd = rdd.partitionBy(parts, _block_of).mapPartitions(
                    functools.partial(_combine_block, combine, fan_in))
            for _, (_, part) in rdd.collect():
                yield part

    def close(self) -> None:
        self._stop_pool()
        if self._owns:
            (self._spark or self.sc).stop()


def get_spark_session(master: str = DEFAULT_MASTER, app_name: str = "rnn-spark",
                      conf: dict | None = None):
    """The SparkSession set up exactly as training's (the active one under spark-submit), for
    other Spark jobs such as ingest: HDFS settings passed to executors, BLAS pinned, this
    rnn_spark shipped to cluster executors. ``conf`` entries override the defaults."""
    return SparkRunner(master, app_name, conf=conf).spark
