"""Fixtures shared by every test directory (keep this small)."""

from __future__ import annotations

import os

import pytest

from lvstui.lab.kernel import require_uml
from lvstui.lab.results import LabUnavailable
from lvstui.lab.userland import host_path
from tests.support import faultcount

# keepalived, ipvsadm and sshd for the tests that run them on this machine (keepalived -t, a
# loopback sshd): the system's, else the wrappers of what scripts/userland.sh unpacked.
os.environ["PATH"] = host_path()


def _lab_kernel() -> str:
    try:
        return f"lab kernel: {require_uml().describe()}"
    except LabUnavailable as exc:
        return f"lab kernel: none ({exc})"


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Names the lab's guest kernel at the top of every test run (the probe's verdict is cached)."""
    return [_lab_kernel()]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """... and again at the end, beside the counts (and the fault-injection suites' counts)."""
    terminalreporter.write_line(_lab_kernel())
    line = faultcount.summary()
    if line:
        terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/lab/ runs in the User-Mode Linux lab: mark it ``lab``."""
    for item in items:
        if "/tests/lab/" in str(item.path).replace("\\", "/"):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(autouse=True)
def _private_state_and_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes the real machine's journal, remembered weights or user config.

    Commands run inside the lab get their own LVSTUI_STATE_DIR from the test; this covers
    everything that runs on the host (the operations layer with the demo director, the TUI).
    """
    base = tmp_path_factory.mktemp("lvstui-home")
    monkeypatch.setenv("LVSTUI_STATE_DIR", str(base / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "xdg-state"))
