"""Run inside a lab director: the fleet screen, headless, on a fleet file; print what it shows.

Usage (in the guest): python guest_fleet.py FLEET_FILE PAIR SECONDS
Polls until PAIR's directors are all read (or SECONDS pass), then prints one JSON document:
every row's text and model, the header, and, after Enter on PAIR, the director its dashboard
shows and its pair panel.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from pathlib import Path


async def main(path: str, pair: str, seconds: float) -> dict[str, object]:
    from lvstui.fleet.poller import FleetPoller, ssh_readers
    from lvstui.fleet.spec import load_fleet
    from lvstui.setup.ssh import SshOptions
    from lvstui.ui.dashboard import DashboardScreen
    from lvstui.ui.fleet import FleetApp

    spec = load_fleet(Path(path))
    poller = FleetPoller(spec, ssh_readers(SshOptions(timeout=30.0), interval=0.5, parallel=8)).start()
    app = FleetApp(poller, interval=0.5)
    result: dict[str, object] = {}
    try:
        async with app.run_test(size=(160, 30)) as pilot:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                await pilot.pause(0.3)
                row = next((r for r in app.fleet.rows if r.name == pair), None)
                if row is not None and all(d.status == "read" for d in row.directors) and row.instances:
                    break
            result["rows"] = {r.name: dataclasses.asdict(r) for r in app.fleet.rows}
            result["text"] = {k: app.fleet.table.row_text(k) for k in app.fleet.table.keys}
            result["header"] = str(app.fleet.query_one("#fleet-header").render())
            app.fleet.table.move_to_key(pair)
            await pilot.pause()
            await pilot.press("enter")
            while time.monotonic() < deadline + 30:
                await pilot.pause(0.3)
                screen = app.screen
                if isinstance(screen, DashboardScreen) and screen.frame is not None and screen.frame.error is None:
                    break
            screen = app.screen
            if isinstance(screen, DashboardScreen) and screen.frame is not None:
                result["dashboard_director"] = screen.frame.snapshot.director
                result["dashboard_services"] = len(screen.frame.snapshot.virtual_services)
                result["dashboard_pair_panel"] = str(screen.query_one("#pair").render()).splitlines()
                result["dashboard_readonly"] = screen.readonly
    finally:
        poller.close()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))))
