"""`rnn-spark submit` / `pack-env` without a cluster: bad inputs (one line, exit 2, nothing
created), the exact spark-submit command of --dry-run, the pinned requirement set, the archive."""

import os
import shlex
import sys
import tarfile
from pathlib import Path

import pytest

from rnn_spark.cli import main
from rnn_spark.submit import command, pack

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(d))
    return d


def _run(capsys, *argv):
    try:
        code = main(list(map(str, argv)))
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def _one_line_error(code, err, *needles):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    for n in needles:
        assert n in err, err


@pytest.mark.parametrize("argv,needles", [
    (["submit", "frobnicate"], ["unknown command 'frobnicate'", "train"]),
    (["submit", "--conf", "novalue", "train"], ["--conf 'novalue'", "KEY=VALUE"]),
    (["submit", "--conf", "=x", "train"], ["--conf '=x'"]),
    (["submit", "--conf", "executor.memory=4g", "train"], ["spark.* key"]),
    (["submit", "--master", "local[2]", "train"], ["--master local[2]", "YARN"]),
    (["submit", "--deploy-mode", "sideways", "train"], ["'sideways' is not one of", "--deploy-mode"]),
    (["submit", "--staging-dir", "/tmp/envs", "train"], ["--staging-dir /tmp/envs"]),
    (["submit", "--principal", "me@REALM", "train"], ["--principal and --keytab"]),
    (["submit", "--principal", "me@R", "--keytab", "/no/such.keytab", "train"], ["/no/such.keytab"]),
    (["submit", "--env-archive", "/no/such/env.tar.gz", "train"], ["no such file"]),
    (["submit", "--env-archive", "env.whl", "train"], ["not an archive"]),
    (["pack-env", "--out", "/proc/env.tar.gz"], ["cannot write in /proc"]),
    (["pack-env", "--out", "/no/such/dir/env.tar.gz"], ["does not exist"]),
    (["pack-env", "--out", "env.zip"], ["name it e.g. env.tar.gz"]),
])
def test_bad_inputs_are_one_line_exit_2_and_create_nothing(capsys, cache, argv, needles):
    code, out, err = _run(capsys, *argv)
    _one_line_error(code, err, *needles)
    assert not cache.exists()


def test_pack_env_out_is_a_directory(capsys, cache, tmp_path):
    code, _, err = _run(capsys, "pack-env", "--out", tmp_path)
    _one_line_error(code, err, "is a directory")


def test_missing_spark_submit(capsys, cache, tmp_path, monkeypatch):
    monkeypatch.setenv("SPARK_HOME", str(tmp_path))  # no bin/spark-submit there
    code, _, err = _run(capsys, "submit", "--dry-run", "train")
    _one_line_error(code, err, "spark-submit not found", str(tmp_path))


def _dry(capsys, *argv):
    code, out, err = _run(capsys, "submit", "--dry-run", *argv)
    assert code == 0, err
    lines = out.strip().splitlines()
    env = dict(l.split("=", 1) for l in lines[:-1] if not l.startswith("unset "))
    unset = {l.split()[1] for l in lines[:-1] if l.startswith("unset ")}
    return env, unset, shlex.split(lines[-1])


def _confs(argv):
    return dict(argv[i + 1].split("=", 1) for i, a in enumerate(argv) if a == "--conf")


