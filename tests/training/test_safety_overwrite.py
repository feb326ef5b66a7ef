"""#8.1, #8.7, #8.8: --overwrite never deletes what rnn-spark did not make, and every check runs
before anything is created: a refused command leaves every directory exactly as it was."""

import json

import pytest
from safety_helpers import assert_user_error, copy_dataset, run_cli, snapshot, strict_json, tiny_args

from rnn_spark import config
from rnn_spark.training.prepare import RUN_MARKER


@pytest.fixture
def ds(char_dataset, tmp_path):
    """A private copy of the dataset: these tests point outputs at it."""
    return copy_dataset(char_dataset, tmp_path / "ds")


def test_run_dir_equal_to_the_dataset_is_refused_and_the_dataset_survives(ds, tmp_path, capsys):
    assert_user_error(capsys, tiny_args(ds, ds, "--overwrite"), [tmp_path], "--run-dir", "input")
    assert_user_error(capsys, tiny_args(ds, ds), [tmp_path], "--run-dir", "input")


@pytest.mark.parametrize("where", ["inside", "contains"])
def test_run_dir_inside_or_around_the_dataset_is_refused(ds, tmp_path, capsys, where):
    run = ds / "run" if where == "inside" else tmp_path
    assert_user_error(capsys, tiny_args(ds, run, "--overwrite"), [tmp_path], "--run-dir")


def test_overwrite_keeps_user_files(ds, tmp_path, capsys):
    user = tmp_path / "mine"
    (user / "sub").mkdir(parents=True)
    (user / "notes.txt").write_text("precious")
    (user / "sub" / "config.toml").write_text("[tool]\nx = 1\n")
    assert_user_error(capsys, tiny_args(ds, user, "--overwrite"), [tmp_path], "--run-dir",
                      "not a run directory")
    # without --overwrite the directory is not written into either
    assert_user_error(capsys, tiny_args(ds, user), [tmp_path], "--run-dir")


def test_a_config_toml_alone_does_not_make_a_run_dir(ds, tmp_path, capsys):
    """A project directory with its own config.toml is not mistaken for a first-release run."""
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "config.toml").write_text("[tool.black]\nline-length = 100\n")
    (proj / "main.py").write_text("print(1)\n")
    assert_user_error(capsys, tiny_args(ds, proj, "--overwrite"), [tmp_path])


def test_overwrite_replaces_a_run_dir_it_made(ds, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, tiny_args(ds, run, "--quiet"))[0] == 0
    assert (run / RUN_MARKER).is_file()
    rc, out, _ = run_cli(capsys, tiny_args(ds, run, "--quiet", "--overwrite", "--seed", "5"))
    assert rc == 0 and strict_json(out.splitlines()[-1])["rounds"] == 2
    assert "seed = 5" in (run / "config.toml").read_text()


