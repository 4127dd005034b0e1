"""One real server's connection list (c, issue 14 item 4), from a connection table captured in the lab."""

from __future__ import annotations

from pathlib import Path

from lvstui.backend.conns import read_conns
from lvstui.demo import DemoSource
from lvstui.model import RealServer, VirtualService
from lvstui.ui.conns_screen import ConnListScreen, collect
from tests.ui.test_ops import open_rs, press
from tests.ui.ui_support import ManualClock, make_app

CAPTURE = Path(__file__).parents[1] / "data" / "ip_vs_conn_lab.txt"
RS80 = RealServer(address="192.168.1.22", port=80)
WEB = VirtualService("tcp", "inet", "192.168.1.100", 80, flags=("persistent",), persistence_timeout=300,
                     real_servers=(RS80,))
RS9100 = RealServer(address="192.168.1.250", port=9100)
HOLD = VirtualService("tcp", "inet", "192.168.1.100", 9100, real_servers=(RS9100,))


def test_collect_keeps_one_servers_entries_and_the_templates_apart() -> None:
    found = collect(read_conns(str(CAPTURE)), [WEB, HOLD], WEB.id, RS80)
    assert [c.state for c in found.conns] == ["FIN_WAIT", "FIN_WAIT"] and found.carrying == 0
    assert [(c.client, c.template) for c in found.pinned] == [("192.168.1.0", True)]  # netmask /24 template
    hold = collect(read_conns(str(CAPTURE)), [WEB, HOLD], HOLD.id, RS9100)
    assert sorted(c.state for c in hold.conns) == ["CLOSE"] * 2 + ["SYN_RECV"] * 3 + ["TIME_WAIT"] * 2
    assert hold.carrying == 3 and hold.conns[0].state == "SYN_RECV"  # what still flows comes first
    assert collect(read_conns(str(CAPTURE)), [WEB, HOLD], "tcp:192.168.1.100:443", RS80).conns == ()


def text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#conns-text").render())


async def test_the_list_reads_in_a_thread_and_filters_as_you_type(demo: DemoSource, clock: ManualClock,
                                                                   isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(ConnListScreen(HOLD.id, RS9100, lambda: (WEB, HOLD), lambda: read_conns(str(CAPTURE))))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = text(app)
        assert "7 entries: 3 carrying traffic, 4 closed" in shown and "0 clients pinned" in shown
        assert shown.count("SYN_RECV") == 3 and "flowing" in shown
        await pilot.press(*"time_wait")
        shown = text(app)
        assert "2 entries, 0 pinned clients" in shown and shown.count("TIME_WAIT") == 2
        assert "SYN_RECV" not in shown
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, ConnListScreen)

        app.push_screen(ConnListScreen(WEB.id, RS80, lambda: (WEB, HOLD), lambda: read_conns(str(CAPTURE))))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = text(app)
        assert "Clients pinned by persistence (1)" in shown and "192.168.1.0" in shown and "04:57" in shown
        await press(app, pilot, "escape")

        app.push_screen(ConnListScreen(WEB.id, RS80, lambda: (WEB,),
                                       lambda: read_conns(str(CAPTURE.with_name("absent")))))
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        shown = text(app)
        assert "cannot read the connection table: " in shown and "Traceback" not in shown


async def test_c_in_the_demo_says_it_has_no_connection_table(demo: DemoSource, clock: ManualClock,
                                                            isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_rs(app, pilot, clock, "tcp:192.0.2.10:80", "10.1.0.12:80")
        await press(app, pilot, "c")
        assert not isinstance(app.screen, ConnListScreen)
        assert any("not available in the demo" in n.message for n in app._notifications)
