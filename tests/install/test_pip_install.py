"""lvstui alone on a director: `pip install .` into a fresh venv, no apt step, no lab.

Builds the wheel from this checkout and installs it with its dependencies from the package
index into a new virtual environment, then runs `lvstui --help`, `lvstui snapshot` (this host's
kernel has no IPVS: it must say what to load) and `lvstui --demo` in a real terminal (tmux).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("director") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    src = tmp_path_factory.mktemp("src") / "lvstui"
    # a clean copy of the tracked files, as `pip install .` from a fresh clone sees them
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, files.decode().split("\0")):
        target = src / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, target)
    done = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(src)],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


def test_help(installed: Path) -> None:
    done = subprocess.run([str(installed / "bin" / "lvstui"), "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "lvstui" in done.stdout and "--readonly" in done.stdout


def test_snapshot_without_ipvs_says_what_to_load(installed: Path) -> None:
    done = subprocess.run([str(installed / "bin" / "lvstui"), "snapshot", "--no-keepalived"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "IPVS is not available in this kernel" in lines[0] and "modprobe ip_vs" in lines[0]


def test_demo_draws_in_a_terminal(installed: Path, tmp_path: Path) -> None:
    session = f"lvstui-pip-{tmp_path.name}"
    env_cmd = f"env HOME={tmp_path} TERM=xterm-256color {installed / 'bin' / 'lvstui'} --demo"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "100", "-y", "30", env_cmd], check=True)
    try:
        screen = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            screen = subprocess.run(["tmux", "capture-pane", "-p", "-t", session], capture_output=True,
                                    text=True, check=False).stdout
            if "DEMO" in screen and "tcp:" in screen:
                break
            time.sleep(0.3)
        assert "DEMO" in screen and "tcp:" in screen, screen
        subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            alive = subprocess.run(["tmux", "has-session", "-t", session], capture_output=True, check=False)
            if alive.returncode != 0:
                break
            time.sleep(0.2)
        else:
            pytest.fail("lvstui --demo did not quit on q")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)
