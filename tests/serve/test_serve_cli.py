"""``lvstui serve``'s command line on this machine: its one start line, its address, its refusals.

The served dashboard itself, in a browser, is tested by test_serve_browser.py (demo, here) and
tests/lab/test_serve_lab.py (the real kernel, in the lab).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import psutil
import pytest

from lvstui.cli import build_parser
from lvstui.commands.serve import DEFAULT_LISTEN, app_command
from tests.serve.support import Served, free_port

REPO = Path(__file__).resolve().parents[2]


def lvstui(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "lvstui", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("listen", ["nope", "127.0.0.1:99999", "127.0.0.1:0", "127.0.0.1:http", "[::1",
                                    "localhost:10561", "1.2.3.4.5:80"])
def test_bad_listen_is_one_line_and_exit_2(listen: str) -> None:
    r = lvstui("--demo", "serve", "--listen", listen)
    assert r.returncode == 2, r
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("lvstui: --listen "), r.stderr
    assert r.stdout == ""


def test_busy_port_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = lvstui("--demo", "serve", "--listen", f"127.0.0.1:{port}")
    assert r.returncode == 1, r
    assert r.stderr == f"lvstui: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_default_is_this_machine_only_and_says_so(serve: type[Served]) -> None:
    assert DEFAULT_LISTEN.startswith("127.0.0.1:")
    port = int(DEFAULT_LISTEN.rsplit(":", 1)[1])
    s = serve("--demo", "serve")
    assert s.line == f"lvstui serve: http://{DEFAULT_LISTEN}/ (read-only dashboard, demo source)"
    listening = [c.laddr for c in psutil.Process(s.proc.pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN]
    assert [(a.ip, a.port) for a in listening] == [("127.0.0.1", port)]
    rc, rest = s.stop()
    assert rc == 0 and rest == "", rest


def test_page_urls_follow_the_address_the_browser_used(serve: type[Served]) -> None:
    port = free_port()
    s = serve("--demo", "serve", "--listen", f"127.0.0.1:{port}")
    assert s.line == f"lvstui serve: http://127.0.0.1:{port}/ (read-only dashboard, demo source)"
    page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read().decode()
    assert f'data-session-websocket-url="ws://127.0.0.1:{port}/ws"' in page
    # a wall screen that reaches a 0.0.0.0 server by the director's name gets URLs with that name
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"Host": f"director.example:{port}"})
    page = urllib.request.urlopen(req, timeout=10).read().decode()
    assert f'data-session-websocket-url="ws://director.example:{port}/ws"' in page
    assert re.search(rf'src="http://director.example:{port}/static/js/textual.js"', page)
    assert "lvstui (read-only)" in page
    assert s.stop()[0] == 0


@pytest.mark.parametrize("argv", [["serve"], ["--demo", "--interval", "2", "serve"],
                                  ["--theme", "nord", "serve", "--listen", "0.0.0.0:8080"]])
def test_served_dashboard_runs_under_the_readonly_policy(argv: list[str]) -> None:
    # what textual-serve starts per browser, parsed the way cli.main parses it: --readonly,
    # which cli.main turns into the read-only WritePolicy of that process, whatever `serve` got
    command = app_command(build_parser().parse_args(argv))
    assert command[:4] == [sys.executable, "-m", "lvstui", "--readonly"]
    served = build_parser().parse_args(command[3:])
    assert served.readonly is True and getattr(served, "handler", None) is None  # the dashboard
    parent = build_parser().parse_args(argv)
    assert (served.demo, served.interval, served.theme) == (parent.demo, parent.interval, parent.theme)


def test_help_says_read_only_and_the_default_address() -> None:
    r = lvstui("serve", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "read-only" in text and DEFAULT_LISTEN in text
    top = lvstui("--help").stdout
    assert re.search(r"serve\s+the dashboard in a web browser, read-only", top), top
