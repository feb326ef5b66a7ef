"""The built site in a real browser, offline (headless Debian chromium, no network at all): the
home page and a reference page render with their title, the navigation and a code block."""

from __future__ import annotations

import re

import pytest
from browser import chromium, needs_chromium

PAGES = {
    "index.html": ("rnn-spark", "scripts/quickstart"),
    "reference/cli.html": ("Command line", "rnn-spark train"),
}


@needs_chromium
@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_renders_offline_in_chromium(site, page, tmp_path):
    np = pytest.importorskip("numpy")
    Image = pytest.importorskip("PIL.Image")
    title, code = PAGES[page]
    url = (site / page).as_uri()
    dom = chromium("--dump-dom", url, cwd=tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    html = dom.stdout
    assert re.search(rf"<title>{re.escape(title)}[^<]*</title>", html), "no title"
    nav = re.search(r'<div class="sidebar-tree">(.*?)</div>', html, re.S)
    assert nav, "no navigation"
    for section in ("Getting started", "Guides", "Reference", "Benchmarks", "Development"):
        assert section.upper() in nav.group(1).upper(), section
    assert len(re.findall(r'<a class="reference internal" href="', nav.group(1))) >= 20
    blocks = re.findall(r'<div class="highlight[^"]*"><pre>(.*?)</pre>', html, re.S)
    assert any(code in re.sub(r"<[^>]+>", "", b) for b in blocks), "no code block"
    shot = tmp_path / "shot.png"
    p = chromium(f"--screenshot={shot}", "--window-size=1280,1400", url, cwd=tmp_path)
    assert p.returncode == 0 and shot.is_file(), p.stderr[-2000:]
    px = np.asarray(Image.open(shot).convert("RGB"), dtype=np.float64)
    ink = (px.sum(axis=2) < 3 * 200).mean()      # text, code, the navigation: drawn, styled
    assert px.std() > 15 and ink > 0.01, (px.std(), ink)
