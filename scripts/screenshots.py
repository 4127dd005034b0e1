#!/usr/bin/env python3
"""Render the README's screenshots: every scene of lvstui.ui.scenes (the dashboard's SCENES and the
fleet's FLEET_SCENES) to screenshots/NAME.svg.

Deterministic: the demo director (and the demo fleet) with a fixed seed, a frozen clock, UTC, and
a throw-away config directory.  Run: .venv/bin/python scripts/screenshots.py [NAME...]
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


async def render(name: str, out: Path, config_dir: Path) -> Path:
    from lvstui.ui.scenes import FLEET_SCENES, SCENES, build_fleet_scene, build_scene

    fleet = name in FLEET_SCENES
    scene = FLEET_SCENES[name] if fleet else SCENES[name]
    app, prepare = (build_fleet_scene if fleet else build_scene)(scene, config_dir)
    async with app.run_test(size=scene.size) as pilot:
        await prepare(pilot)
        svg = app.export_screenshot(title=f"lvstui {name}")
    path = out / f"{name}.svg"
    path.write_text(svg, encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    os.environ["TZ"] = "UTC"
    time.tzset()
    from lvstui.ui.scenes import FLEET_SCENES, SCENES

    scenes = {**SCENES, **FLEET_SCENES}
    names = argv or list(scenes)
    unknown = [n for n in names if n not in scenes]
    if unknown:
        print(f"unknown scene(s) {', '.join(unknown)}; choose from {', '.join(scenes)}", file=sys.stderr)
        return 2
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = tmp
        for name in names:
            path = asyncio.run(render(name, out, Path(tmp) / "lvstui"))
            print(f"{path.relative_to(ROOT)}  {scenes[name].size[0]}x{scenes[name].size[1]}  "
                  f"{scenes[name].description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
