"""Run inside a lab director: the dashboard, headless, with ``--peer``; print what the pair shows.

Usage (in the guest): python guest_pair_dashboard.py PEER PEER_COMMAND [SECONDS [UNTIL]]
UNTIL: ``backup`` (default: the peer read and BACKUP) or ``split-brain`` (SPLIT BRAIN in the header).
The source is built as ``lvstui --peer PEER`` builds it (lvstui.commands.dashboard: the
kernel with keepalived, wrapped with the peer's background reader).  Prints one JSON document:
the header, the pair panel's lines once the peer is read (or the last ones), the pair screen
(b), and the number of frames applied while the peer was being read.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path


async def main(peer: str, command: str, seconds: float, until: str = "backup") -> dict[str, object]:
    from lvstui.cli import build_parser
    from lvstui.commands.dashboard import choose_source, with_peer
    from lvstui.ui.app import DashboardApp
    from lvstui.ui.pair import PairPanel, PairScreen

    args = build_parser().parse_args(["--readonly", "--peer", peer, "--peer-command", command,
                                      "--accept-new-host-key"])
    local, host_reader = choose_source(args)
    source = with_peer(args, local, 0.5)
    tmp = Path(tempfile.mkdtemp())
    app = DashboardApp(source, interval=0.5, readonly=True, config_dir=tmp, config_file=tmp / "c.toml",
                       host_reader=host_reader)
    result: dict[str, object] = {"wrapped": type(source).__name__}
    async with app.run_test(size=(120, 40)) as pilot:
        deadline = time.monotonic() + seconds
        lines: list[str] = []
        while time.monotonic() < deadline:
            await pilot.pause(0.2)
            lines = str(app.query_one(PairPanel).render()).splitlines()
            header = str(app.query_one("#header").render())
            if until == "split-brain" and "SPLIT BRAIN" in header:
                result["after"] = seconds - (deadline - time.monotonic())
                break
            if until == "backup" and lines and " · read " in lines[0] and len(lines) > 1 and "BACKUP" in lines[1]:
                break
        result["frames"] = app.dashboard.frames_applied
        result["panel"] = lines
        result["header"] = str(app.query_one("#header").render())
        await pilot.press("b")
        await pilot.pause(0.3)
        result["pair_screen"] = (str(app.screen.query_one("#pair-text").render())
                                 if isinstance(app.screen, PairScreen) else "")
    source.close()
    return result


if __name__ == "__main__":
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], seconds, *sys.argv[4:5]))))
