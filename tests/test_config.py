"""Configuration: precedence, validation messages, and conf/defaults.toml kept in sync."""

import re
from pathlib import Path

import pytest

from rnn_spark import config
from rnn_spark.cli import main
from rnn_spark.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_file_is_generated_from_the_dataclasses():
    assert (ROOT / "conf" / "defaults.toml").read_text() == config.defaults_toml()


def test_defaults_toml_round_trips():
    cfg = config.Config()
    assert config.Config.from_dict(config.tomllib.loads(cfg.to_toml())).to_dict() == cfg.to_dict()


def test_precedence_defaults_file_flags(tmp_path):
    f1 = tmp_path / "a.toml"
    f1.write_text('[optim]\nlr = 0.1\n[train]\nworkers = 4\nk1 = 20\n')
    f2 = tmp_path / "b.toml"
    f2.write_text('[train]\nworkers = 3\n')
    cfg = config.load([str(f1), str(f2)], {"lr": "0.5", "model.hidden_sizes": "32,16"})
    assert cfg.optim.lr == 0.5          # flag beats file
    assert cfg.train.workers == 3       # later file beats earlier
    assert cfg.train.k1 == 20           # file beats default
    assert cfg.train.batch_size == 32   # default
    assert cfg.model.hidden_sizes == [32, 16]


@pytest.mark.parametrize("overrides, message", [
    ({"train.bogus": 1}, "unknown key train.bogus"),
    ({"bogus": 1}, "unknown key 'bogus'"),
    ({"train.workers": "many"}, "train.workers (--workers): expected int, got 'many'"),
    ({"model.cell": "transformer"}, "'transformer' is not one of"),
    ({"train.k1": 10, "train.k2": 20}, "train.k2 (--k2) must be between 0 and k1=10"),
    ({"optim.lr": -1}, "optim.lr (--lr) must be > 0, got -1.0"),
    ({"optim.lr": "inf"}, "optim.lr (--lr) must be a finite number"),
    ({"data.bucket": "maybe"}, "data.bucket (--bucket): expected bool"),
    ({"model.hidden_sizes": "16,,16"}, "model.hidden_sizes (--hidden-sizes): expected comma-separated"),
    ({"model.hidden_sizes": "16,0"}, "model.hidden_sizes (--hidden-sizes) must be a non-empty list"),
    ({"optim.beta1": 1.5}, "optim.beta1 (--beta1) must be in [0, 1), got 1.5"),
    ({"optim.weight_decay": -1}, "optim.weight_decay (--weight-decay) must be >= 0"),
    ({"optim.min_lr": 0.5, "optim.lr": 0.1}, "optim.min_lr (--min-lr) must be between 0 and optim.lr"),
    ({"train.block_momentum": 1.0}, "train.block_momentum (--block-momentum) must be in [0, 1)"),
    ({"train.outer_momentum": -0.1}, "train.outer_momentum (--outer-momentum) must be in [0, 1)"),
    ({"train.seed": -1}, "train.seed (--seed) must be >= 0"),
    ({"train.resume": "maybe"}, "train.resume (--resume): 'maybe' is not one of no, yes, auto"),
    ({"spark.master": "bogus://x"}, "spark.master (--master) 'bogus://x' is not a Spark master"),
    ({"train.on_nonfinite": "ignore"}, "'ignore' is not one of stop, skip_worker"),
    ({"spark.resident": "always"}, "spark.resident (--resident): 'always' is not one of auto, off"),
    ({"optim.lr_scaling": "cubic"}, "'cubic' is not one of auto, none, sqrt, linear"),
])
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        config.load([], overrides)


@pytest.mark.parametrize("value, expected", [
    (True, "yes"), (False, "no"), ("true", "yes"), ("false", "no"), ("auto", "auto"), ("yes", "yes")])
def test_resume_accepts_the_old_booleans(value, expected):
    """train.resume was a boolean in the first release: its saved config.toml files still load."""
    assert config.load([], {"train.resume": value}).train.resume == expected


def test_old_config_toml_with_boolean_resume_loads(tmp_path):
    f = tmp_path / "config.toml"
    f.write_text("[train]\nresume = true\n")
    assert config.load([str(f)]).train.resume == "yes"


@pytest.mark.parametrize("args, expected", [
    ([], "no"), (["--resume"], "yes"), (["--resume", "auto"], "auto"), (["--no-resume"], "no"),
    (["--resume", "--lr", "0.1"], "yes"), (["--set", "train.resume=true"], "yes")])
