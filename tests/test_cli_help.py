"""--help shows every option's choices and default (#21: --cell, --optimizer, --schedule,
--averager, --runner, --export, --dtype showed neither), and every command's --master defaults
to the one DEFAULT_MASTER."""

import re
from dataclasses import fields

import click
import pytest

from rnn_spark.cli import cli
from rnn_spark.cli.train import default_text
from rnn_spark.config import SECTIONS, flag_name
from rnn_spark.spark_master import DEFAULT_MASTER

SHOWN_DEFAULT = re.compile(r"[\[(]default: ")


def commands(group=cli, path=()):
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from commands(cmd, (*path, name))
        else:
            yield " ".join((*path, name)), cmd


def help_records(cmd) -> dict[str, tuple[str, str]]:
    """{option name: (its flags and metavar, its help)} as --help prints them."""
    ctx = click.Context(cmd, info_name=cmd.name)
    return {p.name: p.get_help_record(ctx) for p in cmd.params
            if isinstance(p, click.Option) and not p.hidden}


def has_default(p: click.Option) -> bool:
    default = p.default
    if default is None or repr(default).endswith("UNSET") or p.multiple:
        return False
    return not (p.is_flag and not p.secondary_opts)  # a plain on/off flag: off


CONFIG_KEYS = [(s, f) for s, cls in SECTIONS.items() for f in fields(cls)
               if not callable(f.default_factory) or not isinstance(f.default_factory(), dict)]


@pytest.mark.parametrize("name", ["train", "config"])
@pytest.mark.parametrize("section,f", CONFIG_KEYS, ids=[f"{s}.{f.name}" for s, f in CONFIG_KEYS])
def test_every_config_key_shows_its_default_and_choices(name, section, f):
    records = help_records(cli.commands[name])
    opts, help_ = records[f"cfg__{section}__{f.name}"]
    default = getattr(SECTIONS[section](), f.name)
    flag = flag_name(f"{section}.{f.name}")
    assert f"[default: {default_text(flag, default)}]" in help_, (opts, help_)
    choices = f.metadata.get("choices")
    if choices:
        assert f"[{'|'.join(choices)}]" in opts, opts


@pytest.mark.parametrize("path,cmd", list(commands()), ids=[p for p, _ in commands()])
def test_every_option_shows_its_choices_and_default(path, cmd):
    records = help_records(cmd)
    for p in cmd.params:
        if not isinstance(p, click.Option) or p.hidden:
            continue
        opts, help_ = records[p.name]
        if isinstance(p.type, click.Choice):
            assert f"[{'|'.join(map(str, p.type.choices))}]" in opts, (path, opts)
        if has_default(p):
            assert SHOWN_DEFAULT.search(help_), (path, opts, help_)


def test_one_default_master():
    from rnn_spark.config import Config

    assert Config().spark.master == DEFAULT_MASTER
    found = {}
    for path, cmd in commands():
        for p in cmd.params:
            if p.name == "master" and not path.startswith("submit"):
                found[path] = p.default
    assert found.keys() >= {"ingest text", "ingest series", "ingest labelled", "evaluate",
                            "predict"}
    assert set(found.values()) == {DEFAULT_MASTER}, found
