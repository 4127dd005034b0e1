"""SVG snapshots of the fleet screen (lvstui fleet) with the deterministic demo fleet
(tests/ui/fleet_support.py: frozen clock, one director unreachable, one stale, one split brain),
at 80x24 and 140x30, so a column pushed off a narrow terminal shows in the pictures; and the
fleet's scenes (lvstui.ui.scenes.FLEET_SCENES), which scripts/screenshots.py renders for the README.

Update with: .venv/bin/python -m pytest tests/ui/test_snapshots_fleet.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lvstui.ui.scenes import FLEET_SCENES, build_fleet_scene
from tests.ui.fleet_support import demo_app
from tests.ui.ui_support import ManualClock


@pytest.mark.parametrize("size", [(80, 24), (140, 30)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_fleet(size: tuple[int, int], snap_compare) -> None:  # type: ignore[no-untyped-def]
    app = demo_app(ManualClock())

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press("down")  # the unreachable director's pair, its error under the table
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("name", list(FLEET_SCENES))
def test_fleet_scene(name: str, snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    scene = FLEET_SCENES[name]
    app, prepare = build_fleet_scene(scene, isolated_config / "lvstui")
    assert snap_compare(app, terminal_size=scene.size, run_before=prepare)


def test_fleet_sorted_filtered_at_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    """The smallest terminal with the filter bar open: the footer keeps Help and Filter, the table
    its essential columns."""
    app = demo_app(ManualClock())

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        await pilot.press("s", "slash", "l", "b", "1")  # problems first, every pair (a host with lb1)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
