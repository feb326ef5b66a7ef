"""Progress on stderr: one live tqdm line on a terminal (a pty), plain lines at most every
train.progress_seconds through a pipe -- never one per round."""

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

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


def test_terminal_gets_one_live_line(char_dataset, tmp_path):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 140, 0, 0))  # rows, cols
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
    assert "rnn-spark: round " not in out    # no plain lines on a terminal
