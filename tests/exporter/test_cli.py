"""``lvstui exporter`` as a process: it says where it listens, serves, stops on SIGTERM; bad flags are one line."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from lvstui import __version__
from lvstui.commands.exporter import DEFAULT_LISTEN
from lvstui.exporter import DEFAULT_ADDRESS, DEFAULT_PORT
from tests.exporter.support import parse, value

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_help_default_is_the_package_default() -> None:
    assert f"{DEFAULT_ADDRESS}:{DEFAULT_PORT}" == DEFAULT_LISTEN
    r = subprocess.run([sys.executable, "-m", "lvstui", "exporter", "--help"], capture_output=True, text=True,
                       cwd=ROOT, timeout=60, check=False)
    assert r.returncode == 0 and "127.0.0.1:10560" in r.stdout


def test_bad_listen_is_one_line_exit_2() -> None:
    r = subprocess.run([sys.executable, "-m", "lvstui", "exporter", "--listen", "localhost:80"], capture_output=True,
                       text=True, cwd=ROOT, timeout=60, check=False)
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["lvstui: --listen 'localhost:80': 'localhost' is not an IP address"]


def test_demo_exporter_serves_and_stops_on_sigterm() -> None:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lvstui", "--demo", "exporter", "--listen", f"127.0.0.1:{port}",
                             "--poll-interval", "0.2"], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert line.startswith(f"lvstui exporter: http://127.0.0.1:{port}/metrics (read-only; first poll ok;"), line
        time.sleep(0.6)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
            _, samples = parse(r.read())
        assert value(samples, "lvstui_up") == 1.0 and value(samples, "lvstui_polls_total") >= 2.0
        assert value(samples, "lvstui_info", version=__version__, director="demo-director", source="demo") == 1.0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_port_in_use_is_one_line() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([sys.executable, "-m", "lvstui", "--demo", "exporter", "--listen", f"127.0.0.1:{port}"],
                           capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert r.returncode == 1
    assert r.stderr.splitlines() == [f"lvstui: cannot listen on 127.0.0.1:{port}: Address already in use"]
