"""A fleet of two directors polled for real over a real sshd on 127.0.0.1: one reachable (its
lvstui played by tests/peer/fake_peer.py, the demo director's snapshot stream), one on a port
nobody listens on.  The screen shows the first read and the second UNREACHABLE, keeps answering
keys meanwhile, and Enter opens the reachable director's dashboard from its reader's stream.
"""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

from lvstui.fleet.poller import FleetPoller, ssh_readers
from lvstui.fleet.spec import load_fleet
from lvstui.setup.ssh import SshOptions
from lvstui.ui.dashboard import DashboardScreen
from lvstui.ui.fleet import FleetApp
from tests.setup.sshd_support import Sshd, free_port

REPO = Path(__file__).resolve().parents[2]
FAKE = ["env", f"PYTHONPATH={REPO}", sys.executable, str(REPO / "tests" / "peer" / "fake_peer.py")]


def fleet_file(sshd: Sshd, closed: int) -> Path:
    path = sshd.dir / "fleet.toml"
    path.write_text(f"""
[defaults]
command = {shlex.join(FAKE)!r}
identity = "{sshd.client_key}"

[[pair]]
name = "loopback"
directors = [{{ host = "root@127.0.0.1", port = {sshd.port} }}, {{ host = "root@127.0.0.1:{closed}" }}]
""")
    return path


async def test_one_director_read_one_unreachable_and_the_screen_keeps_running(sshd: Sshd) -> None:
    (sshd.dir / "known_hosts").write_text(sshd.known_hosts_line())
    spec = load_fleet(fleet_file(sshd, free_port()))
    base = SshOptions(known_hosts=str(sshd.dir / "known_hosts"), config_file=str(sshd.dir / "no_config"),
                      allow_agent=False, timeout=5.0)
    # one connection attempt at a time: the refused one must give its slot back
    poller = FleetPoller(spec, ssh_readers(base, interval=0.3, parallel=1)).start()
    app = FleetApp(poller, interval=0.3)
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                await pilot.pause(0.2)
                row = app.fleet.rows[0]
                if [d.status for d in row.directors] == ["read", "unread"]:
                    break
            assert [d.status for d in row.directors] == ["read", "unread"], row
            text = app.fleet.table.row_text("loopback")
            assert "root@127.0.0.1 ok · root@127.0.0.1:" in text and "UNREACHABLE" in text, text
            assert row.directors[0].via == "lvstui" and row.table_from == "root@127.0.0.1"
            assert row.total > 0 and row.vips  # the demo director's table and VIPs, through the stream
            assert row.directors[1].error is not None and "127.0.0.1" in row.directors[1].error
            refreshes = app.fleet.refreshes
            await pilot.press("question_mark")  # keys are answered while the readers read
            await pilot.pause()
            assert type(app.screen).__name__ == "HelpScreen"
            await pilot.press("escape", "enter")
            await pilot.pause(0.5)
            assert isinstance(app.screen, DashboardScreen) and app.screen.readonly
            while app.screen.frame is None and time.monotonic() < deadline:  # its own poller thread
                await pilot.pause(0.2)
            assert app.screen.frame is not None and app.screen.frame.snapshot.director == "demo-director"
            assert app.screen.frame.snapshot.peer is not None and app.screen.frame.snapshot.peer.stale
            await pilot.press("q")
            await pilot.pause(0.5)
            assert app.screen is app.fleet and app.fleet.refreshes > refreshes  # still refreshing
    finally:
        poller.close()
