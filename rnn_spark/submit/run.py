"""Run spark-submit and report on the YARN application it starts.

The driver's stdout passes through unchanged (train's JSON summary in client mode). spark-submit's
stderr is read line by line: the application id and tracking URL are announced once, Spark's INFO
lines go only to the log file (``--verbose`` shows them), everything else (the driver's progress,
warnings, errors) passes through. In cluster mode spark-submit waits for the application; its final
status is reported with where to find the driver's log.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rnn_spark.submit.command import Launch

APP_ID = re.compile(r"Submitted application (application_\d+_\d+)")
TRACKING = re.compile(r"tracking URL: (\S+)")
FINAL = re.compile(r"final status: (SUCCEEDED|FAILED|KILLED)")
DIAG = re.compile(r"diagnostics: (.+)")
USER_EXIT = re.compile(r"User application exited with (?:status )?(\d+)")
SPARK_LOG = re.compile(r"^\d\d/\d\d/\d\d \d\d:\d\d:\d\d (INFO|DEBUG|TRACE) |"
                       r"^WARNING: Using incubator modules|^Using Spark's default log4j profile|"
                       r"WARN NativeCodeLoader: Unable to load native-hadoop")


@dataclass(frozen=True)
class Outcome:
    returncode: int
    app_id: str | None
    tracking_url: str | None
    final_status: str | None
    diagnostics: str | None
    log_file: Path


def execute(launch: Launch, log_file: Path, deploy_mode: str, verbose: bool = False,
            echo=None, stdout=None) -> Outcome:
    echo = echo or (lambda msg: print(msg, file=sys.stderr, flush=True))
    log_file.parent.mkdir(parents=True, exist_ok=True)
    app = url = final = diag = None
    user_exit = None
    in_report = False
    with open(log_file, "w") as log:
        log.write(launch.describe() + "\n")
        proc = subprocess.Popen(launch.argv, env=launch.environ(), stderr=subprocess.PIPE, stdout=stdout,
                                stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1)
        try:
            for line in proc.stderr:
                log.write(line)
                if app is None and (m := APP_ID.search(line)):
                    app = m.group(1)
                if url is None and (m := TRACKING.search(line)):
                    url = m.group(1)
                    echo(f"rnn-spark submit: YARN application {app}, tracking URL {url}")
                if (m := FINAL.search(line)):
                    final = m.group(1)
                if (m := DIAG.search(line)) and m.group(1).strip() != "N/A":
                    diag = m.group(1).strip()
                if (m := USER_EXIT.search(line)):
                    user_exit = int(m.group(1))
                spark_line = bool(SPARK_LOG.search(line))
                in_report = (spark_line and "Application report" in line) or \
                    (in_report and line.startswith(("\t", " ")))
                if verbose or not (spark_line or in_report or line.startswith("\t")):
                    sys.stderr.write(line)
            rc = proc.wait()
        except KeyboardInterrupt:
            proc.terminate()
            rc = proc.wait()
            echo(f"rnn-spark submit: interrupted; the YARN application {app or '(none yet)'} may "
                 f"still run: yarn application -kill {app or '<id>'}")
            rc = 130
    if rc != 0 and user_exit:
        rc = user_exit  # cluster mode: the driver's own exit code (2 = a user error)
    out = Outcome(rc, app, url, final or ("SUCCEEDED" if rc == 0 else None), diag, log_file)
    _report(out, deploy_mode, echo)
    return out


def _report(o: Outcome, deploy_mode: str, echo) -> None:
    if o.returncode == 0:
        if deploy_mode == "cluster":
            echo(f"rnn-spark submit: application {o.app_id} finished: SUCCEEDED")
        return
    where = (f"driver and executor logs: yarn logs -applicationId {o.app_id}"
             + (f" (or {o.tracking_url})" if o.tracking_url else "")) if o.app_id else \
        "no YARN application was started"
    status = o.final_status or f"exit code {o.returncode}"
    diag = f" ({o.diagnostics[:300]})" if o.diagnostics else ""
    echo(f"rnn-spark submit: application {o.app_id or '-'} {status}{diag}; {where}; "
         f"spark-submit output: {o.log_file}")


def log_path(cache_root: Path, command: str) -> Path:
    """One file per submit: two submits of a command started in the same second (side by side,
    from a script) do not write into one log."""
    return cache_root / "logs" / \
        f"submit-{command}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
