"""The code a reader copies runs: every fenced block marked ``<!-- docs-test: run ... -->`` in
README.md and docs/ (the README's tour, the Python API examples, ...), page by page, in order, in
a fresh directory, with this checkout's `rnn-spark` (docs/development/docs.md: Runnable examples).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import sysconfig
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARK = re.compile(r"<!--\s*docs-test:\s*run\b(?P<opts>[^>]*?)\s*-->")
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<lang>[\w+-]*)\s*$")
LANGS = {"bash", "python"}
SETUPS = ("corpus", "lm", "cls", "series")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    code: str
    setup: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    cont: bool = False     # a python block that continues the previous one (one process)


def parse_options(text: str, where: str) -> dict:
    opts: dict = {"setup": (), "needs": (), "cont": False}
    for word in text.split():
        key, _, value = word.partition("=")
        if key in ("setup", "needs") and value:
            opts[key] = tuple(value.split(","))
        elif key == "continue" and not value:
            opts["cont"] = True
        else:
            raise ValueError(f"{where}: unknown docs-test option {word!r} "
                             f"(setup=..., needs=..., continue)")
    unknown = set(opts["setup"]) - set(SETUPS)
    if unknown:
        raise ValueError(f"{where}: unknown setup {sorted(unknown)}; known: {', '.join(SETUPS)}")
    return opts


def blocks_of(path: Path) -> list[Block]:
    """The marked blocks of one Markdown file; a mark not followed by a bash or python fence is an
    error (so a mark cannot silently come loose from its block)."""
    page = str(path.relative_to(ROOT))
    lines = path.read_text().splitlines()
    out: list[Block] = []
    pending, i = None, 0
    while i < len(lines):
        line = lines[i]
        m = MARK.search(line)
        if m:
            if pending is not None:
                raise ValueError(f"{page}:{pending[0]}: docs-test mark without a code block")
            pending = (i + 1, parse_options(m.group("opts"), f"{page}:{i + 1}"))
        elif (f := FENCE.match(line)) and pending is not None:
            if f.group("lang") not in LANGS:
                raise ValueError(f"{page}:{i + 1}: runnable blocks are bash or python, "
                                 f"not {f.group('lang')!r}")
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == f.group("fence"))
            opts = pending[1]
            if opts["cont"] and (not out or out[-1].lang != "python" or f.group("lang") != "python"):
                raise ValueError(f"{page}:{i + 1}: 'continue' needs a runnable python block before")
            out.append(Block(page, i + 1, f.group("lang"), "\n".join(lines[i + 1:end]) + "\n",
                             opts["setup"], opts["needs"], opts["cont"]))
            pending, i = None, end
        elif line.strip() and pending is not None:
            raise ValueError(f"{page}:{pending[0]}: docs-test mark not followed by a code block")
        elif f := re.match(r"^(`{3,}|~{3,})", line):  # an unmarked fence: skip it whole (it may
            close = f.group(1)                          # show a mark as an example)
            i = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == close), len(lines))
        i += 1
    if pending is not None:
        raise ValueError(f"{page}:{pending[0]}: docs-test mark at the end of the page")
    return out


def pages() -> list[Path]:
    return [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))


PAGES = {str(p.relative_to(ROOT)): blocks_of(p) for p in pages()}
RUNNABLE = sorted(name for name, blocks in PAGES.items() if blocks)


def test_the_tour_and_the_api_examples_are_marked_runnable():
    readme = PAGES["README.md"]
    bash = "".join(b.code for b in readme if b.lang == "bash")
    for step in ("rnn-spark ingest", "rnn-spark train", "rnn-spark evaluate", "rnn-spark generate"):
        assert step in bash, f"the README's tour lost its runnable {step!r}"
    assert any(b.lang == "python" and "load_model" in b.code for b in readme)
    for page in ("docs/guides/engine.md", "docs/guides/using-a-model.md"):
        assert any(b.lang == "python" for b in PAGES[page]), page


def test_a_loose_mark_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    page = tmp_path / "p.md"
    page.write_text("<!-- docs-test: run -->\n\nsome text\n```bash\ntrue\n```\n")
    with pytest.raises(ValueError, match="not followed by a code block"):
        blocks_of(page)
    page.write_text("<!-- docs-test: run setup=nope -->\n```bash\ntrue\n```\n")
    with pytest.raises(ValueError, match="unknown setup"):
        blocks_of(page)
    page.write_text("<!-- docs-test: run -->\n```bash\ntrue\n```\n<!-- docs-test: run -->\n")
    with pytest.raises(ValueError, match="at the end of the page"):
        blocks_of(page)


# -- the setups ---------------------------------------------------------------------------------
def _corpus(work: Path) -> None:
    corpus = work / "corpus"
    if corpus.exists():
        return
    corpus.mkdir()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for src in sorted((stdlib / "json").glob("*.py")):
        shutil.copy(src, corpus / f"{src.stem}.txt")


def _train(data: Path, run: Path, *extra: str) -> None:
    from rnn_spark.cli import main

    assert main(["train", "--data", str(data), "--run-dir", str(run), "--runner", "inline",
                 "--hidden-sizes", "32", "--embedding-size", "16", "--k1", "32",
                 "--batch-size", "16", "--steps-per-round", "2", "--max-rounds", "6",
                 "--validate-every", "3", "--quiet", *extra]) == 0


def _lm(work: Path) -> None:
    from rnn_spark.ingest import ingest_text

    _corpus(work)
    ingest_text([str(work / "corpus" / "*.txt")], str(work / "runs" / "data"), seq_len=64,
                quiet=True)
    _train(work / "runs" / "data", work / "runs" / "lm")
    (work / "new").mkdir()
    for name in ("decoder", "encoder"):
        shutil.copy(work / "corpus" / f"{name}.txt", work / "new" / f"{name}.txt")


def _cls(work: Path) -> None:
    from rnn_spark.ingest import ingest_labelled

    rnd = random.Random(0)

    def rows(n, labelled=True):
        for _ in range(n):
            row = {"sequence": [rnd.randrange(30) for _ in range(rnd.randrange(3, 15))]}
            if labelled:
                row["label"] = rnd.randrange(3)
            yield json.dumps(row) + "\n"

    (work / "reviews.jsonl").write_text("".join(rows(300)))
    (work / "new.jsonl").write_text("".join(rows(5, labelled=False)))
    ingest_labelled([str(work / "reviews.jsonl")], str(work / "runs" / "cls-data"),
                    task="classify", quiet=True)
    _train(work / "runs" / "cls-data", work / "runs" / "cls")


def _series(work: Path) -> None:
    rnd = random.Random(1)
    lines = ["date,ticker,open,close,volume"]
    for ticker in ("AAA", "BBB"):
        price = 100.0
        for day in range(150):
            close = price * (1 + rnd.gauss(0, 0.01))
            lines.append(f"2024-{1 + day // 28:02d}-{1 + day % 28:02d},{ticker},{price:.2f},"
                         f"{close:.2f},{rnd.randrange(1000, 5000)}")
            price = close
    (work / "prices.csv").write_text("\n".join(lines) + "\n")


SETUP_FNS = {"corpus": _corpus, "lm": _lm, "cls": _cls, "series": _series}


# -- running ------------------------------------------------------------------------------------
def _env(work: Path) -> dict:
    """This checkout's rnn_spark and `rnn-spark`, whatever is installed."""
    bin_dir = work / ".bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "rnn-spark"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -c "import sys; from rnn_spark.cli import '
                    f'main; sys.exit(main())" "$@"\n')
    shim.chmod(0o755)
    (bin_dir / "python3").symlink_to(sys.executable)
    path = os.pathsep.join([str(bin_dir), os.environ.get("PATH", "")])
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PATH=path, PYTHONPATH=pythonpath, PYTHONUNBUFFERED="1")


