"""The driver: plan rounds, broadcast, fold results, validate, checkpoint, stop.

Round g of the run is round r = g % R of epoch e = g // R (R rounds per epoch, fixed by the data
size), so everything about a round -- its rows, its seeds -- follows from (config, g). A resumed
run restarts at the round after its newest checkpoint and continues bit for bit as if it had never
stopped.
"""

from __future__ import annotations

import functools
import math
import sys
import time

import numpy as np

from rnn_spark import data, fs
from rnn_spark.config import Config, key_name
from rnn_spark.engine import Model
from rnn_spark.errors import Interrupted, UserError
from rnn_spark.spark_master import check_master
from rnn_spark.training import checkpoint as ckpt
from rnn_spark.training import classmetrics, partial, prepare, resume
from rnn_spark.training import summary as run_summary
from rnn_spark.training.earlystop import EarlyStop
from rnn_spark.training.metrics import MetricsLog
from rnn_spark.training.progress import Progress
from rnn_spark.training.plan import localize, plan_epoch, rounds_in_epoch
from rnn_spark.training.protocol import RunSpec, Shared, Task, eval_tasks, model_config
from rnn_spark.training.roundstats import RoundClock, round_record
from rnn_spark.training.rundir import RunDir
from rnn_spark.training.trackers import check_trackers, open_trackers
from rnn_spark.training.state import DriverState, RoundSums
from rnn_spark.training.worker import eval_task, train_task


# train.reduce = auto: sum on the executors from this many workers x parameters (W x P float32
# weights would otherwise reach the driver each round) and workers (with 2, the tree's one float64
# vector is as big as two float32 ones, and its shuffle stage costs more): benchmarks/scaling.py
TREE_AUTO_PARAMS = 16_000_000
TREE_AUTO_WORKERS = 4