def test_dry_run_client_mode_prints_the_exact_command(capsys, cache):
    env, unset, argv = _dry(capsys, "--num-executors", "3", "--executor-cores", "2",
                            "--executor-memory", "2g", "--queue", "ml",
                            "--conf", "spark.task.maxFailures=9", "--files", "a.txt",
                            "train", "--data", "hdfs:///d", "--epochs", "2")
    assert env == {"PYSPARK_PYTHON": "./environment/bin/python",
                   "PYSPARK_DRIVER_PYTHON": sys.executable}
    assert argv[0] == command.find_spark_submit()
    assert argv[argv.index("--master") + 1] == "yarn"
    assert argv[argv.index("--deploy-mode") + 1] == "client"
    archive = argv[argv.index("--archives") + 1]
    user = os.environ.get("HADOOP_USER_NAME") or __import__("getpass").getuser()
    assert archive.startswith(f"hdfs:///user/{user}/.rnn-spark/envs/rnn-spark-env-")
    assert archive.endswith(".tar.gz#environment")
    for flag, value in (("--num-executors", "3"), ("--executor-cores", "2"),
                        ("--executor-memory", "2g"), ("--queue", "ml"), ("--files", "a.txt"),
                        ("--name", "rnn-spark-train")):
        assert argv[argv.index(flag) + 1] == value
    conf = _confs(argv)
    assert conf["spark.task.maxFailures"] == "9"           # the user's --conf wins
    assert conf["spark.dynamicAllocation.enabled"] == "false"
    assert conf["spark.task.cpus"] == "2"
    assert conf["spark.executorEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    assert conf["spark.yarn.archive"].endswith(".zip")    # pyspark's jars, staged once
    main_at = argv.index(str(REPO / "jobs" / "train.py"))
    assert argv[main_at + 1:] == ["--data", "hdfs:///d", "--epochs", "2", "--task-cpus", "2"]
    assert not cache.exists()  # a dry run builds and uploads nothing


def test_dry_run_with_a_keytab_logs_the_client_mode_driver_in_from_it(capsys, cache, tmp_path):
    """Spark logs in from --principal/--keytab; the driver's Python here (WebHDFS) too. A
    cluster-mode driver gets nothing of it: it uses its container's delegation tokens."""
    from rnn_spark.fs import hdfs_config
    keytab = tmp_path / "alice.keytab"
    keytab.write_bytes(b"\x05\x02")
    try:
        train = ("train", "--data", "hdfs:///d", "--run-dir", "hdfs:///r")
        env, unset, argv = _dry(capsys, "--principal", "alice@R", "--keytab", keytab, *train)
        assert env["RNN_SPARK_KERBEROS_PRINCIPAL"] == "alice@R"
        assert env["RNN_SPARK_KERBEROS_KEYTAB"] == str(keytab)
        assert argv[argv.index("--principal") + 1] == "alice@R"
        env, unset, argv = _dry(capsys, "--deploy-mode", "cluster", "--principal", "alice@R",
                                "--keytab", keytab, *train)
        assert not any(k.startswith("RNN_SPARK_KERBEROS") for k in env)
        assert not any("KERBEROS" in a for a in argv)
    finally:
        hdfs_config.configure(reset=True)


def test_dry_run_cluster_mode_sets_the_application_master(capsys, cache, monkeypatch):
    monkeypatch.setenv("OPENBLAS_CORETYPE", "Haswell")
    monkeypatch.setenv("HADOOP_TOKEN", "tok-123")  # a WebHDFS delegation token
    env, unset, argv = _dry(capsys, "--deploy-mode", "cluster", "--conf",
                            "spark.yarn.archive=hdfs:///spark/jars.zip", "ingest", "text",
                            "hdfs:///raw/x", "--out", "hdfs:///data/x", "--seq-len", "8")
    assert env == {"PYSPARK_PYTHON": "./environment/bin/python"}
    assert unset == {"PYSPARK_DRIVER_PYTHON", "PYTHONPATH"}
    conf = _confs(argv)
    assert conf["spark.yarn.appMasterEnv.PYSPARK_PYTHON"] == "./environment/bin/python"
    assert conf["spark.yarn.appMasterEnv.OPENBLAS_CORETYPE"] == "Haswell"
    assert conf["spark.yarn.appMasterEnv.HADOOP_TOKEN"] == "tok-123"
    assert "spark.yarn.appMasterEnv.HADOOP_CONF_DIR" not in conf  # the node's own
    assert conf["spark.yarn.archive"] == "hdfs:///spark/jars.zip"
    assert "spark.task.cpus" not in conf and "spark.dynamicAllocation.enabled" not in conf
    assert argv[-7:] == [str(REPO / "jobs" / "ingest.py"), "text", "hdfs:///raw/x", "--out",
                         "hdfs:///data/x", "--seq-len", "8"]


def test_registered_command_gets_its_entry_point(capsys, cache, monkeypatch):
    monkeypatch.setitem(command.COMMANDS, "evaluate", command.Entry("evaluate.py"))
    monkeypatch.setattr(pack, "package_root", lambda: cache / "installed" / "rnn_spark")
    _, _, argv = _dry(capsys, "--env-archive", "hdfs:///envs/e.tar.gz", "evaluate", "--model",
                      "hdfs:///m", "--data", "hdfs:///d")
    launcher = Path(argv[-5])  # no jobs/ beside an installed package: a generated launcher
    assert launcher.name == "evaluate.py" and '"evaluate"' in launcher.read_text()
    assert argv[argv.index("--archives") + 1] == "hdfs:///envs/e.tar.gz#environment"


def test_pinned_requirements_are_the_installed_versions_without_spark():
    from importlib.metadata import version

    reqs = dict(r.split("==") for r in pack.pinned_requirements())
    assert "pyspark" not in reqs and "py4j" not in reqs
    for name in ("numpy", "pyarrow", "hdfs", "click", "requests"):
        assert reqs[name] == version(name)


def test_content_key_follows_the_source(monkeypatch, tmp_path):
    reqs = pack.pinned_requirements()
    key = pack.content_key(reqs)
    assert key == pack.content_key(reqs)
    assert key != pack.content_key(reqs + ("extra==1",))
    extra = tmp_path / "x.py"
    extra.write_text("x = 1\n")
    files = pack.source_files() + [("rnn_spark/x.py", extra)]
    monkeypatch.setattr(pack, "source_files", lambda: files)
    assert pack.content_key(reqs) != key


@pytest.mark.slow
def test_pack_env_builds_once_and_ships_no_pyspark(capsys, tmp_path):
    """The real build (shared cache: built at most once per content in a session)."""
    env = pack.pack_env()
    mtime = env.path.stat().st_mtime_ns
    code, out, err = _run(capsys, "pack-env", "--out", tmp_path / "env.tar.gz")
    assert code == 0, err
    assert env.path.stat().st_mtime_ns == mtime  # cached: not rebuilt
    with tarfile.open(tmp_path / "env.tar.gz") as t:
        names = set(t.getnames())
        python = t.getmember("bin/python3")
    assert python.issym() and python.linkname == pack.interpreter()
    site = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}/site-packages"
    for pkg in ("numpy", "pyarrow", "hdfs", "click", "rnn_spark"):
        assert f"{site}/{pkg}/__init__.py" in names, pkg
    assert not any(n.startswith((f"{site}/pyspark", f"{site}/py4j")) for n in names)
    assert f"{site}/rnn_spark/submit/pack.py" in names


