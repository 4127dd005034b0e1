"""``lvstui --demo serve`` read by a real headless Chromium on this machine.

The demo source (a simulated director whose counts move every poll) stands in for a kernel
this machine does not have; the same page is read with the lab's real IPVS kernel in
tests/lab/test_serve_lab.py.  The page's text is the xterm.js terminal's own buffer
(tests/serve/page_text.py).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.serve.support import CHROMIUM, NO_CHROMIUM, Page, Served, free_port, page_argv

DEMO_SERVICES = {"tcp:192.0.2.10:80", "tcp:192.0.2.10:443", "udp:192.0.2.53:53", "tcp:198.51.100.20:3306",
                 "tcp:[2001:db8::10]:80", "fwmark:42"}
COUNTS = ("Active", "InAct", "CPS", "InPPS", "In B/s")


def test_demo_page_shows_the_services_and_their_counts_change(serve: type[Served]) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(NO_CHROMIUM, pytrace=False)
    port = free_port()
    s = serve("--demo", "serve", "--listen", f"127.0.0.1:{port}")
    assert s.line.startswith(f"lvstui serve: http://127.0.0.1:{port}/"), s.line
    argv = page_argv(sys.executable, f"http://127.0.0.1:{port}/", wait_for=("fwmark:42", "Real servers of"),
                     samples=3, gap=2.5, timeout=90)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    page = Page.parse(r.stdout, r.stderr)
    assert page.report["waited"], page.describe()
    assert "READ-ONLY" in page.samples[0] and "DEMO" in page.samples[0], page.describe()
    shown = page.service_rows("")
    assert [set(x) for x in shown] == [DEMO_SERVICES] * 3, page.describe()
    for vs in DEMO_SERVICES - {"udp:192.0.2.53:53"}:  # UDP has no Active connections; its others move
        counts = [tuple(x[vs][c] for c in COUNTS) for x in shown]
        assert len(set(counts)) > 1, f"{vs}: {counts}"
    assert s.stop()[0] == 0
