"""`rnn-spark train` and `rnn-spark config`: parsing and calling only.

Every configuration key is also a flag of the same name (`optim.lr` is `--lr`, `train.k1` is `--k1`,
`data.path` is `--data`); precedence: defaults < --config files (in order) < --set k=v < flags, and
with --resume the run's own config.toml comes right after the defaults.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields

import click

from rnn_spark.config import SECTIONS, defaults_toml, flag_name
from rnn_spark.errors import ConfigError


class ConfigChoice(click.Choice):
    """A key with a fixed set of values: --help (and shell completion) show them; the value is
    passed on as typed and checked by the configuration itself (config._coerce), so a bad value
    is the same one line, naming the key and its flag, from a flag, --set or a --config file."""

    def convert(self, value, param, ctx):
        return value


def default_text(flag: str, value) -> str:
    """How --help shows a key's default: as typed on the command line."""
    if isinstance(value, bool):
        return flag[2:] if value else f"no-{flag[2:]}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value) if value != "" else '""'


def config_options(fn):
    """Add one option per config key (all default to None = 'not given'); --help shows each
    key's default and, for a key with a fixed set of values, the values."""
    for section, cls in reversed(list(SECTIONS.items())):
        defaults = cls()
        for f in reversed(fields(cls)):
            default = getattr(defaults, f.name)
            kind = type(default)
            flag = flag_name(f"{section}.{f.name}")
            help_ = f"[{section}.{f.name}] {f.metadata['help']}  [default: {default_text(flag, default)}]"
            choices = f.metadata.get("choices")
            if f.metadata.get("bool_words"):  # --resume [yes|auto] / --no-resume
                fn = click.option(f"--no-{flag[2:]}", f"cfgno__{section}__{f.name}", is_flag=True,
                                  default=None, help=f"[{section}.{f.name}] = no")(fn)
                opt = click.option(flag, f"cfg__{section}__{f.name}", type=click.Choice(choices),
                                   is_flag=False, flag_value="yes", default=None, help=help_)
            elif kind is bool:
                opt = click.option(f"{flag}/--no-{flag[2:]}", f"cfg__{section}__{f.name}",
                                   default=None, help=help_)
            elif kind is dict:
                continue  # tables only through --config or --set spark.conf=...
            elif choices:
                opt = click.option(flag, f"cfg__{section}__{f.name}", default=None,
                                   type=ConfigChoice(choices), help=help_)
            else:
                metavar = "N,N" if kind is list else kind.__name__.upper()
                opt = click.option(flag, f"cfg__{section}__{f.name}", default=None,
                                   metavar=metavar, help=help_)
            fn = opt(fn)
    return fn


def collect_overrides(sets: tuple[str, ...], kwargs: dict) -> dict:
    out: dict = {}
    for item in sets:
        if "=" not in item:
            raise click.BadParameter(f"{item!r}: expected KEY=VALUE", param_hint="--set")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    for name, value in kwargs.items():
        if name.startswith("cfg__") and value is not None:
            _, section, key = name.split("__", 2)
            out[f"{section}.{key}"] = value
        elif name.startswith("cfgno__") and value:
            _, section, key = name.split("__", 2)
            if out.get(f"{section}.{key}") not in (None, "no"):
                raise click.UsageError(f"--{key.replace('_', '-')} and --no-{key.replace('_', '-')} "
                                       f"contradict each other; give one")
            out[f"{section}.{key}"] = "no"
    return out


def _resolve(config_files, sets, kwargs, strict=True):
    from rnn_spark.training.runconfig import resolve  # --resume: the run's config.toml is the base

    return resolve(list(config_files), collect_overrides(sets, kwargs), strict)


def train_config(config_files, sets, kwargs):
    """train's configuration from its parsed options (also `rnn-spark submit train`'s check)."""
    cfg = _resolve(config_files, sets, kwargs)
    if not cfg.data.path:
        raise ConfigError("data.path (--data) is not set: pass --data URI (or data.path in a --config file)")
    return cfg


@click.command(context_settings={"max_content_width": 110})
@click.option("--config", "-c", "config_files", multiple=True, metavar="TOML",
              help="configuration file(s), applied in order (local path or hdfs://)")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="set any key, e.g. --set optim.lr=0.01 --set 'spark.conf={\"spark.executor.memory\": \"2g\"}' (values are JSON, else strings)")
@click.option("--overwrite", is_flag=True,
              help="replace an existing run directory rnn-spark made (or an empty directory); "
                   "never a dataset, a model, an export or other files, nor a directory inside "
                   "one of them; not with --resume")
@click.option("--quiet", "-q", is_flag=True, help="no progress output")
@config_options
def train(config_files, sets, overwrite, quiet, **kwargs):
    """Train a model on a dataset written by `rnn-spark ingest`.

    \b
    Example (local Spark, 2 workers), then continued for a second epoch (--resume starts from
    the run's own config.toml: give only what changes):
      rnn-spark train --data runs/data --run-dir runs/lm --cell lstm --hidden-sizes 128 --epochs 1
      rnn-spark train --run-dir runs/lm --resume --epochs 2
    """
    from rnn_spark.serve.sample import sample_text
    from rnn_spark.training.loop import train as run_training

    cfg = train_config(config_files, sets, kwargs)
    summary = run_training(cfg, quiet=quiet, overwrite=overwrite, sample=sample_text)
    click.echo(summary_json(summary))


def _finite_or_none(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite_or_none(x) for k, x in v.items()}
    return v


def summary_json(summary: dict) -> str:
    """The last stdout line: strict JSON (a missing or non-finite number is null, never NaN)."""
    out = {k: v for k, v in summary.items() if k != "val"}
    out["val_loss"] = (summary.get("val") or {}).get("loss")
    return json.dumps(_finite_or_none(out), default=str, allow_nan=False)


@click.command("config")
@click.option("--defaults", is_flag=True, help="print every key with its default and help (TOML)")
@click.option("--config", "-c", "config_files", multiple=True, metavar="TOML")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE")
@config_options
def config_cmd(defaults, config_files, sets, **kwargs):
    """Print the default configuration, or the one resolved from files and flags."""
    if defaults:
        click.echo(defaults_toml(), nl=False)
        return
    click.echo(_resolve(config_files, sets, kwargs, strict=False).to_toml(), nl=False)
