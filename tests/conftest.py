"""Fixtures shared by every test directory (keep this small)."""

from __future__ import annotations

import pytest


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
