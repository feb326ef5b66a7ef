"""Progress on stderr: one live tqdm line on a terminal (a pty), plain lines at most every
train.progress_seconds through a pipe -- never one per round."""

import fcntl
import io
import json
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from rnn_spark.training import progress

ROOT = Path(__file__).resolve().parents[2]


def train_cmd(dataset, run_dir, *extra):
    return [sys.executable, "-c", "import sys; from rnn_spark.cli import main; sys.exit(main())", "train", "--data", dataset, "--run-dir",
            str(run_dir), "--runner", "inline", "--hidden-sizes", "16", "--embedding-size", "8",
            "--k1", "16", "--batch-size", "8", "--steps-per-round", "1", "--max-rounds", "12",
            "--validate-every", "4", *extra]


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "150"}


def test_pipe_gets_a_plain_line_not_one_per_round(char_dataset, tmp_path):
    p = subprocess.run(train_cmd(char_dataset, tmp_path / "run", "--progress-seconds", "3600"),
                       capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stderr
    lines = [x for x in p.stderr.splitlines() if x.startswith("rnn-spark: round ")]
    assert len(lines) == 1, p.stderr  # only the closing line: rounds are fast, the interval long
    assert lines[0].startswith("rnn-spark: round 12/12  epoch ")
    assert "loss " in lines[0] and "val " in lines[0] and "tok/s" in lines[0] and "ETA " in lines[0]
    assert "\r" not in p.stderr


def test_pipe_with_short_interval_prints_periodic_lines(char_dataset, tmp_path):
    p = subprocess.run(train_cmd(char_dataset, tmp_path / "run", "--progress-seconds", "0.000001"),
                       capture_output=True, text=True, env=env(), timeout=600)
    lines = [x for x in p.stderr.splitlines() if x.startswith("rnn-spark: round ")]
    assert len(lines) >= 12


def test_the_val_shown_is_the_rounds_own(char_dataset, tmp_path):
    """A round that validates shows its own validation loss, not the one before (#21.5)."""
    run = tmp_path / "run"
    p = subprocess.run(train_cmd(char_dataset, run, "--progress-seconds", "0.000001"),
                       capture_output=True, text=True, env=env(), timeout=600)
    assert p.returncode == 0, p.stderr
    vals = {r["round"] + 1: r["loss"] for r in map(json.loads, (run / "metrics.jsonl").open())
            if r["kind"] == "val"}
    assert sorted(vals) == [4, 8, 12]
    shown = {int(x.split()[2].split("/")[0]): x.split("  val ")[1].split()[0]
             for x in p.stderr.splitlines() if x.startswith("rnn-spark: round ")}
    for rnd, loss in vals.items():
        assert shown[rnd] == f"{loss:.4f}", (rnd, p.stderr)


def _rec(g, seconds=1.0):
    return {"round": g, "epoch": 0, "loss": 1.0, "tokens_per_s": 1.0, "seconds": seconds}


def test_eta_leaves_out_the_first_rounds_start_up(monkeypatch):
    """The first round of a run carries Spark's start-up: the ETA follows the rounds after it
    (#21.5: "ETA 08:55" for a 2:30 run)."""
    now = [1000.0]
    monkeypatch.setattr(progress.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    p = progress.Progress(total=10, start=0, every_s=0.0, stream=out, tty=False)
    now[0] += 100.0                   # round 1: 100 s, mostly start-up
    p.round(_rec(0, 100.0))
    assert out.getvalue().splitlines()[-1].endswith("ETA ?")
    for g in (1, 2):                  # then 2 s a round
        now[0] += 2.0
        p.round(_rec(g, 2.0))
    assert out.getvalue().splitlines()[-1].endswith("ETA 00:14")   # 7 rounds x 2 s
    p.close()


@pytest.mark.parametrize("rows, cols", [(30, 140), (0, 0)])
def test_terminal_gets_one_live_line(char_dataset, tmp_path, rows, cols):
    """Also on a pseudo-terminal that reports 0x0 (some CI runners, `script`): tqdm took its
    height, -1, and drew nothing at all (#21.5)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    proc = subprocess.Popen(train_cmd(char_dataset, tmp_path / "run"), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=slave, env=env())
    os.close(slave)
    chunks = []
    deadline = time.time() + 600
    while time.time() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=60)
    os.close(master)
    out = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, out
    assert "\r" in out                       # redrawn in place
    assert "12/12" in out and "round" in out and "tok/s" in out and "val " in out
    assert "ETA " in out
    assert "rnn-spark: round " not in out    # no plain lines on a terminal