class Trainer:
    def __init__(self, cfg: Config, runner=None, quiet: bool = False, overwrite: bool = False,
                 sample=None):
        # Everything is checked here, before run() creates or deletes anything.
        # ``sample``: (model dir, task) -> a text sample for the trackers (trackers.Sampler)
        self.cfg = cfg.validate()
        self.sample = sample
        self.quiet = quiet
        self.overwrite = overwrite
        t = cfg.train
        if runner is None and t.runner == "spark":  # first: a master that cannot start at all
            check_master(cfg.spark.conf.get("spark.master", cfg.spark.master), cfg.spark.conf,
                         flag=f"{key_name('spark.master')} =")
        self.run_dir = RunDir(t.run_dir)
        self.manifest = data.read_manifest(cfg.data.path)
        if cfg.data.train_split not in self.manifest.splits:
            raise UserError(f"{cfg.data.path}: no split {cfg.data.train_split!r} "
                            f"(has: {', '.join(self.manifest.splits)})")
        self.units = self.manifest.work_units(cfg.data.train_split)
        self.val_units = prepare.val_units(cfg, self.manifest, self._note)
        prepare.check_model(cfg, self.manifest, self.units)
        self.model_cfg = model_config(cfg, self.manifest)
        self.model = Model(self.model_cfg, seed=t.seed)
        rows = [u.rows for u in self.units]
        if sum(rows) == 0:
            raise UserError(f"{cfg.data.path}: the {cfg.data.train_split!r} split has no rows")
        prepare.check_rows(cfg, sum(rows), self._warn)
        self.rows_per_round = t.steps_per_round * t.batch_size
        self.rounds_per_epoch = rounds_in_epoch(sum(rows), t.workers, self.rows_per_round)
        total = t.epochs * self.rounds_per_epoch
        self.total_rounds = min(total, t.max_rounds) if t.max_rounds else total
        self.spec = RunSpec.build(cfg, self.manifest, self.model_cfg, self.total_rounds)
        self.state = DriverState(self.model.flat, self.model_cfg.dtype, self.spec.averager,
                                 t.workers, t.average_optimizer_state)
        self.lr_at = self.spec.schedule.build()  # for the metrics; workers build their own
        self.spec.optimizer.build(1, self.model_cfg.dtype)  # its options, checked here
        self.total_steps = cfg.optim.total_steps or self.total_rounds * t.steps_per_round
        self.fingerprint = resume.dataset_fingerprint(self.manifest)
        check_trackers(cfg)
        self.runner = runner
        self._plans: dict[int, list] = {}
        self.best_val = float("inf")
        self.early = EarlyStop(t.early_stop_patience, t.early_stop_min_delta,
                               target=t.stop_at_val_loss)
        self.last_split = None   # the RoundSplit of the newest run_round
        self.progress: Progress | None = None
        self._resident_asked = False
        # where the run stands, for the line a Ctrl-C prints (resume.interrupted_line)
        self.created = False  # the run directory was made (or replaced) for this run
        self.round_now: int | None = None
        self.last_checkpoint: int | None = None
        self.rounds_done = False

    # -- one round -----------------------------------------------------------------------------
    def tasks_for_round(self, g: int) -> list[Task]:
        t = self.cfg.train
        epoch, r = divmod(g, self.rounds_per_epoch)
        if epoch not in self._plans:
            self._plans = {epoch: plan_epoch([u.rows for u in self.units], t.workers,
                                             self.rows_per_round, t.seed, epoch)}
        plan = self._plans[epoch][r]
        out = []
        for w, slices in enumerate(plan):
            units, local = localize(self.units, slices)
            out.append(Task(epoch=epoch, round=g, worker=w, units=units, slices=local,
                            step0=g * t.steps_per_round))
        return out

    def run_round(self, g: int) -> RoundSums:
        """Round g: the tasks run from the current broadcast weights; their results are folded
        into the driver state. Returns the round's sums (loss, counts, each task's seconds); where
        the time went is in self.last_split (training/roundstats.py)."""
        self.open_runner()
        self._ask_resident()
        _label(self.runner, f"round {g + 1}/{self.total_rounds}: train")
        clock = RoundClock()
        shared = Shared(self.spec, self.state.bcast, self.state.opt_state, self.state.opt_steps)
        sums = RoundSums(self.state.bcast.astype(np.float64), self.cfg.train.workers)
        policy = self.cfg.train.on_nonfinite
        if self.reduce_on_executors():
            self._sum_on_executors(g, shared, sums, clock)
        else:
            for res in self.runner.map(train_task, self.tasks_for_round(g), shared):
                clock.note(res)
                t0 = time.perf_counter()
                sums.add(prepare.check_result(res, g, policy, self.run_dir, self._warn,
                                              shared.weights))
                clock.fold_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        self.state.fold(sums)
        clock.fold_s += time.perf_counter() - t0
        self.last_split = clock.split(float(getattr(self.runner, "last_broadcast_s", 0.0)))
        return sums

    def _sum_on_executors(self, g: int, shared: Shared, sums: RoundSums, clock: RoundClock) -> None:
        """The round's sums made by the runner's tree_reduce (training/partial.py): the driver gets
        one PartialSum -- the sums plus every task's stats -- and applies train.on_nonfinite."""
        policy = self.cfg.train.on_nonfinite
        root = self.runner.tree_reduce(functools.partial(partial.task_partial, policy),
                                       self.tasks_for_round(g), shared, partial.combine)
        t0 = time.perf_counter()
        for stats in root.stats:
            clock.note(stats)
            if stats.nonfinite:
                prepare.report_nonfinite(stats.worker, stats.nonfinite, g, policy, self.run_dir,
                                         self._warn)
        sums.add_partial(root)
        clock.fold_s += time.perf_counter() - t0

    def reduce_on_executors(self) -> bool:
        """train.reduce: tree, or auto on Spark when W x P is large (runners without tree_reduce
        always fold on the driver). The bits are the same either way (training/partial.py)."""
        mode, t = self.cfg.train.reduce, self.cfg.train
        if mode == "driver" or not hasattr(self.open_runner(), "tree_reduce"):
            return False
        if mode == "tree":
            return True
        return (t.runner == "spark" and t.workers >= TREE_AUTO_WORKERS
                and t.workers * self.model.num_params >= TREE_AUTO_PARAMS)

    def _ask_resident(self) -> None:
        """Once per run: rounds folded on the driver run on W resident tasks when the runner
        has them (runners/resident.py; spark.resident = off: a Spark job per round)."""
        if self._resident_asked:
            return
        self._resident_asked = True
        ask = getattr(self.runner, "resident_for", None)
        if ask is not None and self.cfg.spark.resident == "auto" and not self.reduce_on_executors():
            ask(self.cfg.train.workers)

    def open_runner(self):
        if self.runner is None:
            from rnn_spark.runners import make_runner

            c = self.cfg
            self.runner = make_runner(c.train.runner, c.train.workers, c.spark,
                                      result_bytes=self.model.flat.nbytes * 4)
        return self.runner

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> dict:
        cfg, t = self.cfg, self.cfg.train
        start = self._prepare_run_dir()
        if start >= self.total_rounds or self.early.reason:
            return self._finished(start)
        metrics = MetricsLog(self.run_dir.metrics, keep_existing=start > 0,
                             flush_seconds=t.metrics_flush_seconds)
        metrics.truncate_after(start - 1)
        self.open_runner()
        trackers = open_trackers(cfg, self.run_dir, self.manifest, self.sample)
        self.outputs = [metrics, trackers]  # closed by close(), also after an error
        self._say(f"training {self.model_cfg.cell} {self.model_cfg.hidden_sizes} "
                  f"({self.model.num_params:,} parameters) on {len(self.units)} work units, "
                  f"{t.workers} workers x {t.steps_per_round} minibatches x {t.batch_size} rows per round, "
                  f"{self.rounds_per_epoch} rounds/epoch, rounds {start}..{self.total_rounds - 1}")
        if self.spec.loss.class_weights:
            self._say(f"class weights ({t.class_weights}): "
                      + ", ".join(f"{w:.4g}" for w in self.spec.loss.class_weights))
        t0 = time.time()
        last_loss = float("nan")
        self.progress = Progress(self.total_rounds, start, t.progress_seconds, quiet=self.quiet)
        try:
            end = self._rounds(start, metrics, trackers)
        finally:
            self.progress.close()
        self.rounds_done = True
        last_loss = (metrics.last("round") or {}).get("loss", last_loss)
        metrics.flush()
        model_dir, exported = self._export()
        summary = run_summary.summary(end, last_loss, metrics.last("val"), time.time() - t0,
                                      model_dir, exported, self.best_val,
                                      self.early.reason or "completed")
        run_summary.write(self.run_dir, summary)  # printed again if the finished run is resumed
        trackers.finish(summary, model_dir, metrics.records)
        self._say(f"done: {end - start} rounds in {summary['seconds']:.1f}s, "
                  f"final train loss {last_loss:.4f}; model ({exported}) written to {model_dir}")
        return summary

    def _rounds(self, start: int, metrics: MetricsLog, trackers) -> int:
        """Rounds start.. until the last one or an early stop; returns the rounds done in total."""
        cfg, t = self.cfg, self.cfg.train
        for g in range(start, self.total_rounds):
            self.round_now = g
            rt = time.perf_counter()
            sums = self.run_round(g)
            secs = time.perf_counter() - rt
            last_loss = sums.loss_sum / max(sums.n, 1)
            if not np.isfinite(last_loss) or not np.all(np.isfinite(self.state.bcast)):
                raise UserError(f"round {g}: the loss diverged ({last_loss}); lower --lr "
                                f"(optim.lr, now {cfg.optim.lr}) or set --clip-norm")
            last = g == self.total_rounds - 1
            val, val_s = None, 0.0
            if self.val_units and ((t.validate_every and (g + 1) % t.validate_every == 0) or last):
                vt = time.perf_counter()
                val = self._validate(g)
                val_s = time.perf_counter() - vt
            rec = round_record(g, g // self.rounds_per_epoch, sums, self.last_split, secs,
                               float(self.lr_at((g + 1) * t.steps_per_round - 1)),
                               float(getattr(self.state, "update_norm", float("nan"))),
                               float(np.linalg.norm(self.state.global_w)), val_s)
            at = metrics.add(rec)
            for r in filter(None, (val, self._stop_record(g, val))):
                metrics.add(r)
            self.progress.round(rec, val)  # with its own validation, not the one before
            if (t.checkpoint_every and (g + 1) % t.checkpoint_every == 0) or last or self.early.reason:
                metrics.flush()  # every record up to round g is written before checkpoint g exists
                ct = time.perf_counter()
                self._checkpoint(g)
                rec["checkpoint_s"] = time.perf_counter() - ct
                metrics.amend(at)
            trackers.round(rec, val)
            if self.early.reason:
                self.progress.write(f"rnn-spark: {self.early.reason}")
                return g + 1
        return self.total_rounds

    def _stop_record(self, g: int, val: dict | None) -> dict | None:
        if val is None or not self.early.active or not self.early.update(val["loss"], g):
            return None
        return {"kind": "stop", "round": g, "reason": self.early.reason, "best_val_loss": self.best_val}

    def _export(self) -> tuple[str, str]:
        """RUN/model: the best validation weights (train.export = best, when a validation ran),
        else the last round's. Returns (model dir, "best" or "last")."""
        weights, exported = self.state.global_w, "last"
        if self.cfg.train.export == "best" and np.isfinite(self.best_val) and fs.exists(self.run_dir.best):
            weights, exported = ckpt.load_checkpoint(self.run_dir.best).weights["global"], "best"
        self.model.set_flat(weights.astype(self.model.flat.dtype))
        return ckpt.write_model(self.run_dir, self.model.state_dict(), self._model_json()), exported

    def close(self) -> None:
        for out in getattr(self, "outputs", ()):  # also after an error: HDFS metrics, trackers
            out.close()
        if self.runner is not None:
            self.runner.close()

    # -- pieces --------------------------------------------------------------------------------
    def _prepare_run_dir(self) -> int:
        """The round to start at; the run directory exists (marked as ours) when it is below
        total_rounds. A finished run's directory is left exactly as it was."""
        replace = prepare.check_run_dir(self.run_dir, self.cfg, self.overwrite)
        point = resume.ResumePoint(None) if replace else resume.resume_point(
            self.run_dir, self.cfg, self.manifest, self.total_steps)
        for line in point.notes:
            self._note(line)
        for line in point.warnings:
            self._warn(line)
        self.resumed = point.checkpoint
        if point.checkpoint is not None:
            self.early.load_meta(point.checkpoint.meta)
        if point.start >= self.total_rounds or self.early.reason:
            return point.start
        self.open_runner()  # a runner that cannot start (bad Spark master) leaves nothing behind
        prepare.create_run_dir(self.run_dir, replace)
        self.created = True
        if point.checkpoint is not None:
            ck = point.checkpoint
            self.last_checkpoint = ck.round
            self.state.restore(ck.weights, ck.state, int(ck.meta.get("opt_steps", 0)))
            best = ck.meta.get("best_val")  # null: no validation yet
            self.best_val = float("inf") if best is None else float(best)
            self._say(f"resuming from {ck.uri} at round {point.start}")
        fs.write_text(self.run_dir.config, self.cfg.to_toml(), overwrite=True)
        return point.start

    def _finished(self, start: int) -> dict:
        """A resumed run that has nothing left to do: say so, change nothing (the final model is
        written only if the run stopped between its last checkpoint and the model)."""
        metrics = MetricsLog(self.run_dir.metrics, quiet=True, keep_existing=True)
        model_dir = self.run_dir.model
        if self.early.reason:
            self._note(f"already finished: {self.early.reason}; a run that stopped early stays "
                       f"stopped: to train further, start a new --run-dir")
        else:
            self._note(f"already finished at round {start - 1}; raise --epochs or --max-rounds to "
                       f"train further")
        ck = self.resumed
        best = ck.meta.get("best_val")
        self.best_val = float("inf") if best is None else float(best)
        if not fs.exists(model_dir):  # the model the run would have written (train.export)
            self.state.restore(ck.weights, ck.state, int(ck.meta.get("opt_steps", 0)))
            model_dir, exported = self._export()
            self._note(f"model written to {model_dir} ({exported}, from {ck.uri})")
        saved = run_summary.read(self.run_dir, start)
        if saved is not None:
            return saved
        exported = "best" if self.cfg.train.export == "best" and best is not None \
            and fs.exists(self.run_dir.best) else "last"
        return run_summary.rebuilt(start, metrics.records, model_dir, exported, best,
                                   self.early.reason or "completed")

    def _validate(self, g: int) -> dict:
        """The validation loss of the stored weights after round g (a `kind: "val"` record);
        a new best is kept in RUN/best."""
        _label(self.runner, f"round {g + 1}/{self.total_rounds}: validate")
        w = self.cfg.train.workers
        tasks = eval_tasks(self.val_units, w)
        # the stored weights, as exported -- not bmuf's look-ahead broadcast
        shared = Shared(self.spec, self.state.global_w.astype(self.state.dtype))
        loss_sum, count, correct, conf, scores, labels, chars = 0.0, 0, 0, None, [], [], 0.0
        for res in self.runner.map(eval_task, tasks, shared):
            loss_sum += res.loss_sum
            count += res.count
            correct += res.correct
            if res.confusion is not None:
                conf = res.confusion if conf is None else conf + res.confusion
            if res.scores is not None:
                scores.append(res.scores)
                labels.append(res.labels)
            chars += res.chars
        rec = {"kind": "val", "round": g, "loss": loss_sum / max(count, 1), "count": count,
               "time": time.time()}
        if self.manifest.task in ("lm", "classify"):
            rec["accuracy"] = correct / max(count, 1)
        rec.update(classmetrics.val_fields(conf, scores, labels))
        if chars > 0:  # lm: the same text's bits per character, whatever the vocabulary
            rec["bits_per_char"] = loss_sum / chars / math.log(2)
        if rec["loss"] < self.best_val:
            self.best_val = rec["loss"]
            ckpt.write_checkpoint_dir(self.run_dir.best,
                                      self.state.weights_arrays(), self.state.state_arrays(),
                                      self._meta(g), self._model_json())
        return rec

    def _checkpoint(self, g: int) -> None:
        ckpt.write_checkpoint(self.run_dir, g, self.state.weights_arrays(),
                              self.state.state_arrays(), self._meta(g), self.cfg.train.keep_checkpoints,
                              self._model_json())
        self.last_checkpoint = g

    def _meta(self, g: int) -> dict:
        best = self.best_val if np.isfinite(self.best_val) else None  # meta.json is strict JSON
        return {"round": g, "opt_steps": self.state.opt_steps, "best_val": best,
                "config": self.cfg.to_dict(), "model": self.model_cfg.to_dict(),
                "rounds_per_epoch": self.rounds_per_epoch, "total_steps": self.total_steps,
                "dataset_fingerprint": self.fingerprint, **self.early.to_meta()}

    def _model_json(self) -> dict:
        out = {"model": self.model_cfg.to_dict(), "format": "pytorch-state-dict-npz",
               "dataset": self.cfg.data.path, "task": self.manifest.task}
        for name in ("vocab", "stats"):
            value = getattr(self.manifest, name, None)
            if value is not None:
                out[name] = value
        if self.manifest.steps_info is not None:  # a table dataset's step layout
            out["steps"] = self.manifest.steps_info
        return out

    def _say(self, msg: str) -> None:
        if not self.quiet:
            self._note(msg)

    def _note(self, msg: str) -> None:  # a decision the user should know of, even with --quiet
        progress = getattr(self, "progress", None)  # None until run() starts
        if progress is not None and progress.bar is not None:
            progress.write(f"rnn-spark: {msg}")  # above the live line, not through it
        else:
            print(f"rnn-spark: {msg}", file=sys.stderr, flush=True)

    def _warn(self, msg: str) -> None:
        self._note(f"warning: {msg}")


def _label(runner, text: str) -> None:
    """Name the runner's next job (Spark: job group + description, seen in the Spark UI)."""
    describe = getattr(runner, "describe", None)
    if describe is not None:
        describe(text)


def train(cfg: Config, runner=None, quiet: bool = False, overwrite: bool = False,
          sample=None) -> dict:
    """Train (see Trainer); ``sample``: the trackers' text sampler, e.g.
    rnn_spark.serve.sample.sample_text (training sits below serve and does not import it)."""
    trainer = Trainer(cfg, runner=runner, quiet=quiet, overwrite=overwrite, sample=sample)
    try:
        return trainer.run()
    except KeyboardInterrupt:  # Ctrl-C: say where the run stands and how to continue it
        raise Interrupted(resume.interrupted_line(
            cfg.train.run_dir, trainer.total_rounds, trainer.round_now, trainer.last_checkpoint,
            trainer.rounds_done, trainer.created)) from None
    finally:
        trainer.close()
