"""Sphinx extension of the rnn-spark docs: the configuration reference, generated.

```{rnn-spark-config} train
```

renders one table row per key of section ``[train]`` of ``conf/defaults.toml``: the key, its
flag (read from the `rnn-spark train` click command itself), its default (the file's value), the
allowed values (config.py) and its help line (the file's comment). The rows cannot drift from
the code: the build stops (a warning, and scripts/docs builds with -W) when the file and config.py
disagree on a key, or when a section of the file is rendered by no page.
"""

from __future__ import annotations

import re
import sys
from dataclasses import fields
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LOG = logging.getLogger(__name__)
DEFAULTS = Path(__file__).resolve().parents[2] / "conf" / "defaults.toml"
_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*=")


def read_defaults(path: Path = DEFAULTS) -> dict[str, list[tuple[str, object, str]]]:
    """{section: [(key, default, help)]} in file order; help is the comment line above the key."""
    values = tomllib.loads(path.read_text())
    out: dict[str, list[tuple[str, object, str]]] = {}
    section, comment = None, ""
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            section, comment = line[1:-1], ""
            out[section] = []
        elif line.startswith("#"):
            comment = line[1:].strip()
        elif section and (m := _KEY.match(line)):
            key = m.group(1)
            out[section].append((key, values[section][key], comment if comment else ""))
            comment = ""
    return out


def toml_value(v: object) -> str:
    from rnn_spark.config import _toml_value

    return _toml_value(v)


def cli_flags() -> dict[str, str]:
    """{"train.k1": "--k1", "data.bucket": "--bucket / --no-bucket", ...} from `rnn-spark train`."""
    import click

    from rnn_spark.cli.train import train

    flags: dict[str, list[str]] = {}
    for p in train.params:
        name = p.name or ""
        if not name.startswith(("cfg__", "cfgno__")):
            continue
        _, section, key = name.split("__", 2)
        opts = list(p.opts) + list(p.secondary_opts)
        if isinstance(p.type, click.Choice) and isinstance(p.flag_value, str):
            # an option whose value may be left out (--resume = --resume yes)
            given = "|".join(c for c in p.type.choices if c != "no")
            opts = [f"{o} [{given}]" for o in opts]
        flags.setdefault(f"{section}.{key}", []).extend(opts)
    return {k: " / ".join(v) for k, v in flags.items()}


def choices() -> dict[str, tuple]:
    from rnn_spark.config import SECTIONS

    return {f"{s}.{f.name}": f.metadata.get("choices") or ()
            for s, cls in SECTIONS.items() for f in fields(cls)}


def _inline(text: str) -> list[nodes.Node]:
    """Help text with `code` spans as literals."""
    out: list[nodes.Node] = []
    for i, part in enumerate(text.split("`")):
        if part:
            out.append(nodes.literal(part, part) if i % 2 else nodes.Text(part))
    return out


def _entry(*children: nodes.Node) -> nodes.entry:
    para = nodes.paragraph()
    para.extend(children)
    entry = nodes.entry()
    entry += para
    return entry


class ConfigTable(SphinxDirective):
    """```{rnn-spark-config} SECTION``` -> the table of that section's keys."""

    required_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        section = self.arguments[0]
        self.env.note_dependency(str(DEFAULTS))
        table_of = read_defaults()
        if section not in table_of:
            LOG.warning("rnn-spark-config: no section [%s] in %s", section, DEFAULTS,
                        location=self.get_location())
            return []
        _rendered(self.env).add(section)
        flags, allowed = cli_flags(), choices()
        from rnn_spark.config import SECTIONS

        code_keys = {f.name for f in fields(SECTIONS[section])} if section in SECTIONS else set()
        file_keys = {k for k, _, _ in table_of[section]}
        if code_keys != file_keys:
            LOG.warning("rnn-spark-config: [%s] of conf/defaults.toml and rnn_spark/config.py "
                        "disagree (only in the file: %s; only in the code: %s); regenerate it "
                        "with `rnn-spark config --defaults > conf/defaults.toml`", section,
                        sorted(file_keys - code_keys) or "-", sorted(code_keys - file_keys) or "-",
                        location=self.get_location())
        table = nodes.table(classes=["rnnspark-config"])
        group = nodes.tgroup(cols=4)
        table += group
        for width in (22, 22, 14, 42):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        row = nodes.row()
        for title in ("key", "flag", "default", "meaning"):
            row += _entry(nodes.Text(title))
        head += row
        group += head
        body = nodes.tbody()
        for key, value, help_ in table_of[section]:
            dotted = f"{section}.{key}"
            flag = flags.get(dotted) or f"--set {dotted}=JSON"
            meaning = _inline(help_ or "(no help line)")
            if allowed.get(dotted):
                meaning.append(nodes.Text(" (one of "))
                for i, choice in enumerate(allowed[dotted]):
                    meaning += [nodes.Text(", ")] if i else []
                    meaning.append(nodes.literal(choice, choice))
                meaning.append(nodes.Text(")"))
            row = nodes.row(ids=[f"config-{section}-{key}".replace("_", "-")])
            row += _entry(nodes.literal(dotted, dotted))
            row += _entry(nodes.literal(flag, flag))
            shown = toml_value(value)
            row += _entry(nodes.literal(shown, shown))
            row += _entry(*meaning)
            body += row
        group += body
        return [table]