# -- a dry run runs every check a real submit runs that needs no cluster (#21) -----------------
D, R = "hdfs:///data/d", "hdfs:///runs/r"


@pytest.mark.parametrize("argv,needles", [
    (["train", "--data", D, "--frobnicate"], ["No such option '--frobnicate'", "rnn-spark train --help"]),
    (["train", "--data", D, "--cell", "transformer"], ["model.cell (--cell)", "'transformer' is not one of"]),
    (["train", "--run-dir", R], ["data.path (--data) is not set"]),
    (["train", "--data", "runs/data", "--run-dir", R], ["--data) runs/data: a relative local path", "executors"]),
    (["--deploy-mode", "cluster", "train", "--data", "runs/data", "--run-dir", R],
     ["--data) runs/data: a relative local path", "--deploy-mode cluster"]),
    (["--deploy-mode", "cluster", "train", "--data", D],
     ["train.run_dir (--run-dir) runs/default: a relative local path"]),
    (["--deploy-mode", "cluster", "train", "--data", D, "--run-dir", R, "--config", "run.toml"],
     ["--config run.toml", "submit --files run.toml"]),
    (["evaluate", "--model", R, "--data", "data"], ["--data data: a relative local path"]),
    (["evaluate", "--model", R], ["Missing option '--data'"]),
    (["predict", "--model", R, "--data", D, "--out", "preds"], ["--out preds: a relative local path"]),
    (["ingest", "text", "raw/*.txt", "--out", D, "--seq-len", "8", "--engine", "spark"],
     ["raw/*.txt: with Spark master yarn inputs and output must be on HDFS"]),
    (["ingest", "txt", "hdfs:///raw"], ["No such command 'txt'", "rnn-spark ingest --help"]),
    (["ingest"], ["Missing command: one of labelled, series, table, text, verify"]),
])
def test_dry_run_checks_the_commands_own_arguments(capsys, cache, tmp_path, monkeypatch, argv,
                                                     needles):
    monkeypatch.chdir(tmp_path)
    code, out, err = _run(capsys, "submit", "--dry-run", *argv)
    _one_line_error(code, err, *needles)
    assert out == "" and not cache.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hadoop-conf"]


