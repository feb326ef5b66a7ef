"""The built site's reference pages match the code: every configuration key (with its default),
every CLI command and option, every public Python name; the README's links land on real pages
and anchors; no section of the old single-page README lost its home; nothing is fetched online."""

from __future__ import annotations

import re
import sys
from dataclasses import fields
from html import unescape
from pathlib import Path

import click
import pytest

from rnn_spark import config
from rnn_spark.cli import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def ids(page: Path) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page.read_text()))


def text_of(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


def row(page: str, row_id: str) -> str:
    m = re.search(rf'<tr[^>]*id="{re.escape(row_id)}"[^>]*>(.*?)</tr>', page, re.S)
    assert m, f"no table row {row_id} in the configuration reference"
    return text_of(m.group(1))


def test_every_config_key_is_in_the_reference_with_its_default(site):
    """conf/defaults.toml and config.py against the rendered page (issue #21: the hand-written
    table said train.averager defaults to "average"; it is "bmuf")."""
    page = (site / "reference" / "configuration.html").read_text()
    defaults = tomllib.loads((ROOT / "conf" / "defaults.toml").read_text())
    in_code = {s: {f.name for f in fields(cls)} for s, cls in config.SECTIONS.items()}
    assert {s: set(keys) for s, keys in defaults.items()} == in_code
    for section, keys in defaults.items():
        for key, value in keys.items():
            cells = row(page, f"config-{section}-{key}".replace("_", "-"))
            assert f"{section}.{key}" in cells
            assert config._toml_value(value) in cells, (section, key, cells)
            if not isinstance(value, dict):
                assert config.flag_name(f"{section}.{key}") in cells, (section, key, cells)
    assert '"bmuf"' in row(page, "config-train-averager")


def commands(group: click.Group, path: tuple[str, ...] = ("rnn-spark",)):
    yield path, group
    for name, cmd in sorted(group.commands.items()):
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path + (name,))
        else:
            yield path + (name,), cmd


def test_every_cli_command_and_option_is_in_the_reference(site):
    page = site / "reference" / "cli.html"
    found, html = ids(page), page.read_text()
    missing = []
    for path, cmd in commands(cli):
        prog = "-".join(path)
        if len(path) > 1 and prog not in found:
            missing.append(" ".join(path))
        for p in cmd.params:
            if isinstance(p, click.Option):
                for opt in p.opts + p.secondary_opts:
                    if f"cmdoption-{prog}-{opt.lstrip('-')}" not in found:
                        missing.append(f"{' '.join(path)} {opt}")
            elif isinstance(p, click.Argument) and p.human_readable_name.upper() not in html:
                missing.append(f"{' '.join(path)} {p.human_readable_name}")
    assert not missing, f"not in the CLI reference: {missing}"
    # the command table at the top lists every leaf command
    table = text_of(html.split('class="rnnspark-commands', 1)[1].split("</table>", 1)[0])
    for path, cmd in commands(cli):
        if not isinstance(cmd, click.Group):
            assert " ".join(path) in table


API_PAGES = {
    "rnn_spark.engine": "engine", "rnn_spark.serve": "serve", "rnn_spark.data": "data",
    "rnn_spark.fs": "fs", "rnn_spark.ingest": "ingest", "rnn_spark.errors": "errors",
}


@pytest.mark.parametrize("module, page", sorted(API_PAGES.items()))
def test_every_public_name_is_in_the_api_reference(site, module, page):
    import importlib

    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None) or [n for n in vars(mod) if not n.startswith("_")
                                             and getattr(vars(mod)[n], "__module__", "") == module]
    found = ids(site / "reference" / "api" / f"{page}.html")
    missing = [n for n in names if f"{module}.{n}" not in found]
    assert not missing, f"{module}: {missing} are public (__all__) but not in reference/api/{page}.md"
    top = ids(site / "reference" / "api" / "rnn_spark.html")
    assert "rnn_spark.load_model" in top


def readme_links() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"\]\((?!https?://)([^)\s]+)\)", text)