class CommandTable(SphinxDirective):
    """```{rnn-spark-commands}``` -> every `rnn-spark` sub-command with its one-line help."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        import click

        from rnn_spark.cli import cli

        rows = []

        def walk(group, path):
            for name in sorted(group.commands):
                cmd = group.commands[name]
                if isinstance(cmd, click.Group):
                    walk(cmd, path + [name])
                else:
                    rows.append((" ".join(path + [name]), cmd.get_short_help_str(limit=200)))

        walk(cli, ["rnn-spark"])
        table = nodes.table(classes=["rnnspark-commands"])
        group = nodes.tgroup(cols=2)
        table += group
        group += nodes.colspec(colwidth=30)
        group += nodes.colspec(colwidth=70)
        head = nodes.thead()
        row = nodes.row()
        row += _entry(nodes.Text("command"))
        row += _entry(nodes.Text("what it does"))
        head += row
        group += head
        body = nodes.tbody()
        for command, help_ in rows:
            row = nodes.row()
            row += _entry(nodes.literal(command, command))
            row += _entry(*_inline(help_))
            body += row
        group += body
        return [table]


def _click_help_as_text(app, ctx, lines: list[str]) -> None:
    """sphinx-click reads click's help as reStructuredText; ours is plain text. Blocks click keeps
    unwrapped (``\\b``: the examples) become literal blocks, and a ``*`` is a star, not emphasis."""
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("| "):
            block = []
            while i < len(lines) and lines[i].startswith("| "):
                block.append(lines[i][2:])
                i += 1
            if block and block[0].rstrip().endswith(":") and not block[0].startswith(" "):
                out += [block.pop(0), ""]   # "Examples:" stays a line of text
            out += ["::", ""] + ["    " + b for b in block] + [""]
        else:
            out.append(lines[i].replace("*", "\\*"))
            i += 1
    lines[:] = out


def _rendered(env) -> set:
    if not hasattr(env, "rnnspark_config_sections"):
        env.rnnspark_config_sections = {}
    return env.rnnspark_config_sections.setdefault(env.docname, set())


def _purge(app, env, docname):
    getattr(env, "rnnspark_config_sections", {}).pop(docname, None)


def _merge(app, env, docnames, other):
    mine = getattr(env, "rnnspark_config_sections", {})
    mine.update(getattr(other, "rnnspark_config_sections", {}))
    env.rnnspark_config_sections = mine


def _check_all_rendered(app, env):
    done = set().union(*getattr(env, "rnnspark_config_sections", {}).values())
    missing = [s for s in read_defaults() if s not in done]
    if missing:
        LOG.warning("rnn-spark-config: section(s) %s of conf/defaults.toml are on no page; add "
                    "```{rnn-spark-config} SECTION``` to docs/reference/configuration.md",
                    ", ".join(f"[{s}]" for s in missing))


def _generated_pages(app, env, added, changed, removed):
    """The reference pages are made from code (click commands, config.py, docstrings), which
    Sphinx does not watch: read them again on every build, so `scripts/docs serve` stays true."""
    return [d for d in env.found_docs if d.startswith("reference/")]


def setup(app):
    app.add_directive("rnn-spark-config", ConfigTable)
    app.add_directive("rnn-spark-commands", CommandTable)
    app.setup_extension("sphinx_click")
    app.connect("sphinx-click-process-description", _click_help_as_text)
    app.connect("sphinx-click-process-epilog", _click_help_as_text)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check_all_rendered)
    app.connect("env-get-outdated", _generated_pages)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
