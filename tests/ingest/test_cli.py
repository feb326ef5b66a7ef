"""`rnn-spark ingest ...`: exit codes, one-line errors, nothing half-written, HDFS unreachable."""

import json
import os
import socket
import subprocess
import sys

import pytest

from rnn_spark.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_text_ok_then_exists_then_overwrite(capsys, text_files, tmp_path):
    out = str(tmp_path / "o")
    code, so, se = _run(capsys, "ingest", "text", str(text_files[0].parent / "*.txt"), "--out",
                        out, "--seq-len", "8", "--row-group-bytes", "2KiB", "--seed", "3")
    assert code == 0, se
    summary = json.loads(so)
    assert summary["task"] == "lm" and summary["splits"]["train"]["sequences"] > 0
    assert "ingest [" in se and "done:" in se  # progress on stderr
    code, so, se = _run(capsys, "ingest", "text", str(text_files[0]), "--out", out,
                        "--seq-len", "8", "-q")
    assert code == 2 and se == f"error: {out}: output already exists; pass --overwrite " \
                               "to replace it\n"  # no Python API wording (#8.9)
    code, so, se = _run(capsys, "ingest", "text", str(text_files[0]), "--out", out,
                        "--seq-len", "8", "-q", "--overwrite")
    assert code == 0 and json.loads(so)["out"] == out and se == ""
    code, so, se = _run(capsys, "ingest", "verify", out)
    assert code == 0 and json.loads(so)["ok"]


@pytest.mark.parametrize("kind,args,msg", [
    ("text", ["--seq-len", "8"], "input not found"),
    ("series", ["--window", "4"], "input not found"),
    ("labelled", [], "input not found"),
])
def test_missing_inputs_one_line(capsys, tmp_path, kind, args, msg):
    code, so, se = _run(capsys, "ingest", kind, str(tmp_path / "none.csv"), "--out",
                        str(tmp_path / "o"), *args)
    assert code == 2 and se.count("\n") == 1 and msg in se and "Traceback" not in se
    assert not (tmp_path / "o").exists()


def test_series_and_labelled_cli(capsys, series_csv, labelled_jsonl, tmp_path):
    code, so, se = _run(capsys, "ingest", "series", str(series_csv), "--out",
                        str(tmp_path / "s"), "--window", "5", "--horizon", "3", "--time-column",
                        "t", "--group-column", "ent", "--target-columns", "a", "-q")
    assert code == 0 and json.loads(so)["output_size"] == 3
    code, so, se = _run(capsys, "ingest", "labelled", str(labelled_jsonl), "--out",
                        str(tmp_path / "l"), "--num-classes", "7", "-q")
    assert code == 0 and json.loads(so)["output_size"] == 7


def test_bad_option_values(capsys, text_files, tmp_path):
    code, so, se = _run(capsys, "ingest", "text", str(text_files[0]), "--out",
                        str(tmp_path / "o"), "--seq-len", "1")
    assert code == 2 and se.startswith("error: seq_len: 1 is too short")
    code, so, se = _run(capsys, "ingest", "text", str(text_files[0]), "--out",
                        str(tmp_path / "o"), "--seq-len", "8", "--row-group-bytes", "lots")
    assert code == 2 and "is not a size" in se


def test_hdfs_unreachable_no_hang(text_files, tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    env = dict(os.environ, RNN_SPARK_WEBHDFS_URL=f"http://127.0.0.1:{port}",
               RNN_SPARK_HDFS_TIMEOUT="2", RNN_SPARK_HDFS_RETRIES="1")
    env.pop("HADOOP_CONF_DIR", None)
    job = os.path.join(os.path.dirname(__file__), "..", "..", "jobs", "ingest.py")
    p = subprocess.run([sys.executable, job, "text",
                        str(text_files[0]), "--out", "hdfs:///tmp/x", "--seq-len", "8"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith("error: hdfs:///tmp/x: ") and "unreachable" in p.stderr
    assert p.stderr.count("\n") == 1
