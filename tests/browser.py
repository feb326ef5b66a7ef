"""Headless Chromium for the tests that look at a page the way a reader does (the run report,
the documentation site), with no network at all: its own empty network namespace, or a dead
proxy where namespaces are not allowed. Tests skip when Debian's chromium is not installed."""

from __future__ import annotations

import shutil
import subprocess

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium not installed (.ci/run installs Debian's chromium; "
                             "apt-get install -y chromium)")


def chromium(*args, cwd):
    """Run headless chromium with ``args`` in ``cwd`` (its profile goes there); offline."""
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
            "--no-first-run", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--hide-scrollbars", f"--user-data-dir={cwd / 'profile'}"]
    net_off = ["unshare", "--net"] if shutil.which("unshare") else []
    p = subprocess.run(net_off + base + list(args), capture_output=True, text=True, timeout=300,
                       cwd=cwd)
    if p.returncode != 0 and net_off:  # no namespaces here: fall back to a dead proxy
        p = subprocess.run(base + ["--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
                           + list(args), capture_output=True, text=True, timeout=300, cwd=cwd)
    return p
