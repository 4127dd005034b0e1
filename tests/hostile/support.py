"""Running the real ``lvstui`` CLI on hostile input and checking the house rule: one line on
stderr, no traceback, nothing changed, an answer within a few seconds."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: every case must answer within this (they are refusals before any real work)
DEADLINE = 20.0
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str


def tree(*roots: Path) -> dict[str, str]:
    """Path -> sha256 of every file under *roots* (what "nothing changed" compares)."""
    out: dict[str, str] = {}
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.is_symlink():
                out[str(path)] = "link:" + os.readlink(path)
            elif path.is_file():
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            elif path.is_dir():
                out[str(path)] = "dir"
    return out


def run_cli(argv: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            netns: bool = True) -> Outcome:
    """``python -m lvstui ARGV`` in a new network namespace (IPVS state is per namespace: a
    hostile value that slipped through could change only a namespace that dies with it).
    *netns* False: on this machine's network (to reach the test sshd on 127.0.0.1)."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **(env or {})}
    environ.pop("LVSTUI_SUDO_PASSWORD", None)
    proc = subprocess.run([*(["unshare", "--net"] if netns else []), sys.executable, "-m", "lvstui", *argv], capture_output=True,
                          stdin=subprocess.DEVNULL, timeout=DEADLINE, env=environ, cwd=cwd, check=False)
    return Outcome(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))


def assert_one_line_refusal(out: Outcome) -> str:
    """A non-zero exit with exactly one non-empty line on stderr, and no traceback anywhere."""
    assert "Traceback" not in out.stderr + out.stdout, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    if lines and lines[0].startswith("usage:"):  # argparse: its usage block, then one error line
        lines = lines[-1:]
        assert ": error: " in lines[0], out.stderr
    assert out.rc != 0, (out.rc, out.stdout, out.stderr)
    assert len(lines) == 1, out.stderr
    assert out.rc in (1, 2, 3), (out.rc, out.stderr)
    return lines[0]
