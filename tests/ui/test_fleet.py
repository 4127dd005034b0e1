"""The fleet screen (lvstui fleet) with the deterministic demo fleet: directors marked in words, the
table diffed by key, Enter opening the pair's read-only dashboard, --readonly in the header."""

from __future__ import annotations

from lvstui.ui.dashboard import DashboardScreen
from lvstui.ui.fleet import FleetScreen
from lvstui.ui.help import HelpScreen
from tests.ui.fleet_support import demo_app
from tests.ui.ui_support import ManualClock


def rows(screen: FleetScreen) -> dict[str, str]:
    return {key: screen.table.row_text(key) for key in screen.table.keys}


async def test_stale_and_unreachable_directors_are_said_in_words(clock: ManualClock) -> None:
    app = demo_app(clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        text = rows(app.fleet)
        assert list(text) == ["web", "api", "mail", "dns", "edge", "vpn"]
        assert "web-lb1 ok · web-lb2 ok" in text["web"] and not text["web"].startswith("!")
        assert "api-lb2 UNREACHABLE" in text["api"] and text["api"].startswith("!")
        assert "mail-lb2 STALE 30s" in text["mail"]
        assert "SPLIT: dns-lb1,dns-lb2" in text["dns"]
        header = str(app.fleet.query_one("#fleet-header").render())
        assert header.startswith(" DEMO   SPLIT BRAIN in 1  12 directors: 10 read, 1 STALE, 1 not read · 6 pairs")
        assert "READ-ONLY" not in header and header.endswith("3 with alarms · fleet demo")
        await pilot.press("down")  # the cursor's pair in full, under the table
        detail = str(app.fleet.query_one("#fleet-detail").render())
        assert "api-lb2: api-lb2:22: connection refused (simulated: demo)" in detail
        assert "VI_2 #52: MASTER api-lb1\n" in detail
        app.fleet.table.move_to_key("dns")
        await pilot.pause()
        detail = str(app.fleet.query_one("#fleet-detail").render())
        assert "VI_4 #54: MASTER dns-lb1, dns-lb2 SPLIT BRAIN" in detail and "alarm: split brain on VRID 54" in detail


async def test_rows_are_swapped_by_key_and_the_cursor_stays_on_its_pair(clock: ManualClock) -> None:
    app = demo_app(clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.press("down", "down")
        assert app.fleet.table.cursor_key == "mail"
        clock.advance(60)
        for reader in app.poller.readers.values():
            reader.poll()  # type: ignore[attr-defined]
        app.fleet.show_rows(app.poller.rows()[::-1])  # another order: the cursor follows its key
        await pilot.pause()
        assert app.fleet.table.cursor_key == "mail"
        assert "mail-lb2 STALE 1m30s" in app.fleet.table.row_text("mail")


async def test_enter_opens_the_pairs_dashboard_read_only_and_q_comes_back(clock: ManualClock) -> None:
    app = demo_app(clock)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("down", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DashboardScreen) and screen.readonly
        frame = screen.ingest()
        await pilot.pause()
        assert frame.snapshot.director == "api-lb1"
        assert frame.snapshot.peer is not None and frame.snapshot.peer.host == "api-lb2"
        assert "NOT READ" in str(screen.query_one("#pair").render())
        assert screen.check_action("drain", ()) is False  # read over SSH: no operation here
        assert screen.active_bindings["q"].binding.description == "Fleet"
        await pilot.press("q")
        await pilot.pause()
        assert app.screen is app.fleet and app.is_running
        # the readers are the fleet's: the dashboard's source left them running
        assert app.poller.views("api")[0].snapshot is not None


async def test_a_stale_directors_dashboard_says_so(clock: ManualClock) -> None:
    app = demo_app(clock)
    async with app.run_test(size=(160, 40)) as pilot:
        app.fleet.table.move_to_key("mail")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        # mail's first director is fresh: its dashboard shows it, its peer is STALE
        frame = app.screen.ingest()  # type: ignore[attr-defined]
        await pilot.pause()
        assert frame.error is None and "STALE" in str(app.screen.query_one("#pair").render())


async def test_readonly_is_in_the_header_and_help_lists_the_keys(clock: ManualClock) -> None:
    app = demo_app(clock, readonly=True)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        assert "READ-ONLY" in str(app.fleet.query_one("#fleet-header").render())
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert [title for title, _ in app.screen.sections] == ["Fleet", "Table", "Reading the screen"]
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running