def _groups(blocks: list[Block]) -> list[list[Block]]:
    groups: list[list[Block]] = []
    for b in blocks:
        if b.cont:
            groups[-1].append(b)
        else:
            groups.append([b])
    return groups


def _missing(needs: tuple[str, ...]) -> list[str]:
    import importlib.util

    return [m for m in needs if importlib.util.find_spec(m) is None]


@pytest.mark.parametrize("page", RUNNABLE)
def test_runnable_blocks_run(page, tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    blocks = PAGES[page]
    for setup in SETUPS:  # in a fixed order: lm and cls build on corpus
        if any(setup in b.setup for b in blocks):
            SETUP_FNS[setup](work)
    env = _env(work)
    skipped = []
    for group in _groups(blocks):
        first = group[0]
        missing = _missing(tuple(m for b in group for m in b.needs))
        if missing:
            skipped.append(f"{page}:{first.line} (needs {', '.join(missing)})")
            continue
        code = "".join(b.code for b in group)
        if first.lang == "bash":
            argv = ["bash", "-e", "-o", "pipefail", "-c", code]
        else:
            script = work / f".block-{first.line}.py"
            script.write_text(code)
            argv = [sys.executable, str(script)]
        p = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=900)
        assert p.returncode == 0, (
            f"{page}:{first.line}: the {first.lang} block failed (exit {p.returncode})\n"
            f"--- block ---\n{code}--- stdout ---\n{p.stdout[-3000:]}\n"
            f"--- stderr ---\n{p.stderr[-5000:]}")
    if skipped and len(skipped) == len(_groups(blocks)):
        pytest.skip("not run: " + "; ".join(skipped))
    for note in skipped:
        warnings.warn(f"docs block not run: {note}")
