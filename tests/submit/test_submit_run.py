"""How submit reads spark-submit's output (a script prints what spark-submit prints; the real
thing runs in tests/e2e/test_submit.py and test_train_yarn.py)."""

import sys

from rnn_spark.submit.command import Launch
from rnn_spark.submit import run
from rnn_spark.submit.run import execute

CLUSTER_FAILURE = r"""
import sys
print('{"summary": 1}')
e = sys.stderr
e.write("WARNING: Using incubator modules: jdk.incubator.vector\n")
e.write("26/11/30 11:04:15 INFO YarnClientImpl: Submitted application application_17_0042\n")
e.write("26/11/30 11:04:16 INFO Client: Application report for application_17_0042 (state: ACCEPTED)\n")
e.write("26/11/30 11:04:16 INFO Client: \n\t client token: N/A\n\t diagnostics: N/A\n")
e.write("\t tracking URL: http://rm:8088/proxy/application_17_0042/\n")
e.write("rnn-spark: [train] epoch 0 round     0  loss 4.5\n")
e.write("26/11/30 11:05:00 INFO Client: Application report for application_17_0042 (state: FINISHED)\n")
e.write("\t diagnostics: User application exited with 2\n\t final status: FAILED\n")
e.write("26/11/30 11:05:00 WARN Something: visible\n")
sys.exit(1)
"""


def test_cluster_failure_reports_status_logs_and_the_drivers_exit_code(tmp_path, capsys):
    script = tmp_path / "fake_spark_submit.py"
    script.write_text(CLUSTER_FAILURE)
    said = []
    out = execute(Launch((sys.executable, str(script))), tmp_path / "logs" / "s.log", "cluster",
                  echo=said.append)
    stdout, stderr = capsys.readouterr()
    assert out.returncode == 2  # the driver's own exit code: a user error
    assert (out.app_id, out.final_status) == ("application_17_0042", "FAILED")
    assert out.tracking_url == "http://rm:8088/proxy/application_17_0042/"
    assert said[0] == ("rnn-spark submit: YARN application application_17_0042, tracking URL "
                       "http://rm:8088/proxy/application_17_0042/")
    assert "yarn logs -applicationId application_17_0042" in said[-1] and "FAILED" in said[-1]
    assert "User application exited with 2" in said[-1]
    assert stdout == ""  # the child's stdout is not captured here: it went to fd 1 directly
    assert "[train] epoch 0" in stderr and "WARN Something: visible" in stderr
    assert "INFO" not in stderr and "incubator" not in stderr and "tracking URL" not in stderr
    assert "Submitted application application_17_0042" in out.log_file.read_text()


def test_success_in_client_mode_says_nothing_more(tmp_path, capsys):
    script = tmp_path / "ok.py"
    script.write_text("import sys; sys.stderr.write('26/11/30 11:04:15 INFO YarnClientImpl: "
                      "Submitted application application_1_1\\n')\n")
    said = []
    out = execute(Launch((sys.executable, str(script))), tmp_path / "s.log", "client",
                  echo=said.append)
    assert out.returncode == 0 and out.app_id == "application_1_1" and said == []


def test_two_submits_in_the_same_second_get_their_own_logs(tmp_path, monkeypatch):
    """Each log was named by command and second only: submits run side by side wrote into one
    file, and a failure's 'spark-submit output: LOG' showed the other's output."""
    monkeypatch.setattr(run.time, "strftime", lambda fmt: "20261207-234615")
    monkeypatch.setattr(run.os, "getpid", lambda: 101)
    first = run.log_path(tmp_path, "train")
    monkeypatch.setattr(run.os, "getpid", lambda: 102)
    assert run.log_path(tmp_path, "train") != first
