"""UI test fixtures: a frozen clock, the demo director, and a config directory that is never the user's."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvstui.demo import DemoSource
from tests.ui.ui_support import ManualClock


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """XDG_CONFIG_HOME in a temp dir, and UTC, so no test reads or writes the user's files."""
    config_home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield config_home
    monkeypatch.delenv("TZ", raising=False)
    time.tzset()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def demo(clock: ManualClock) -> DemoSource:
    return DemoSource(seed=7, clock=clock)


os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
