"""The fleet screen (lvstui fleet) with the deterministic demo fleet: directors marked in words, the
table diffed by key, Enter opening the pair's read-only dashboard, --readonly in the header."""

from __future__ import annotations

from textual.widgets import Input

from lvstui.ui.dashboard import DashboardScreen
from lvstui.ui.fleet import FleetScreen
from lvstui.ui.footer import FittedFooter
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
        assert [title for title, _ in app.screen.sections] == ["Fleet", "Table", "Filter bar", "Remapping keys",
                                                               "Reading the screen"]
        await pilot.press("escape")
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running


def order(screen: FleetScreen) -> list[str]:
    return list(screen.table.keys)


def title(screen: FleetScreen) -> str:
    return str(screen.query_one("#fleet-title").render())


async def test_slash_filters_by_pair_director_or_vip_and_escape_clears(clock: ManualClock) -> None:
    app = demo_app(clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        app.fleet.table.move_to_key("mail")
        box = app.fleet.query_one("#fleet-filter", Input)
        assert not box.display
        await pilot.press("slash", *"mail-lb2")  # a director's host
        await pilot.pause()
        assert box.display and box.has_focus and order(app.fleet) == ["mail"]
        assert title(app.fleet).startswith('1 of 6 pairs match "mail-lb2"')
        # the header still counts the whole fleet: a problem the filter hides is never hidden from it
        header = str(app.fleet.query_one("#fleet-header").render())
        assert "SPLIT BRAIN in 1" in header and "6 pairs" in header and "3 with alarms" in header
        box.value = "2001:DB8::B"  # a VIP (api's), any case
        await pilot.pause()
        assert order(app.fleet) == ["api"] and app.fleet.table.cursor_key == "api"  # the first match
        assert "api-lb2: api-lb2:22: connection refused" in str(app.fleet.query_one("#fleet-detail").render())
        box.value = "lb1 d"  # every word: a host with lb1, and a d (dns, edge by name; every 2001:db8 VIP)
        await pilot.pause()
        assert order(app.fleet) == ["web", "api", "mail", "dns", "edge", "vpn"]
        box.value = "e"
        await pilot.pause()
        assert order(app.fleet) == ["web", "edge"]  # web by its name, edge by its name and 2001:db8::e
        await pilot.press("enter")  # keeps the filter, back to the table
        await pilot.pause()
        assert app.fleet.table.has_focus and box.display and order(app.fleet) == ["web", "edge"]
        await pilot.press("j")  # the table's keys again, not the filter's
        assert app.fleet.table.cursor_key == "edge" and box.value == "e"
        box.value = "nothing-here"
        await pilot.pause()
        assert order(app.fleet) == [] and app.fleet.table.empty_text.startswith("no pair matches the filter")
        box.value = "edge"
        await pilot.pause()
        await pilot.press("escape")  # from the filter bar: cleared, hidden, the table focused
        await pilot.pause()
        assert not box.display and box.value == "" and app.fleet.table.has_focus
        assert order(app.fleet) == ["web", "api", "mail", "dns", "edge", "vpn"]
        assert app.fleet.table.cursor_key == "edge" and title(app.fleet) == "6 pairs · fleet file order"
        await pilot.press("slash", "d", "n", "s", "enter", "escape")  # from the table: cleared too
        await pilot.pause()
        assert order(app.fleet) == ["web", "api", "mail", "dns", "edge", "vpn"] and app.fleet.filter == ""


async def test_s_cycles_the_orders_and_the_cursor_stays_on_its_pair(clock: ManualClock) -> None:
    app = demo_app(clock)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        await pilot.press("down", "down")
        assert app.fleet.table.cursor_key == "mail"
        await pilot.press("s")
        # problems first: split brain, a director not read (unreachable, then stale), then the file's order
        assert order(app.fleet) == ["dns", "api", "mail", "web", "edge", "vpn"]
        assert app.fleet.table.cursor_key == "mail" and title(app.fleet) == "6 pairs · problems first"
        clock.advance(60)  # a refresh keeps the order and the cursor
        for reader in app.poller.readers.values():
            reader.poll()  # type: ignore[attr-defined]
        app.fleet.show_rows(app.poller.rows())
        await pilot.pause()
        assert order(app.fleet) == ["dns", "api", "mail", "web", "edge", "vpn"]
        assert app.fleet.table.cursor_key == "mail" and "mail-lb2 STALE 1m30s" in app.fleet.table.row_text("mail")
        await pilot.press("s")
        assert order(app.fleet) == ["api", "dns", "edge", "mail", "vpn", "web"] and title(app.fleet).endswith("by name")
        assert app.fleet.table.cursor_key == "mail"
        await pilot.press("s")
        assert order(app.fleet) == ["web", "api", "mail", "dns", "edge", "vpn"]
        await pilot.press("exclamation_mark")  # problems first in one key, and back
        assert order(app.fleet)[:3] == ["dns", "api", "mail"] and app.fleet.sort == "problems"
        await pilot.press("exclamation_mark")
        assert app.fleet.sort == "file" and app.fleet.table.cursor_key == "mail"
        footer = app.fleet.query_one(FittedFooter)
        await pilot.pause()
        assert {"filter", "sort_next", "problems_first", "quit"} <= set(footer.shown_actions)


async def test_the_config_keys_remap_the_fleet_and_its_pairs_dashboards(clock: ManualClock) -> None:
    app = demo_app(clock, keymap={"fleet.sort_next": "o", "fleet.filter": "f", "table.down": "down,n",
                                  "app.quit": "h", "bogus.id": "z"})
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        # the dashboard's words for an unknown id, the known ones listed
        notes = [str(n.message) for n in app._notifications]
        assert any(n.startswith("unknown key binding ids in the config: bogus.id (known: ") and "fleet.sort_next" in n
                   for n in notes), notes
        await pilot.press("s")  # no longer bound
        assert app.fleet.sort == "file"
        await pilot.press("o")
        assert app.fleet.sort == "problems"
        await pilot.press("j")  # no longer bound
        assert app.fleet.table.cursor_key == "web"  # dns, api, mail, web, edge, vpn
        await pilot.press("n")
        assert app.fleet.table.cursor_key == "edge"
        await pilot.press("f", "w", "e", "b", "enter")
        await pilot.pause()
        assert order(app.fleet) == ["web"]
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        fleet_keys = {text: keys for keys, text in app.screen.sections[0][1]}
        assert fleet_keys["Next order: the fleet file's, problems first, by name"] == "o"
        assert next(keys for text, keys in fleet_keys.items() if text.startswith("Filter the pairs")) == "f"
        table_keys = {text: keys for keys, text in app.screen.sections[1][1]}
        assert table_keys["Down"] == "↓ / n"
        await pilot.press("escape")
        await pilot.press("enter")  # web's dashboard: app.quit is h there
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("h")
        await pilot.pause()
        assert app.screen is app.fleet and app.is_running