def test_readme_links_resolve_into_the_site(site):
    links = readme_links()
    assert len(links) >= 15
    for link in links:
        target, _, anchor = link.partition("#")
        assert (ROOT / target).exists(), f"README links to {target}, which does not exist"
        if not target.startswith("docs/"):
            continue
        rel = Path(target).relative_to("docs")
        if rel.suffix == ".md":
            html = site / rel.with_suffix(".html")
            assert html.is_file(), f"README links to {target}: no page {html.name} in the site"
            if anchor:
                assert anchor in ids(html), f"README links to {link}: no such anchor"
        else:  # a picture: copied into the site by the page that shows it
            assert list(site.rglob(rel.name)), f"README shows {target}; the site has no copy"


# Every "##"/"###" heading of the README before the site existed (git show 52a4184:README.md),
# and the page (and anchor) that holds its content now.
OLD_README = {
    "Install": "getting-started/local.html#install",
    "A short tour": "getting-started/local.html#a-short-tour",
    "CLI reference": "reference/cli.html",
    "Configuration reference": "reference/configuration.html",
    "How training works": "guides/training.html",
    "Resident tasks": "guides/resident-tasks.html",
    "Watching a run": "guides/watching.html",
    "Running on YARN": "guides/yarn.html",
    "Failure modes": "guides/failures.html",
    "Recommended Spark settings": "guides/failures.html#recommended-spark-settings",
    "Using a trained model": "guides/using-a-model.html",
    "Scoring speed (`benchmarks/predict.py`)": "benchmarks/predict.html",
    "The docker-compose cluster": "guides/compose.html",
    "The Hadoop test cluster": "development/test-cluster.html",
    "Data: ingest and shards": "guides/data.html",
    "Files: local paths and HDFS": "guides/files.html",
    "The engine and Python API": "guides/engine.html",
    "ModelConfig": "guides/engine.html#modelconfig",
    "Model API": "guides/engine.html#model-api",
    "Truncated BPTT(k1, k2)": "guides/engine.html#truncated-bptt-k1-k2",
    "How it is checked": "guides/engine.html#how-it-is-checked",
    "Optimizers, clipping, schedules, averaging": "guides/optimizers.html",
    "Benchmarks": "benchmarks/index.html",
    "Kernel speed vs PyTorch (`benchmarks/kernel.py`)": "benchmarks/kernel.html",
    "Distributed training that pays off": "benchmarks/distributed.html",
    "Round overhead (`benchmarks/rounds.py`)": "benchmarks/rounds.html",
    "Scaling past the driver (`benchmarks/scaling.py`)": "benchmarks/scaling.html",
    "Submit (`benchmarks/submit.py`)": "benchmarks/submit.html",
    "Data and files": "benchmarks/data.html",
    "Development": "development/index.html",
}


def test_every_section_of_the_old_readme_has_a_page(site):
    for heading, where in OLD_README.items():
        page, _, anchor = where.partition("#")
        assert (site / page).is_file(), (heading, page)
        if anchor:
            assert anchor in ids(site / page), (heading, where)


def test_the_site_fetches_nothing_from_the_network(site):
    """No CDN script, stylesheet, font or picture: the site reads offline (file://)."""
    remote = re.compile(r'<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)="(?:https?:)?//',
                        re.I)
    for page in site.rglob("*.html"):
        hit = remote.search(page.read_text())
        assert not hit, f"{page.relative_to(site)} loads {hit.group(0)}"
    for css in site.rglob("*.css"):
        assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", css.read_text()), css


def test_options_and_quotes_read_as_typed(site):
    """Options and quotes are shown as a shell wants them: Sphinx's smart typography had turned
    `--overwrite` into an en dash and '...' into curly quotes in headings, links and the CLI
    reference's help texts (conf.py: smartquotes = False)."""
    cli_text = text_of((site / "reference" / "cli.html").read_text())
    assert "--set optim.lr=0.01" in cli_text
    assert "'spark.conf={\"spark.executor.memory\": \"2g\"}'" in cli_text
    for page in site.rglob("*.html"):
        body = page.read_text().split("<article", 1)[-1].split("</article>", 1)[0]
        text = text_of(body)
        hit = re.search(r"\u2013[a-z]|[\u2018\u2019\u201c\u201d]", text)
        where = text[max(hit.start() - 40, 0):hit.end() + 20] if hit else ""
        assert not hit, f"{page.relative_to(site)}: {where!r}"
