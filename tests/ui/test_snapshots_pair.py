"""SVG snapshots of the pair (issue 15): the panel under the header, split brain, the pair screen (b),
at 80x24 and 120x40, so a line cut or a table pushed off a narrow terminal shows in the pictures.

The source is tests/ui/pair_support.py's deterministic pair (frozen clock, UTC, temp config).
Update with: .venv/bin/python -m pytest tests/ui/test_snapshots_pair.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.pair_support import pair_source, vi
from tests.ui.ui_support import ManualClock, feed, make_app

SIZES = [(80, 24), (120, 40)]
SCENES = {
    "pair": ({}, ()),
    "split-brain": ({"theirs": vi("MASTER", 100)}, ()),
    "stale": ({"stale": True, "age": 42.0, "error": "lb2:22: connection refused"}, ()),
    "pair-screen": ({}, ("b",)),
}


def ids(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@pytest.mark.parametrize("scene", list(SCENES))
@pytest.mark.parametrize("size", SIZES, ids=ids)
def test_pair(scene: str, size: tuple[int, int], snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    options, keys = SCENES[scene]
    clock = ManualClock()
    app = make_app(pair_source(clock, **options), clock, isolated_config, theme="dark")  # type: ignore[arg-type]

    async def run_before(pilot: Any) -> None:
        await pilot.pause()
        feed(app, clock, 3)
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
