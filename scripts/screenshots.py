#!/usr/bin/env python3
"""Render the README's screenshots: every scene of lvstui.ui.scenes to screenshots/NAME.svg.

Deterministic: the demo director with a fixed seed, a frozen clock, UTC, and
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
    from lvstui.ui.scenes import SCENES, build_scene

    scene = SCENES[name]
    app, prepare = build_scene(scene, config_dir)
    async with app.run_test(size=scene.size) as pilot:
        await prepare(pilot)
        svg = app.export_screenshot(title=f"lvstui {name}")
    path = out / f"{name}.svg"
    path.write_text(svg, encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    os.environ["TZ"] = "UTC"
    time.tzset()
    from lvstui.ui.scenes import SCENES

    names = argv or list(SCENES)
    unknown = [n for n in names if n not in SCENES]
    if unknown:
        print(f"unknown scene(s) {', '.join(unknown)}; choose from {', '.join(SCENES)}", file=sys.stderr)
        return 2
    out = ROOT / "screenshots"
    out.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CONFIG_HOME"] = tmp
        for name in names:
            path = asyncio.run(render(name, out, Path(tmp) / "lvstui"))
            print(f"{path.relative_to(ROOT)}  {SCENES[name].size[0]}x{SCENES[name].size[1]}  "
                  f"{SCENES[name].description}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
