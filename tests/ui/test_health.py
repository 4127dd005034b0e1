"""Health at a glance and sorting (issue 18, items 3 and 7), on the demo director.

The demo's schedule (lvstui/demo.py): 10.1.0.14:80 is DOWN from t=30 to t=50, 10.1.0.23:80 is in
IPVS only from t=0 to t=70 of each 120 s cycle, 10.3.0.13:3306 is drained all the time.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.color import Color

from lvstui.demo import DemoSource
from lvstui.ui.actions import ACTIONS
from lvstui.ui.help import HelpScreen
from lvstui.ui.widgets import HeaderBar
from tests.ui.ui_support import ManualClock, feed, make_app

WEB, DB, TLS = "tcp:192.0.2.10:80", "tcp:198.51.100.20:3306", "tcp:192.0.2.10:443"


def header(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one(HeaderBar).render())


def health_cell(app, vs_id: str) -> str:  # type: ignore[no-untyped-def]
    return app.dashboard._service_cell(app.dashboard.services.items[vs_id], "health")


def row_colour(app, vs_id: str) -> Color | None:  # type: ignore[no-untyped-def]
    """The foreground colour the services table paints the row with (moved off the cursor)."""
    table = app.dashboard.services
    y = list(table.keys).index(vs_id) + 1
    style = table.render_line(y)._segments[0].style
    return Color.from_rich_color(style.color) if style and style.color else None


async def test_header_counts_and_marks_tell_failure_from_maintenance(
        demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 10)
        await pilot.pause()
        assert "◐ 1 drained" in header(app) and "DOWN" not in header(app)
        assert health_cell(app, DB) == "◐" and health_cell(app, WEB) == " "
        feed(app, clock, 20)  # t=30: 10.1.0.14 fails its check
        await pilot.pause()
        assert "✖ 1 DOWN" in header(app) and "◐ 1 drained" in header(app)
        # the change mark (») sits in the gutter; the health mark keeps its own column
        web_row = app.dashboard.services.row_text(WEB)
        assert web_row.startswith("» ✖ "), web_row
        assert app.dashboard.services.row_text(DB).startswith("  ◐ ")
        # failure and maintenance rows take the theme's domain colours (and carry the mark above)
        app.dashboard.services.move_to_key(TLS)  # the cursor's own style off the rows compared
        await pilot.pause()
        variables = app.theme_variables
        assert row_colour(app, WEB) == Color.parse(variables["rs-down"])
        assert row_colour(app, DB) == Color.parse(variables["rs-drained"])
        assert row_colour(app, TLS) != Color.parse(variables["rs-down"])
        feed(app, clock, 25)  # t=55: back up
        await pilot.pause()
        assert "DOWN" not in header(app) and health_cell(app, WEB) == " "


async def test_a_server_that_leaves_ipvs_stays_listed_until_acknowledged(
        demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 60)
        await pilot.pause()
        assert "acknowledge_gone" not in {b.action for (_, b, on, _) in app.active_bindings.values() if on}
        feed(app, clock, 40)  # t=100: 10.1.0.23 left IPVS at t=70, 30 s ago
        await pilot.pause()
        dashboard = app.dashboard
        assert "⌫ 1 gone" in header(app)
        assert health_cell(app, WEB) == "⌫"
        assert dashboard._service_cell(dashboard.services.items[WEB], "up") == "12/13"  # not "12/12"
        assert "⌫ gone" in dashboard.real_servers.row_text("10.1.0.23:80")
        assert "12/13 up, 1 gone" in str(app.query_one("#rs-title").render())
        # the footer and the palette offer the key while there is something to acknowledge
        shown = {b.action for (_, b, on, _) in app.active_bindings.values() if on and b.show}
        assert "acknowledge_gone" in shown
        assert "Ack gone" in {cmd.title for cmd in app.get_system_commands(app.screen)}
        await pilot.press("o")
        await pilot.pause()
        assert "10.1.0.23:80" not in dashboard.real_servers.keys
        assert "gone" not in header(app) and health_cell(app, WEB) == " "
        assert dashboard._service_cell(dashboard.services.items[WEB], "up") == "12/12"
        assert any("acknowledged 1 gone real server: 10.1.0.23:80 in tcp:192.0.2.10:80" in str(n.message)
                   for n in app._notifications)
        assert "Ack gone" not in {cmd.title for cmd in app.get_system_commands(app.screen)}
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        ack = next(s for s in ACTIONS if s.action == "acknowledge_gone")
        assert ack.help.split("(")[0].strip() in text.replace("\n", " ") or "Acknowledge" in text
        assert "until acknowledged with o" in text


async def test_gone_servers_go_through_the_filter(demo: DemoSource, clock: ManualClock,
                                                  isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 80)
        app.dashboard.set_filter("state:up")
        await pilot.pause()
        assert "10.1.0.23:80" not in app.dashboard.real_servers.keys
        app.dashboard.set_filter("10.1.0.23")
        await pilot.pause()
        assert list(app.dashboard.real_servers.keys) == ["10.1.0.23:80"]


async def test_numeric_columns_sort_biggest_first_and_up_by_missing_servers(
        demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    snapshot = demo.read()
    tls = snapshot.service(TLS)
    for rs in tls.real_servers[:2]:  # 10/12 up: 2 missing (ratio 0.83); the db service is 2/3 (1 missing)
        demo.edit_dest(tls, dataclasses.replace(rs, weight=0))
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(200, 50)) as pilot:
        feed(app, clock, 3)
        await pilot.pause()
        dashboard = app.dashboard
        dashboard.sort_table(dashboard.services, "up")  # as a header click
        assert dashboard.spec.svc_reverse and list(dashboard.services.keys)[:2] == [TLS, DB]
        dashboard.sort_table(dashboard.services, "active")
        active = [dashboard.services.items[k].active for k in dashboard.services.keys]
        assert active == sorted(active, reverse=True) and active[0] > active[-1]
        assert "▼Active" in dashboard.services.render_line(0).text
        dashboard.sort_table(dashboard.services, "active")  # again: the other way
        active = [dashboard.services.items[k].active for k in dashboard.services.keys]
        assert active == sorted(active)
        dashboard.sort_table(dashboard.services, "sched")  # words: A to Z first
        scheds = [dashboard.services.items[k].vs.scheduler for k in dashboard.services.keys]
        assert scheds == sorted(scheds) and not dashboard.spec.svc_reverse
        titles = {cmd.title for cmd in app.get_system_commands(app.screen)}
        assert "Sort services by health (the status column, worst first)" in titles  # not "by " alone
        dashboard.sort_table(dashboard.services, "health")  # worst first
        assert list(dashboard.services.keys)[:2] == [TLS, DB]  # drained servers in both; TLS first (stable)
        await pilot.press("tab", "s", "s")  # real servers: Fwd (words), then Weight (a number)
        assert dashboard.spec.rs_sort == "weight" and dashboard.spec.rs_reverse
        weights = [dashboard.real_servers.items[k].rs.weight for k in dashboard.real_servers.keys]
        assert weights == sorted(weights, reverse=True)


def test_no_dashboard_key_is_also_a_table_key() -> None:
    """A key the focused table binds never reaches the app: acknowledging gone servers on `g`
    (the table's first-row key) did nothing at all."""
    from textual.binding import Binding

    from lvstui.ui.actions import ACTIONS
    from lvstui.ui.vtable import VirtualTable

    table_keys = {k for b in VirtualTable.BINDINGS if isinstance(b, Binding) for k in b.key.split(",")}
    # Enter is the table's own "open" (a service, or a real server's detail): shared on purpose
    clashes = {spec.action: k for spec in ACTIONS for k in spec.keys.split(",") if k in table_keys - {"enter"}}
    assert clashes == {}