def test_resume_flag_forms(args, expected, capsys):
    assert main(["config", *args]) == 0
    cfg = config.Config.from_dict(config.tomllib.loads(capsys.readouterr().out))
    assert cfg.train.resume == expected


@pytest.mark.parametrize("args", [["--resume", "maybe"], ["--resume", "--no-resume"],
                                  ["--resident", "always"], ["--lr-scaling", "cubic"]])
def test_bad_resume_flags_are_one_line(args, capsys):
    assert main(["config", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len([l for l in err if l.strip()]) <= 3 and "Traceback" not in "".join(err)


@pytest.mark.parametrize("master", ["local", "local[2]", "local[*]", "local[2,4]", "yarn",
                                    "spark://h:7077", "k8s://https://h:6443"])
def test_spark_masters_accepted(master):
    assert config.load([], {"spark.master": master}).spark.master == master


def test_bad_toml_is_one_line(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text("[train\nworkers = 2\n")
    rc = main(["config", "--config", str(f)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and "bad.toml: not valid TOML" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("toml, words", [
    # a key outside any section: which section it belongs to, not "unknown section [epochs]"
    ("epochs = 3\n", "a.toml: epochs = 3 is outside any section; epochs is a key of [train]: "
                     "write it under [train]"),
    ("lr = 0.1\n[train]\nworkers = 2\n", "lr is a key of [optim]: write it under [optim]"),
    ("nonsense = 1\n", "a.toml: nonsense = 1 is outside any section and no section has a key "
                       "nonsense; keys go under [data], [model], [optim], [train], [spark]"),
    # a key in the wrong section
    ("[model]\nepochs = 3\n", "a.toml: unknown key model.epochs; epochs is a key of [train]: "
                               "write it under [train]"),
    # a list in TOML is a TOML list, not the command line's 128,128
    ("[model]\nhidden_sizes = 128\n", "a.toml: model.hidden_sizes (--hidden-sizes): expected a "
                                       "TOML list of integers like [128] or [128, 128], got 128"),
    ('[model]\nhidden_sizes = [128, "x"]\n', "expected a TOML list of integers like [128]"),
])
def test_misplaced_toml_keys_say_where_they_go(tmp_path, capsys, toml, words):
    f = tmp_path / "a.toml"
    f.write_text(toml)
    rc = main(["config", "--config", str(f)])
    err = capsys.readouterr().err
    assert rc == 2 and words in err.replace(str(f), "a.toml")
    assert len(err.strip().splitlines()) == 1


def test_toml_lists_and_the_command_line_forms_still_load(tmp_path):
    f = tmp_path / "a.toml"
    f.write_text('[model]\nhidden_sizes = [32, 16]\n[train]\nepochs = 3\n')
    cfg = config.load([str(f)], {"model.embedding_size": 4})
    assert cfg.model.hidden_sizes == [32, 16] and cfg.train.epochs == 3
    f.write_text('[model]\nhidden_sizes = "32,16"\n')  # the flag's spelling is accepted too
    assert config.load([str(f)]).model.hidden_sizes == [32, 16]
    with pytest.raises(config.ConfigError, match="comma-separated integers like 128,128"):
        config.load([], {"model.hidden_sizes": 128})  # --set / flags: the command line's hint


def test_cli_flags_share_config_names(capsys):
    assert main(["config", "--lr", "0.25", "--hidden-sizes", "8,8", "--no-average-optimizer-state",
                 "--set", "spark.conf={\"spark.executor.memory\": \"2g\"}"]) == 0
    cfg = config.Config.from_dict(config.tomllib.loads(capsys.readouterr().out))
    assert cfg.optim.lr == 0.25
    assert cfg.model.hidden_sizes == [8, 8]
    assert cfg.train.average_optimizer_state is False
    assert cfg.spark.conf == {"spark.executor.memory": "2g"}


def test_docs_render_every_config_section():
    """docs/reference/configuration.md renders every section's table from conf/defaults.toml (the
    keys and defaults themselves are checked on the built page: tests/docs)."""
    page = (ROOT / "docs" / "reference" / "configuration.md").read_text()
    rendered = re.findall(r"^```\{rnn-spark-config\} (\w+)$", page, re.M)
    assert sorted(rendered) == sorted(config.SECTIONS), rendered
