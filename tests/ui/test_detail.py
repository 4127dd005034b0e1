"""The real server's detail view (Enter) and copying ids (y), issue 18 item 8."""

from __future__ import annotations

from pathlib import Path

from textual.command import CommandPalette

from lvstui.backend.conncount import count_table
from lvstui.demo import DemoSource
from lvstui.model import RealServer
from lvstui.ui.confirm import ConfirmScreen
from lvstui.ui.detail import RsDetail, RsDetailScreen
from tests.ui.test_ops import press
from tests.ui.ui_support import ManualClock, feed, make_app

WEB = "tcp:192.0.2.10:80"
CAPTURE = Path(__file__).parents[1] / "data" / "ip_vs_conn_lab.txt"


def detail_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#detail-text").render())


async def test_enter_on_a_real_server_opens_its_detail(demo: DemoSource, clock: ManualClock,
                                                       isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 40)  # 10.1.0.14:80 goes down at t=30
        await pilot.pause()
        await pilot.press("enter")  # the service: its real servers
        assert app.dashboard.real_servers.move_to_key("10.1.0.14:80")
        await press(app, pilot, "enter")
        assert isinstance(app.screen, RsDetailScreen)
        text = detail_text(app)
        assert f"Real server 10.1.0.14:80 in {WEB}" in text
        assert "✖ DOWN" in text and "HTTP_GET: FAILING" in text and "connection refused" in text
        assert "DOWN            up → down" in text  # the check's history, from the feed
        points = len(app.dashboard.feed.history(f"{WEB}/10.1.0.14:80"))
        assert points == 40 and f"whole history kept ({points} polls)" in text
        assert "not available in the demo" in text
        await press(app, pilot, "x")  # the dashboard's keys do not reach through
        assert isinstance(app.screen, RsDetailScreen)
        feed(app, clock, 5)  # it follows the polls while open
        app.screen.redraw()
        assert "(45 polls)" in detail_text(app)
        await press(app, pilot, "y")
        assert app.clipboard == "10.1.0.14:80"
        await press(app, pilot, "ctrl+p")  # the palette opens over it (without the dashboard's actions)
        assert isinstance(app.screen, CommandPalette)
        await press(app, pilot, "escape")
        assert isinstance(app.screen, RsDetailScreen)
        await press(app, pilot, "escape")
        assert not isinstance(app.screen, RsDetailScreen) and not isinstance(app.screen, ConfirmScreen)
        assert app.dashboard.real_servers.cursor_key == "10.1.0.14:80"


async def test_detail_counts_a_connection_table_by_state_in_a_thread(demo: DemoSource, clock: ManualClock,
                                                                     isolated_config: Path) -> None:
    rs = RealServer(address="192.168.1.250", port=9100, active_conns=3, inactive_conns=4)
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = RsDetailScreen(lambda: RsDetail("tcp:192.168.1.100:9100", rs.id, rs),
                                lambda: count_table(str(CAPTURE)), "unused")
        app.push_screen(screen)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = detail_text(app)
        rows = {line.split()[1]: int(line.split()[2]) for line in text.splitlines()
                if line.startswith("  TCP ")}
        assert rows == {"SYN_RECV": 3, "TIME_WAIT": 2, "CLOSE": 2}, text
        missing = RsDetailScreen(lambda: RsDetail("tcp:192.168.1.100:9100", rs.id, rs),
                                 lambda: count_table(str(CAPTURE.with_name("absent"))), "unused")
        await press(app, pilot, "escape")
        app.push_screen(missing)
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "cannot read the connection table: " in detail_text(app)  # one line, no traceback


async def test_y_copies_the_selected_id(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        feed(app, clock, 3)
        await pilot.pause()
        app.dashboard.services.move_to_key("tcp:[2001:db8::10]:80")
        await press(app, pilot, "y")
        assert app.clipboard == "tcp:[2001:db8::10]:80"
        assert any("copied virtual service tcp:[2001:db8::10]:80" in str(n.message) for n in app._notifications)
        await press(app, pilot, "tab")
        await press(app, pilot, "y")
        rs_id = app.dashboard.real_servers.cursor_key
        assert rs_id and app.clipboard == rs_id
        assert any(f"copied real server {rs_id} of tcp:[2001:db8::10]:80" in str(n.message)
                   for n in app._notifications)
