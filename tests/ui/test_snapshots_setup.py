"""SVG snapshots of the setup wizard screens: the host-key question and a preview with diffs.

The hosts are test_setup_screens.py's in-memory FakeHost (fixed fingerprint, fixed files),
so the pictures are stable; the same screens over real sshd are tests/setup/test_setup_tui_lab.py.
Update with: .venv/bin/python -m pytest tests/ui/test_snapshots_setup.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input

from lvstui.ui.setup_run import HostKeyScreen, SetupRunScreen
from tests.ui.test_setup_screens import FakeHost, make_app

SIZES = [(80, 24), (120, 40)]


def ids(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


async def to_preview(pilot: Any, until: type) -> None:
    app = pilot.app
    await pilot.press("r")
    for field, value in {"hosts": "rs1", "vips": "192.168.1.100", "port": "80"}.items():
        app.screen.query_one(f"#{field}", Input).value = value
    await pilot.pause()
    await pilot.press("f2")
    for _ in range(200):
        await pilot.pause(0.02)
        if isinstance(app.screen, until) and (until is not SetupRunScreen or app.screen.phase == "preview"):
            break
    assert isinstance(app.screen, until)
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_host_key_question(size: tuple[int, int], snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app({"rs1": FakeHost("rs1")}, key_answer=[])

    async def run_before(pilot: Any) -> None:
        await to_preview(pilot, HostKeyScreen)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_preview_with_diffs(size: tuple[int, int], snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app({"rs1": FakeHost("rs1")})

    async def run_before(pilot: Any) -> None:
        await to_preview(pilot, SetupRunScreen)
        pilot.app.screen.query_one("#plan").scroll_to(y=8, animate=False)  # down to the file's diff
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
