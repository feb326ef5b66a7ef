"""Configuration: precedence, validation messages, and conf/defaults.toml kept in sync."""

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
    ({"train.workers": "many"}, "train.workers: expected int, got 'many'"),
    ({"model.cell": "transformer"}, "'transformer' is not one of"),
    ({"train.k1": 10, "train.k2": 20}, "train.k2 must be between 0 and k1=10"),
    ({"optim.lr": -1}, "optim.lr must be > 0"),
    ({"data.bucket": "maybe"}, "data.bucket: expected bool"),
])
def test_bad_values_name_the_key(overrides, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.load([], overrides)


def test_bad_toml_is_one_line(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text("[train\nworkers = 2\n")
    rc = main(["config", "--config", str(f)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: ") and "bad.toml: not valid TOML" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_flags_share_config_names(capsys):
    assert main(["config", "--lr", "0.25", "--hidden-sizes", "8,8", "--no-average-optimizer-state",
                 "--set", "spark.conf={\"spark.executor.memory\": \"2g\"}"]) == 0
    cfg = config.Config.from_dict(config.tomllib.loads(capsys.readouterr().out))
    assert cfg.optim.lr == 0.25
    assert cfg.model.hidden_sizes == [8, 8]
    assert cfg.train.average_optimizer_state is False
    assert cfg.spark.conf == {"spark.executor.memory": "2g"}


def test_readme_documents_every_key():
    from dataclasses import fields

    readme = (ROOT / "README.md").read_text()
    missing = [f"{s}.{f.name}" for s, c in config.SECTIONS.items() for f in fields(c)
               if f"`{s}.{f.name}`" not in readme]
    assert not missing, f"README configuration reference lacks {missing}"