@pytest.mark.parametrize("setup,needles", [
    (lambda mp, d: mp.delenv("HADOOP_CONF_DIR"), ["neither HADOOP_CONF_DIR nor YARN_CONF_DIR"]),
    (lambda mp, d: mp.setenv("HADOOP_CONF_DIR", str(d / "nowhere")), ["is not a directory"]),
    (lambda mp, d: (d / "yarn-site.xml").unlink(), ["no yarn-site.xml in HADOOP_CONF_DIR="]),
    (lambda mp, d: mp.setitem(sys.modules, "venv_pack", None),
     ["needs venv-pack", "pip install 'rnn-spark[submit]'", "--env-archive"]),
])
def test_dry_run_checks_this_machine(capsys, cache, monkeypatch, yarn_client_conf, setup, needles):
    monkeypatch.setenv("SPARK_CONF_DIR", str(yarn_client_conf.parent / "spark-conf"))
    setup(monkeypatch, yarn_client_conf)
    code, out, err = _run(capsys, "submit", "--dry-run", "train", "--data", D, "--run-dir", R)
    _one_line_error(code, err, *needles)
    assert out == "" and not cache.exists()


def test_dry_run_reads_a_config_file_shipped_to_a_cluster_mode_driver(capsys, cache, tmp_path):
    conf = tmp_path / "run.toml"
    conf.write_text(f'[data]\npath = "{D}"\n[train]\nrun_dir = "{R}"\nepochs = 0\n')
    code, _, err = _run(capsys, "submit", "--dry-run", "--deploy-mode", "cluster", "--files",
                        conf, "train", "--config", "run.toml")
    _one_line_error(code, err, "train.epochs (--epochs) must be >= 1")  # read: its value checked
    conf.write_text(conf.read_text().replace("epochs = 0", "epochs = 2"))
    env, _, argv = _dry(capsys, "--deploy-mode", "cluster", "--files", f"{conf}#run.toml",
                        "train", "--config", "run.toml")
    assert argv[argv.index("--files") + 1] == f"{conf}#run.toml"
    assert argv[-2:] == ["--config", "run.toml"]


def test_dry_run_leaves_a_config_file_on_hdfs_to_the_job(capsys, cache):
    code, out, err = _run(capsys, "submit", "--dry-run", "train", "--config", "hdfs:///c/run.toml")
    assert code == 0, err
    assert "hdfs:///c/run.toml is read on the cluster" in err
    assert shlex.split(out.strip().splitlines()[-1])[-2:] == ["--config", "hdfs:///c/run.toml"]


def test_conf_with_a_space_suggests_key_equals_value(capsys, cache):
    """#21: `--conf KEY VALUE` made VALUE the command: "unknown command '4g'"."""
    code, _, err = _run(capsys, "submit", "--conf", "spark.executor.memory", "4g", "train")
    _one_line_error(code, err, "--conf spark.executor.memory 4g", "--conf spark.executor.memory=4g")
    assert "unknown command" not in err


@pytest.mark.parametrize("name", ["evaluate", "predict"])
def test_evaluate_and_predict_run_on_spark_under_submit(capsys, cache, name):
    """#21: without --runner they ran inline in the YARN driver while the executors idled."""
    base = ["--model", R, "--data", D] + (["--out", "hdfs:///p"] if name == "predict" else [])
    _, _, argv = _dry(capsys, name, *base)
    assert argv[-2:] == ["--runner", "spark"]
    for given in (["--runner", "inline"], ["--runner=inline"]):
        _, _, argv = _dry(capsys, name, *base, *given)
        assert argv[-len(given):] == given  # the user's runner, nothing added after it


def test_submit_command_help_is_the_commands_own(capsys, cache):
    code, out, _ = _run(capsys, "submit", "--dry-run", "train", "--help")
    assert code == 0 and "--cell [rnn_tanh|rnn_relu|rnn|lstm|gru]" in out
    assert not cache.exists()


def test_a_real_submit_runs_the_same_checks_before_it_packs(capsys, cache):
    code, out, err = _run(capsys, "submit", "--deploy-mode", "cluster", "train", "--data",
                          "runs/data", "--run-dir", R)
    _one_line_error(code, err, "--data) runs/data: a relative local path")
    assert out == "" and not cache.exists()  # nothing packed, nothing uploaded
