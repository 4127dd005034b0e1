"""SVG snapshot tests of the main screens (the same scenes scripts/screenshots.py renders).

The demo director, a frozen clock, UTC and a temp config make them stable.
Update with: .venv/bin/python -m pytest tests/ui/test_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.ui.scenes import SCENES, build_scene


@pytest.mark.parametrize("name", list(SCENES))
def test_scene(name: str, snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    scene = SCENES[name]
    app, prepare = build_scene(scene, isolated_config / "lvstui")
    assert snap_compare(app, terminal_size=scene.size, run_before=prepare)


def test_stale_screen(snap_compare, isolated_config: Path) -> None:  # type: ignore[no-untyped-def]
    from lvstui.backend import BackendError
    from lvstui.ui.scenes import Scene

    app, prepare = build_scene(Scene(size=(100, 30), polls=5), isolated_config / "lvstui")
    source = app.source
    real_read = source.read
    reads = {"n": 0}

    def failing_read():  # type: ignore[no-untyped-def]
        reads["n"] += 1
        if reads["n"] > 3:
            raise BackendError("netlink: Operation not permitted (are you root?)")
        return real_read()

    source.read = failing_read  # type: ignore[method-assign]
    assert snap_compare(app, terminal_size=(100, 30), run_before=prepare)
