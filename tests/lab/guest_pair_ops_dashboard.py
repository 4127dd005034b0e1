"""Run inside a lab director: the dashboard, headless, with ``--peer``, drains one real server
from the keyboard (x, then y in the confirmation) and prints what it showed.

Usage (in the guest): python guest_pair_ops_dashboard.py PEER PEER_COMMAND VS RS [local-only]
The source, the writing director and the way to the peer are built as ``lvstui --peer PEER``
builds them (lvstui.commands.dashboard); ``local-only`` ticks "This director only" first.
Prints one JSON document: the confirmation's title and body, the notifications after the apply, the outcome and its seconds.
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

    def step(what: str) -> None:  # on stderr, so that a run that stalls says where
        print(f"{time.monotonic():.1f} {what}", file=sys.stderr, flush=True)

    async with app.run_test(size=(140, 45)) as pilot:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not app.dashboard.services.move_to_key(vs):
            await pilot.pause(0.2)
        step(f"services: {vs} selected")
        await pilot.press("enter")
        while time.monotonic() < deadline and not app.dashboard.real_servers.move_to_key(rs):
            await pilot.pause(0.2)
        step(f"real servers: {rs} selected")
        await pilot.press("x")
        while time.monotonic() < deadline and not (isinstance(app.screen, ConfirmScreen)
                                                   and app.screen.query("#confirm-title")):  # pushed and composed
            await pilot.pause(0.2)
        await pilot.pause(0.2)
        screen = app.screen
        assert isinstance(screen, ConfirmScreen), "no confirmation"
        if local_only:
            screen.query_one("#local-only", Checkbox).value = True
            await pilot.pause(0.2)
        result["title"] = str(screen.query_one("#confirm-title").render())
        result["body"] = str(screen.query_one("#confirm-body").render())
        step("confirmation: yes")
        await pilot.press("y")
        deadline = time.monotonic() + 90  # the peer's lvstui over SSH, then here
        while time.monotonic() < deadline and (app.screen is screen or app.dashboard.ops.last_result is None):
            await pilot.pause(0.2)
        await pilot.pause(0.5)  # the outcome's notification (never wait for every worker: the poller's runs on)
        step("applied")
        result["dashboard"] = app.screen is app.dashboard
        result["messages"] = [str(n.message) for n in app._notifications]
        last = app.dashboard.ops.last_result
        result["ok"] = last.ok if last is not None else None
        result["message"] = last.message if last is not None else None
        result["seconds"] = last.seconds if last is not None else None
    for owned in dict.fromkeys((source, director)):
        owned.close()
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(*sys.argv[1:5], local_only=sys.argv[5:6] == ["local-only"]))))
