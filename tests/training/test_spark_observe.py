"""Spark as a user sees it: quiet start-up by default (conf/log4j2.properties), Spark's logging
back with --spark-log-level, and every job named by round and phase in Spark's own status store
(what the Spark UI and the YARN history server show). Each case starts its own driver JVM, in a
subprocess, so the log configuration it is launched with is the one under test."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r"""
import json, sys
from rnn_spark import config
from rnn_spark.training.loop import Trainer
cfg = config.load([], {"data.path": sys.argv[1], "train.run_dir": sys.argv[2], "train.runner": "spark",
    "spark.master": "local[2]", "model.hidden_sizes": [16], "model.embedding_size": 8, "train.k1": 16,
    "train.batch_size": 8, "train.steps_per_round": 1, "train.max_rounds": 3, "train.validate_every": 2,
    "spark.log_level": sys.argv[3], "spark.resident": sys.argv[4]})
trainer = Trainer(cfg, quiet=True)
try:
    trainer.run()
    sc = trainer.runner.sc
    jobs = []
    listed = sc._jsc.sc().statusStore().jobsList(None)  # a Scala Seq
    for i in range(listed.size()):
        j = listed.apply(i)
        desc, group = j.description(), j.jobGroup()
        jobs.append([j.jobId(), desc.get() if desc.isDefined() else None,
                     group.get() if group.isDefined() else None])
    groups = {g: list(sc.statusTracker().getJobIdsForGroup(g)) for _, _, g in jobs if g}
    print(json.dumps({"jobs": sorted(jobs), "groups": groups}))
finally:
    trainer.close()
"""


def run(char_dataset, tmp_path, level="", resident="off"):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", SCRIPT, char_dataset, str(tmp_path / "run"), level,
                           resident],
                          capture_output=True, text=True, env=env, timeout=900)


def test_quiet_start_and_every_job_named(char_dataset, tmp_path):
    p = run(char_dataset, tmp_path)
    assert p.returncode == 0, p.stderr
    for noise in ("NativeCodeLoader", "native-hadoop", "resolves to a loopback", "log4j profile",
                  "Setting default log level", " INFO "):
        assert noise not in p.stderr, p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    descs = [d for _, d, _ in got["jobs"]]
    assert descs == ["round 1/3: train", "round 2/3: train", "round 2/3: validate",
                     "round 3/3: train", "round 3/3: validate"], descs
    for job_id, desc, group in got["jobs"]:
        assert group == f"rnn-spark: {desc}" and job_id in got["groups"][group]
    # the time split as Spark gives it (inline has no broadcast): the phases of a round, one after
    # another on one machine's clock, fit in its wall time
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    rounds = [r for r in map(json.loads, lines) if r["kind"] == "round"]
    assert [r["round"] for r in rounds] == [0, 1, 2]
    for r in rounds:
        assert r["broadcast_s"] > 0 and r["task_max_s"] > 0 and r["read_max_s"] > 0
        assert r["launch_s"] >= 0 and r["transfer_s"] >= 0 and r["straggler"] >= 1.0
        phases = r["broadcast_s"] + r["launch_s"] + r["task_max_s"] + r["transfer_s"] + r["fold_s"]
        assert phases <= r["seconds"] + 1e-3, r


def test_resident_tasks_are_one_named_job(char_dataset, tmp_path):
    """spark.resident = auto (the default): the rounds and validations run on resident tasks, one
    Spark job named for the round it started at; no broadcast, and the phases still fit a round."""
    p = run(char_dataset, tmp_path, resident="auto")
    assert p.returncode == 0, p.stderr
    assert "resident tasks stopped" not in p.stderr, p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert [[d, g] for _, d, g in got["jobs"]] == [
        ["resident tasks from round 1/3: train", "rnn-spark: resident tasks from round 1/3: train"]]
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    assert [r["round"] for r in recs if r["kind"] == "val"] == [1, 2]
    for r in (r for r in recs if r["kind"] == "round"):
        assert r["broadcast_s"] == 0 and r["task_max_s"] > 0 and r["read_max_s"] > 0
        phases = r["launch_s"] + r["task_max_s"] + r["transfer_s"] + r["fold_s"]
        assert phases <= r["seconds"] + 1e-3, r


def test_spark_log_level_brings_spark_logging_back(char_dataset, tmp_path):
    p = run(char_dataset, tmp_path, "INFO")
    assert p.returncode == 0, p.stderr
    # Spark's own logging configuration, not ours: its start-up lines are back
    assert "Using Spark's default log4j profile" in p.stderr, p.stderr
