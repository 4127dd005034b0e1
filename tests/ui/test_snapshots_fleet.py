"""SVG snapshots of the fleet screen (lvstui fleet) with the deterministic demo fleet
(tests/ui/fleet_support.py: frozen clock, one director unreachable, one stale, one split brain),
at 80x24 and 140x30, so a column pushed off a narrow terminal shows in the pictures.

Update with: .venv/bin/python -m pytest tests/ui/test_snapshots_fleet.py --snapshot-update
"""

from __future__ import annotations

from typing import Any

import pytest

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
