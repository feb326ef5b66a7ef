"""What `rnn-spark submit` runs: the command table and the spark-submit command line.

Another Spark-side command joins by one line here (or :func:`register` from its own module)::

    COMMANDS["evaluate"] = Entry("evaluate.py")          # jobs/evaluate.py

``jobs/<script>`` is spark-submit's main file and gets the command's arguments; a CLI command's
script calls ``rnn_spark.cli.main([<name>, *sys.argv[1:]])`` like jobs/train.py. Without a jobs/
directory (an installed package) such a launcher is generated.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from rnn_spark.errors import UserError

ENV_DIR = "environment"               # the archive's link name in every container
ENV_PYTHON = f"./{ENV_DIR}/bin/python"


@dataclass(frozen=True)
class Entry:
    script: str                        # file name under jobs/
    training: bool = False             # gets the training defaults below
    # (flag, value) pairs the job gets unless its arguments give the flag: under submit the work
    # belongs on the executors, so a command that runs inline by default runs on Spark there
    default_args: tuple[tuple[str, str], ...] = ()


ON_SPARK = (("--runner", "spark"),)
COMMANDS: dict[str, Entry] = {
    "train": Entry("train.py", training=True),
    "ingest": Entry("ingest.py"),
    "evaluate": Entry("evaluate.py", default_args=ON_SPARK),
    "predict": Entry("predict.py", default_args=ON_SPARK),
    "env-check": Entry("envcheck.py"),
}

# Settings for a job that holds its executors for the whole run (a user's --conf wins).
TRAINING_DEFAULTS = {
    "spark.dynamicAllocation.enabled": "false",  # rounds need all W tasks at once
    "spark.task.maxFailures": "4",               # tasks are pure: a retry gives the same bits
}


def register(name: str, script: str, training: bool = False,
             default_args: tuple[tuple[str, str], ...] = ()) -> None:
    COMMANDS[name] = Entry(script, training, default_args)


@dataclass(frozen=True)
class SparkOptions:
    master: str = "yarn"
    deploy_mode: str = "client"
    num_executors: int | None = None
    executor_cores: int | None = None
    executor_memory: str | None = None
    driver_memory: str | None = None
    queue: str | None = None
    name: str | None = None
    conf: tuple[tuple[str, str], ...] = ()
    files: str | None = None
    principal: str | None = None
    keytab: str | None = None


@dataclass(frozen=True)
class Launch:
    """The exact spark-submit invocation: argv and the environment variables it sets or unsets
    (None) on top of the caller's environment."""

    argv: tuple[str, ...]
    env: tuple[tuple[str, str | None], ...] = field(default=())

    def environ(self, base: dict | None = None) -> dict:
        out = dict(os.environ if base is None else base)
        for k, v in self.env:
            if v is None:
                out.pop(k, None)
            else:
                out[k] = v
        return out

    def describe(self) -> str:
        lines = [f"{k}={shlex.quote(v)}" if v is not None else f"unset {k}" for k, v in self.env]
        return "\n".join([*lines, shlex.join(self.argv)])


def parse_conf(items, next_arg: str | None = None) -> tuple[tuple[str, str], ...]:
    """--conf KEY=VALUE items. ``next_arg``: the word after the last one (the COMMAND), which is
    the value when someone wrote spark-submit's ``--conf KEY VALUE`` with a space."""
    out = []
    for i, item in enumerate(items):
        key, sep, value = item.partition("=")
        if (not sep and key.startswith("spark.") and i == len(items) - 1 and next_arg
                and next_arg not in COMMANDS):
            raise UserError(f"--conf {item} {next_arg}: a setting is one word KEY=VALUE; "
                            f"write --conf {item}={next_arg}")
        if not sep or not key.strip() or key != key.strip() or not key.startswith("spark."):
            raise UserError(f"--conf {item!r}: expected KEY=VALUE with a spark.* key, "
                            "e.g. --conf spark.executor.memoryOverhead=1g")
        out.append((key, value))
    return tuple(out)


def check_command(name: str) -> Entry:
    if name not in COMMANDS:
        raise UserError(f"submit: unknown command {name!r}; Spark-side commands: "
                        f"{', '.join(sorted(COMMANDS))} (e.g. rnn-spark submit train --config run.toml)")
    return COMMANDS[name]


def find_spark_submit() -> str:
    """$SPARK_HOME/bin/spark-submit, else the one pip's pyspark ships, else PATH."""
    home = os.environ.get("SPARK_HOME")
    if home:
        exe = Path(home) / "bin" / "spark-submit"
        if not os.access(exe, os.X_OK):
            raise UserError(f"spark-submit not found: SPARK_HOME={home} has no bin/spark-submit; "
                            "point SPARK_HOME at a Spark installation or unset it to use pyspark's")
        return str(exe)
    try:
        import pyspark

        exe = Path(pyspark.__file__).parent / "bin" / "spark-submit"
        if os.access(exe, os.X_OK):
            return str(exe)
    except ModuleNotFoundError:
        pass
    found = shutil.which("spark-submit")
    if not found:
        raise UserError("spark-submit not found: pip install pyspark, or set SPARK_HOME to a "
                        "Spark installation")
    return found


