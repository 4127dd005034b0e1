"""A fleet of two directors polled for real over a real sshd on 127.0.0.1: one reachable (its
lvstui played by tests/peer/fake_peer.py, the demo director's snapshot stream), one on a port
nobody listens on; and five whose handshakes hang, connected two at a time.  The screen shows the first read and the second UNREACHABLE, keeps answering
keys meanwhile, and Enter opens the reachable director's dashboard from its reader's stream.
"""

from __future__ import annotations

import shlex
import socket
import sys
import threading
import time
from pathlib import Path

from lvstui.fleet.poller import FleetPoller, ssh_readers
from lvstui.fleet.spec import load_fleet, parse_fleet
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


class CountingGate(threading.Semaphore):
    """The poller's slots, counting who holds one (the bound under test)."""

    def __init__(self, value: int) -> None:
        super().__init__(value)
        self.lock = threading.Lock()
        self.holding = self.most = self.entered = 0

    def __enter__(self) -> bool:
        got = super().__enter__()
        with self.lock:
            self.holding += 1
            self.entered += 1
            self.most = max(self.most, self.holding)
        return got

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.holding -= 1
        super().__exit__(*exc)


def test_connection_attempts_are_bounded_and_a_hung_handshake_never_blocks_view() -> None:
    # five directors whose ports accept TCP and never say a word: each handshake hangs to its timeout
    silent = [socket.socket() for _ in range(5)]
    for s in silent:
        s.bind(("127.0.0.1", 0))
        s.listen(4)
    pairs = "\n".join(f'[[pair]]\nname = "p{i}"\ndirectors = [{{ host = "root@127.0.0.1:{s.getsockname()[1]}" }}]'
                      for i, s in enumerate(silent))
    spec = parse_fleet(pairs, "silent.toml")
    gate = CountingGate(2)
    base = SshOptions(config_file="/nonexistent/ssh_config", known_hosts="/nonexistent/known_hosts",
                      allow_agent=False, timeout=2.0)
    poller = FleetPoller(spec, ssh_readers(base, interval=0.5, parallel=2, gate=gate)).start()
    try:
        deadline = time.monotonic() + 60
        while gate.entered < len(silent) and time.monotonic() < deadline:
            rows = poller.rows()  # answers at once: every reader waits on its own thread
            assert all(r.stale == 1 for r in rows)
            time.sleep(0.1)
        assert gate.entered >= len(silent), gate.entered  # all got their turn, two at a time
        assert gate.most == 2
        while any(r.directors[0].status == "connecting" for r in poller.rows()) and time.monotonic() < deadline:
            time.sleep(0.1)
        errors = [r.directors[0].error or "" for r in poller.rows()]
        # each one's failure, naming it (paramiko words a banner that never comes in several ways)
        assert all(f":{s.getsockname()[1]}): ssh: " in e for s, e in zip(silent, errors, strict=True)), errors
    finally:
        poller.close()
        for s in silent:
            s.close()
