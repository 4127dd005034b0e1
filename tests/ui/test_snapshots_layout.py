"""SVG snapshots of the layout at 80x24, 120x40 and 200x50 (issue 18, item 5 and the detail view).

The same scenes as tests/ui/test_snapshots.py (demo source, frozen clock, UTC, temp config):
the dashboard, the real server's detail view, and a director with the longest IPv6 ids, so a
column, header or footer that falls out of line or is cut shows in the pictures.
Update with: .venv/bin/python -m pytest tests/ui/test_snapshots_layout.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lvstui.ui.scenes import Scene, build_scene
from tests.ui.test_layout import LONG_VS, add_long_v6

SIZES = [(80, 24), (120, 40), (200, 50)]
#: the real servers of the first service, the cursor on 10.1.0.14:80 (DOWN at t=31), Enter
DETAIL_KEYS = ("enter", "j", "j", "j", "enter")


def ids(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_dashboard(size: tuple[int, int], snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    app, prepare = build_scene(Scene(size=size), isolated_config / "lvstui")
    assert snap_compare(app, terminal_size=size, run_before=prepare)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_detail_view(size: tuple[int, int], snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    app, prepare = build_scene(Scene(size=size, press=DETAIL_KEYS), isolated_config / "lvstui")
    assert snap_compare(app, terminal_size=size, run_before=prepare)


@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_long_ipv6_ids(size: tuple[int, int], snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    app, prepare = build_scene(Scene(size=size, polls=3), isolated_config / "lvstui")
    add_long_v6(app.source)  # type: ignore[arg-type]

    async def run_before(pilot: Any) -> None:
        await prepare(pilot)
        app.dashboard.services.move_to_key(LONG_VS)  # its real server (a long IPv6 id) below
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
