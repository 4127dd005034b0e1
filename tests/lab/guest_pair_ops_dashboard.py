"""Run inside a lab director: the dashboard, headless, with ``--peer``, drains one real server
from the keyboard (x, then y in the confirmation) and prints what it showed.

Usage (in the guest): python guest_pair_ops_dashboard.py PEER PEER_COMMAND VS RS [local-only]
The source, the writing director and the way to the peer are built as ``lvstui --peer PEER``
builds them (lvstui.commands.dashboard); ``local-only`` ticks "This director only" first.
Prints one JSON document: the confirmation's title and body, and the notifications after the apply.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path


async def main(peer: str, command: str, vs: str, rs: str, local_only: bool) -> dict[str, object]:
    from textual.widgets import Checkbox

    from lvstui.cli import build_parser
    from lvstui.commands.dashboard import choose_director, choose_source, with_peer_link
    from lvstui.ui.app import DashboardApp
    from lvstui.ui.confirm import ConfirmScreen

    args = build_parser().parse_args(["--peer", peer, "--peer-command", command, "--accept-new-host-key"])
    local, host_reader = choose_source(args)
    source, link = with_peer_link(args, local, 0.5)
    director = choose_director(args, source)
    tmp = Path(tempfile.mkdtemp())
    app = DashboardApp(source, interval=0.5, config_dir=tmp, config_file=tmp / "c.toml", host_reader=host_reader,
                       director=director, peer=link)
    result: dict[str, object] = {"link": link is not None}
    async with app.run_test(size=(140, 45)) as pilot:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not app.dashboard.services.move_to_key(vs):
            await pilot.pause(0.2)
        await pilot.press("enter")
        while time.monotonic() < deadline and not app.dashboard.real_servers.move_to_key(rs):
            await pilot.pause(0.2)
        await pilot.press("x")
        while time.monotonic() < deadline and not isinstance(app.screen, ConfirmScreen):
            await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, ConfirmScreen), "no confirmation"
        if local_only:
            screen.query_one("#local-only", Checkbox).value = True
            await pilot.pause(0.2)
        result["title"] = str(screen.query_one("#confirm-title").render())
        result["body"] = str(screen.query_one("#confirm-body").render())
        await pilot.press("y")
        while time.monotonic() < deadline and (app.screen is screen or app.dashboard.ops.last_result is None):
            await pilot.pause(0.2)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        result["dashboard"] = app.screen is app.dashboard
        result["messages"] = [str(n.message) for n in app._notifications]
        last = app.dashboard.ops.last_result
        result["ok"] = last.ok if last is not None else None
        result["message"] = last.message if last is not None else None
    for owned in dict.fromkeys((source, director)):
        owned.close()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:5], local_only=sys.argv[5:6] == ["local-only"]))))
