"""What `rnn-spark submit` checks of the command it launches, before anything is packed or
uploaded, the same on --dry-run: the command's arguments are parsed by the click command the job
itself runs (an unknown flag, a bad value, a missing option: one line here, not minutes later in
a YARN container); train's configuration is built by train's own code (reading only --config
files: no data, no run directory); the paths the job names must be reachable from its containers
(rnn_spark.submit.paths). Parsing only.
"""

from __future__ import annotations

from typing import Callable

import click

from rnn_spark.config import key_name
from rnn_spark.submit.paths import JobPath, check_paths, config_file


def check(name: str, args: list[str], deploy_mode: str, files: str | None, dry_run: bool,
          say: Callable[[str], None]) -> None:
    from rnn_spark.cli import cli

    cmd = cli.commands.get(name)
    if cmd is None:  # env-check: a jobs/ script of its own, not a CLI command
        return
    ctx = _parse(cmd, name, args)
    p = ctx.params
    leaf = ctx.command.name
    if name == "train":
        paths = _train_paths(p, deploy_mode, files, dry_run, say)
    elif name in ("evaluate", "predict"):
        spark = p["runner"] == "spark"
        paths = [JobPath("--model", p["model_uri"]), JobPath("--data", p.get("data") or "", spark)]
        paths += [JobPath("--input", u, spark) for u in p.get("inputs") or ()]
        paths += [JobPath("--out", p["out"], spark)] if p.get("out") else []
    elif leaf == "verify":
        paths = [JobPath("ingest verify", p["uri"])]
    else:  # ingest text|series|labelled
        spark = p["engine"] == "spark"
        if spark:
            from rnn_spark.ingest.spark import check_visible

            check_visible("yarn", [p["out"], *p["sources"]])
        paths = [JobPath("--out", p["out"], spark)] + [JobPath("SRC", s, spark)
                                                         for s in p["sources"]]
    check_paths(paths, deploy_mode)


def _parse(cmd: click.Command, name: str, args: list[str]) -> click.Context:
    """The context of the command (an ingest kind for `ingest`) with its parsed parameters;
    click's own errors name `rnn-spark NAME ... --help`."""
    prog = f"rnn-spark {name}"
    if not isinstance(cmd, click.Group):
        return cmd.make_context(prog, list(args))
    parent = click.Context(cmd, info_name=prog)
    if not args or args[0].startswith("-"):
        raise click.UsageError(f"Missing command: one of {', '.join(sorted(cmd.commands))}.",
                               parent)
    sub = cmd.get_command(parent, args[0])
    if sub is None:
        raise click.UsageError(f"No such command {args[0]!r}.", parent)
    return sub.make_context(args[0], list(args[1:]), parent=parent)


def _train_paths(p: dict, deploy_mode: str, files: str | None, dry_run: bool, say) -> list:
    from rnn_spark.cli.train import train_config

    here = [config_file(c, deploy_mode, files) for c in p["config_files"]]
    remote = [c for c, h in zip(p["config_files"], here) if h is None]
    if remote and dry_run:  # read on the cluster by the job; a dry run stays off the cluster
        say(f"--dry-run: {remote[0]} is read on the cluster; train's configuration is checked "
            "there")
        return []
    cfg = train_config([h or c for c, h in zip(p["config_files"], here)], p["sets"], p)
    t = cfg.train
    return [JobPath(key_name("data.path"), cfg.data.path, t.runner == "spark"),
            JobPath(key_name("train.run_dir"), t.run_dir),
            JobPath(key_name("train.tensorboard_dir"), t.tensorboard_dir)]