def test_overwrite_replaces_an_empty_dir(ds, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert run_cli(capsys, tiny_args(ds, tmp_path / "empty", "--quiet", "--overwrite"))[0] == 0


def test_overwrite_replaces_a_first_release_run_dir(ds, tmp_path, capsys):
    """Run directories of the first release have no marker: config.toml + run files."""
    run = tmp_path / "old"
    assert run_cli(capsys, tiny_args(ds, run, "--quiet"))[0] == 0
    (run / RUN_MARKER).unlink()
    assert run_cli(capsys, tiny_args(ds, run, "--quiet", "--overwrite"))[0] == 0
    assert (run / RUN_MARKER).is_file()


@pytest.mark.parametrize("resume", ["--resume", "--resume=auto"])
def test_overwrite_with_resume_is_refused(ds, tmp_path, capsys, resume):
    run = tmp_path / "run"
    assert run_cli(capsys, tiny_args(ds, run, "--quiet"))[0] == 0
    assert_user_error(capsys, tiny_args(ds, run, "--overwrite", resume), [tmp_path],
                      "--overwrite and --resume")


@pytest.mark.parametrize("flags, needle", [
    (["--beta1", "1.5"], "optim.beta1 (--beta1)"),
    (["--weight-decay", "-1"], "optim.weight_decay (--weight-decay)"),
    (["--hidden-sizes", "16,,16"], "--hidden-sizes"),
    (["--val-split", "nope"], "--val-split"),
    (["--train-split", "nope"], "nope"),
    (["--workers", "1000"], "--workers"),
    (["--block-momentum", "1.5", "--averager", "bmuf"], "--block-momentum"),
    (["--lr", "nan"], "--lr"),
    (["--min-lr", "1.0", "--schedule", "cosine"], "--min-lr"),
])
def test_bad_options_create_nothing(ds, tmp_path, capsys, flags, needle):
    """#8.7: checked before the run directory is made (and --overwrite deletes nothing)."""
    run = tmp_path / "run"
    assert_user_error(capsys, tiny_args(ds, run, *flags), [tmp_path], needle)
    assert not run.exists()
    assert run_cli(capsys, tiny_args(ds, run, "--quiet"))[0] == 0  # an existing run, replaced...
    assert_user_error(capsys, tiny_args(ds, run, "--overwrite", *flags), [tmp_path], needle)


def test_unknown_val_split_lists_the_splits(ds, tmp_path, capsys):
    line = assert_user_error(capsys, tiny_args(ds, tmp_path / "run", "--val-split", "test"),
                             [tmp_path])
    assert "'test'" in line and "train" in line and "val" in line


def test_default_val_split_missing_means_no_validation(ds, tmp_path, capsys):
    manifest = json.loads((ds / "manifest.json").read_text())
    del manifest["splits"]["val"]
    (ds / "manifest.json").write_text(json.dumps(manifest))
    rc, out, err = run_cli(capsys, tiny_args(ds, tmp_path / "run", "--quiet"))
    assert rc == 0 and "no validation" in err and "'val'" in err
    assert strict_json(out.splitlines()[-1])["val_loss"] is None
    assert not (tmp_path / "run" / "best").exists()


def test_empty_val_split_turns_validation_off(ds, tmp_path, capsys):
    rc, out, err = run_cli(capsys, tiny_args(ds, tmp_path / "run", "--quiet", "--val-split", ""))
    assert rc == 0 and strict_json(out.splitlines()[-1])["val_loss"] is None


def test_rows_for_fewer_than_a_full_round_are_said(ds, tmp_path, capsys):
    rows = sum(g["rows"] for s in json.loads((ds / "manifest.json").read_text())["splits"]["train"]
               ["shards"] for g in s["row_groups"])
    workers = rows // 4 // 2  # two minibatches of 4 rows each, not a full round of 8 minibatches
    rc, _, err = run_cli(capsys, tiny_args(ds, tmp_path / "run", "--quiet", "--workers",
                                           str(workers), "--steps-per-round", "8", "--max-rounds", "1",
                                           "--val-split", ""))
    assert rc == 0 and "fewer than one full round" in err


def test_overwrite_refusal_names_flags_not_python(ds, tmp_path, capsys):
    line = assert_user_error(capsys, tiny_args(ds, ds, "--overwrite"), [tmp_path])
    assert "overwrite=True" not in line and "configure(" not in line


def test_hdfs_timeout_message_names_the_flag(capsys):
    rc, _, err = run_cli(capsys, ["--hdfs-timeout", "abc", "config"])
    assert rc == 2 and err.startswith("error: --hdfs-timeout: bad timeout") and "RNN_SPARK" not in err


def test_resume_string_is_saved_in_config_toml(ds, tmp_path, capsys):
    run = tmp_path / "run"
    assert run_cli(capsys, tiny_args(ds, run, "--quiet", "--resume", "auto"))[0] == 0
    saved = config.load([str(run / "config.toml")])
    assert saved.train.resume == "auto"
    assert snapshot(run)  # a run dir was made


@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_run_dir_that_is_a_file_is_refused(ds, tmp_path, capsys, overwrite):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    assert_user_error(capsys, tiny_args(ds, f, *overwrite), [tmp_path], "--run-dir", "file")
