"""What the browser tests share: the page reader's command line and its report."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.screen_rows import rows

REPO = Path(__file__).resolve().parents[2]
PAGE_TEXT = Path(__file__).resolve().parent / "page_text.py"
CHROMIUM = "/usr/lib/chromium/chromium"
NO_CHROMIUM = f"headless Chromium is missing ({CHROMIUM}): run scripts/setup.sh (Debian's chromium package)"


def page_argv(python: str, url: str, *, wait_for: tuple[str, ...], samples: int, gap: float,
              keys: tuple[tuple[str, str], ...] = (), timeout: float = 120.0) -> list[str]:
    argv = [python, str(PAGE_TEXT), url, "--samples", str(samples), "--gap", str(gap), "--timeout", str(timeout)]
    for text in wait_for:
        argv += ["--wait-for", text]
    for typed, after in keys:
        argv += ["--keys", typed, "--wait-after", after]
    return argv


@dataclass
class Page:
    """page_text.py's report: the screens read from the page's terminal."""

    report: dict[str, Any]
    samples: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, stdout: str, stderr: str = "") -> Page:
        try:
            report = json.loads(stdout)
        except ValueError as exc:
            raise AssertionError(f"the page reader printed no report: {exc}\n{stdout[-2000:]}\n{stderr[-2000:]}") from None
        assert "error" not in report, f"{report['error']}\n{report.get('stderr_tail', '')}"
        return cls(report, list(report["samples"]))

    def service_rows(self, prefix: str) -> list[dict[str, dict[str, str]]]:
        """Per sample: the virtual-service rows (id -> {column: cell}) whose id starts with prefix."""
        return [{k: v for k, v in rows(screen, prefix).items() if "Up/RS" in v and ":" in k}
                for screen in self.samples]

    def describe(self) -> str:
        return "\n---\n".join(self.samples) + "\n" + json.dumps(
            {k: v for k, v in self.report.items() if k not in ("samples", "after", "stderr_tail")})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    def __init__(self, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "lvstui", *args], stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, text=True, env=env)
        assert self.proc.stderr is not None
        self.line = self.proc.stderr.readline().rstrip("\n")

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        assert self.proc.stderr is not None
        rest = self.proc.stderr.read()
        return self.proc.wait(timeout=20), rest
