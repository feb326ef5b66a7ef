"""Optional experiment trackers fed from the same records as RUN/metrics.jsonl.

    train.tensorboard_dir  TensorBoard event files (extra: rnn-spark[tensorboard], tensorboardX):
                           a scalar per numeric metrics field ("round/<field>", "val/<field>"),
                           the hyper-parameters with the final metrics, the config and (for
                           language models, when the caller hands down a sampler, as
                           `rnn-spark train` does) a generated text sample as text.
    train.mlflow           an MLflow run (extra: rnn-spark[mlflow]) in train.mlflow_uri
                           (default: a local mlruns/ file store): params = the flattened config,
                           metrics per round, RUN/model as an artifact.

Both are off by default; a missing library is a one-line user error before training starts.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

from rnn_spark.config import Config
from rnn_spark.errors import ConfigError
from rnn_spark.training.rundir import RunDir

SKIP = {"kind", "round", "epoch", "time"}


def numeric_fields(rec: dict) -> dict[str, float]:
    """The fields of a metrics record that are charted: numbers, not bookkeeping."""
    return {k: float(v) for k, v in rec.items()
            if k not in SKIP and isinstance(v, (int, float)) and not isinstance(v, bool)}


def flat_params(cfg: Config) -> dict[str, str]:
    return {f"{sec}.{k}": str(v) for sec, vals in cfg.to_dict().items() for k, v in vals.items()}


def _need(module: str, extra: str, key: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"{key} is set but {module} is not installed; "
                          f"pip install 'rnn-spark[{extra}]' (or unset {key})") from None


class TensorBoardTracker:
    """One SummaryWriter, one event file. The hyper-parameters go through this writer too:
    tensorboardX's add_hparams opens a second writer whose file name is the second-resolution
    timestamp + hostname, so within the same second as ours it reopened (truncated) our file and
    the per-round scalars were lost. close() flushes the writer's queue and closes the file; it is
    called after finish() and on an error, and a second call does nothing."""

    def __init__(self, cfg: Config, logdir: str):
        tbx = _need("tensorboardX", "tensorboard", "train.tensorboard_dir (--tensorboard-dir)")
        self.cfg = cfg
        self.writer = tbx.SummaryWriter(logdir=logdir)
        self.writer.add_text("config", "```\n" + cfg.to_toml() + "\n```", 0)

    def round(self, rec: dict, val: dict | None) -> None:
        g = rec["round"]
        for k, v in numeric_fields(rec).items():
            self.writer.add_scalar(f"round/{k}", v, g)
        for k, v in numeric_fields(val or {}).items():
            self.writer.add_scalar(f"val/{k}", v, g)

    def finish(self, summary: dict, model_dir: str, records: list[dict], sample: str | None) -> None:
        from tensorboardX.summary import hparams

        final = {"hparam/train_loss": summary.get("train_loss") or 0.0,
                 "hparam/best_val_loss": summary.get("best_val_loss") or 0.0}
        hp = {k: v for k, v in flat_params(self.cfg).items() if not k.startswith("spark.conf")}
        step = summary.get("rounds", 0)
        for proto in hparams(hp, final):  # experiment, session start, session end
            self.writer.file_writer.add_summary(proto, step)
        for k, v in final.items():
            self.writer.add_scalar(k, v, step)
        if sample:
            self.writer.add_text("sample", sample, step)
        self.close()

    def close(self) -> None:
        self.writer.close()  # flushes the async queue, joins nothing left behind; idempotent


class MlflowTracker:
    def __init__(self, cfg: Config):
        mlflow = _need("mlflow", "mlflow", "train.mlflow (--mlflow)")
        t = cfg.train
        uri = _tracking_uri(t.mlflow_uri)
        if uri.startswith("file:"):  # MLflow 3 keeps its file store behind this switch
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        self.client = mlflow.tracking.MlflowClient(tracking_uri=uri)
        exp = self.client.get_experiment_by_name(t.mlflow_experiment)
        exp_id = exp.experiment_id if exp else self.client.create_experiment(t.mlflow_experiment)
        self.run_id = self.client.create_run(exp_id, run_name=os.path.basename(t.run_dir.rstrip("/")),
                                             tags={"rnn_spark.run_dir": t.run_dir}).info.run_id
        self.done = False
        from mlflow.entities import Param

        params = [Param(k, v[:500]) for k, v in sorted(flat_params(cfg).items())]
        for i in range(0, len(params), 100):
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def round(self, rec: dict, val: dict | None) -> None:
        import time

        from mlflow.entities import Metric

        ms = int(time.time() * 1000)
        out = [Metric(k, v, ms, rec["round"]) for k, v in numeric_fields(rec).items()]
        out += [Metric(f"val_{k}", v, ms, rec["round"]) for k, v in numeric_fields(val or {}).items()]
        self.client.log_batch(self.run_id, metrics=out)

    def finish(self, summary: dict, model_dir: str, records: list[dict], sample: str | None) -> None:
        _log_model_dir(self.client, self.run_id, model_dir)
        if sample:
            self.client.set_tag(self.run_id, "sample", sample[:5000])
        self.client.set_tag(self.run_id, "stop_reason", summary.get("stop_reason", ""))
        self.client.set_terminated(self.run_id)
        self.done = True

    def close(self) -> None:
        """After an error: the run is marked FAILED, not left RUNNING (the client logs
        synchronously, so every round logged so far is already in the store)."""
        if not self.done:
            self.done = True
            self.client.set_terminated(self.run_id, status="FAILED")


def _log_model_dir(client, run_id: str, model_dir: str) -> None:
    """RUN/model as the artifact model/; a model on HDFS is copied to a local temp dir first
    (MLflow's artifact stores read local files)."""
    import tempfile

    from rnn_spark import fs

    if not fs.is_remote(model_dir):
        client.log_artifacts(run_id, model_dir, artifact_path="model")
        return
    with tempfile.TemporaryDirectory(prefix="rnn-spark-mlflow-") as tmp:
        for uri in fs.walk_files(model_dir):
            rel = os.path.relpath(fs.split(uri)[2], fs.split(model_dir)[2])
            os.makedirs(os.path.dirname(os.path.join(tmp, rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "wb") as f:
                f.write(fs.read_bytes(uri))
        client.log_artifacts(run_id, tmp, artifact_path="model")


def _tensorboard_path(uri: str) -> str:
    """A local path for tensorboardX (file:// URIs become paths)."""
    from rnn_spark import fs
    from rnn_spark.fs import FsError

    try:
        remote = fs.is_remote(uri)
    except FsError as exc:
        raise ConfigError(f"train.tensorboard_dir (--tensorboard-dir): {exc}") from None
    if remote:
        raise ConfigError(f"train.tensorboard_dir (--tensorboard-dir) {uri}: TensorBoard event "
                          f"files are written to a local directory; give a local path (the run "
                          f"directory itself may be on HDFS)")
    return fs.split(uri)[2]


def _tracking_uri(uri: str) -> str:
    """A plain path is a local file store (file:// URI, absolute)."""
    if "://" in uri or uri.startswith("file:"):
        return uri
    return "file://" + os.path.abspath(uri)


class Trackers:
    def __init__(self, items: list, sample: Callable[[], str | None] | None = None):
        self.items = items
        self.sample = sample

    def round(self, rec: dict, val: dict | None) -> None:
        for t in self.items:
            t.round(rec, val)

    def finish(self, summary: dict, model_dir: str, records: list[dict]) -> None:
        if not self.items:
            return
        text = self.sample() if self.sample else None
        for t in self.items:
            t.finish(summary, model_dir, records, text)

    def close(self) -> None:
        """Flush and close every tracker (train()'s end, also after an error; a second call does
        nothing). A tracker that cannot close is a warning: it must not hide the run's own error."""
        for t in self.items:
            try:
                t.close()
            except Exception as e:  # noqa: BLE001 -- a tracker's failure is not the run's
                print(f"rnn-spark: warning: closing {type(t).__name__}: {e}", file=sys.stderr,
                      flush=True)


def check_trackers(cfg: Config) -> None:
    """Refuse, before anything is created, a tracker whose library is missing, or a TensorBoard
    directory tensorboardX cannot write (it would make a local directory named "hdfs:")."""
    if cfg.train.tensorboard_dir:
        _need("tensorboardX", "tensorboard", "train.tensorboard_dir (--tensorboard-dir)")
        _tensorboard_path(cfg.train.tensorboard_dir)
    if cfg.train.mlflow:
        _need("mlflow", "mlflow", "train.mlflow (--mlflow)")


Sampler = Callable[[str, "str | None"], "str | None"]  # (model dir, task) -> a text sample


def open_trackers(cfg: Config, run_dir: RunDir, manifest=None,
                  sample: Sampler | None = None) -> Trackers:
    """The trackers the configuration asks for; ``sample``: how to draw a language model's text
    sample, handed down by the caller (rnn_spark.serve.sample.sample_text: serve sits above
    training, so training never imports it); without it the trackers get no sample."""
    items: list = []
    if cfg.train.tensorboard_dir:
        items.append(TensorBoardTracker(cfg, _tensorboard_path(cfg.train.tensorboard_dir)))
    if cfg.train.mlflow:
        items.append(MlflowTracker(cfg))
    if not items or sample is None:
        return Trackers(items)
    task = getattr(manifest, "task", None)
    return Trackers(items, sample=lambda: sample(run_dir.model, task))