def entry_script(name: str) -> str:
    """jobs/<script> next to the package (a checkout); an installed package gets the same
    launcher written once into the cache."""
    from rnn_spark.submit.pack import cache_dir, package_root

    entry = COMMANDS[name]
    script = package_root().parent / "jobs" / entry.script
    if script.exists():
        return str(script)
    gen = cache_dir().parent / "jobs" / entry.script
    if not gen.exists():
        gen.parent.mkdir(parents=True, exist_ok=True)
        tmp = gen.with_name(f".{gen.name}.tmp{os.getpid()}")
        tmp.write_text(LAUNCHER.format(name=name))
        os.replace(tmp, gen)
    return str(gen)


LAUNCHER = '''"""spark-submit entry point for `rnn-spark {name}` (written by rnn-spark submit)."""
import sys

try:
    from rnn_spark.cli import main
except ModuleNotFoundError as exc:
    print(f"error: {{sys.executable}} cannot import {{exc.name}}: this node has no rnn-spark "
          "environment; launch with `rnn-spark submit {name} ...`, which ships one", file=sys.stderr)
    sys.exit(2)
if __name__ == "__main__":
    sys.exit(main(["{name}", *sys.argv[1:]]))
'''


def _has_flag(args, flag: str) -> bool:
    return any(a == flag or a.startswith(flag + "=") for a in args)


def job_args(command: str, args) -> list[str]:
    """The arguments the job gets: the user's, then the command's submit defaults they lack."""
    args = list(args)
    for flag, value in COMMANDS[command].default_args:
        if not _has_flag(args, flag):
            args += [flag, value]
    return args


def build(opts: SparkOptions, command: str, args, env_uri: str, spark_submit: str,
          jars_uri: str | None = None, forward_env: dict | None = None) -> Launch:
    """spark-submit argv + environment for ``command args`` with the environment at env_uri."""
    entry = COMMANDS[command]
    args = job_args(command, args)
    user = dict(opts.conf)
    conf: dict[str, str] = {}
    if entry.training:
        conf.update(TRAINING_DEFAULTS)
        if opts.executor_cores:
            conf["spark.task.cpus"] = str(opts.executor_cores)  # one task per executor
            if not _has_flag(args, "--task-cpus"):
                args += ["--task-cpus", str(opts.executor_cores)]  # the runner sets it from here
    if jars_uri and "spark.yarn.jars" not in user:
        conf["spark.yarn.archive"] = jars_uri
    conf["spark.executorEnv.PYSPARK_PYTHON"] = ENV_PYTHON
    env: list[tuple[str, str | None]] = [("PYSPARK_PYTHON", ENV_PYTHON)]
    if opts.deploy_mode == "cluster":
        conf["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] = ENV_PYTHON
        conf["spark.yarn.appMasterEnv.PYSPARK_DRIVER_PYTHON"] = ENV_PYTHON
        for k, v in sorted((forward_env or {}).items()):  # the driver runs in a container
            conf[f"spark.yarn.appMasterEnv.{k}"] = v
        env.append(("PYSPARK_DRIVER_PYTHON", None))
        env.append(("PYTHONPATH", None))  # YARN would add this machine's paths to the containers
    else:
        env.append(("PYSPARK_DRIVER_PYTHON", sys.executable))  # the driver runs here
        if opts.principal and opts.keytab:  # and logs in to WebHDFS from the same keytab
            env += [("RNN_SPARK_KERBEROS_PRINCIPAL", opts.principal),
                    ("RNN_SPARK_KERBEROS_KEYTAB", str(Path(opts.keytab).absolute()))]
    conf.update(user)
    argv = [spark_submit, "--master", opts.master, "--deploy-mode", opts.deploy_mode,
            "--name", opts.name or f"rnn-spark-{command}",
            "--archives", f"{env_uri}#{ENV_DIR}"]
    for flag, value in (("--num-executors", opts.num_executors),
                        ("--executor-cores", opts.executor_cores),
                        ("--executor-memory", opts.executor_memory),
                        ("--driver-memory", opts.driver_memory), ("--queue", opts.queue),
                        ("--files", opts.files), ("--principal", opts.principal),
                        ("--keytab", opts.keytab)):
        if value is not None:
            argv += [flag, str(value)]
    for k, v in conf.items():
        argv += ["--conf", f"{k}={v}"]
    argv += [entry_script(command), *args]
    return Launch(tuple(argv), tuple(env))
