"""Layout that holds (issue 18, item 5): ids sized from the content, headers over their numbers,
the footer fitted by priority, the director panel following resizes, spare width used."""

from __future__ import annotations

from pathlib import Path

from lvstui.demo import DemoSource
from lvstui.model import RealServer, VirtualService
from lvstui.ui.columns import RS_COLUMNS, SERVICE_COLUMNS, rs_columns
from lvstui.ui.footer import FittedFooter
from lvstui.ui.vtable import fit, header_cell, layout_columns
from tests.ui.ui_support import ManualClock, feed, make_app

LONG_V6 = "2001:db8:4a1f:900d:c0de:feed:beef:1234"
LONG_VS = f"tcp:[{LONG_V6}]:8443"
LONG_RS = "[2001:db8:4a1f:900d:c0de:feed:beef:abcd]:8443"


def add_long_v6(demo: DemoSource) -> None:
    """A service and a real server whose ids are as long as IPv6 ids get (50 and 46 characters)."""
    vs = VirtualService(protocol="tcp", family="inet6", address=LONG_V6, port=8443, scheduler="wlc")
    demo.add_service(vs)
    demo.add_dest(vs, RealServer(address="2001:db8:4a1f:900d:c0de:feed:beef:abcd", port=8443, family="inet6",
                                 weight=10))


def ends(text: str, word: str) -> int:
    return text.index(word) + len(word)


def test_sort_mark_moves_no_label() -> None:
    pairs = [pair for columns in (SERVICE_COLUMNS, RS_COLUMNS) for pair in layout_columns(columns, 1000, 20)]
    for column, size in pairs:
        plain, marked = header_cell(column, size, ""), header_cell(column, size, "▲")
        assert len(plain) == len(marked) == size
        assert plain.index(column.label) == marked.index(column.label), (column.key, plain, marked)
        if column.align == "right":  # the label ends where the numbers end
            assert plain.endswith(column.label) and fit("123", size, "right").endswith("3")


def test_the_id_column_takes_the_longest_id_before_extras() -> None:
    wide = {c.key: s for c, s in layout_columns(SERVICE_COLUMNS, 150, len(LONG_VS))}
    assert wide["id"] == len(LONG_VS)  # no cap: the whole IPv6 id
    narrow = layout_columns(SERVICE_COLUMNS, 80, len(LONG_VS))
    sizes = {c.key: s for c, s in narrow}
    assert {"id", "up", "active", "cps"} <= set(sizes)  # the essentials stay
    assert sum(sizes.values()) + len(sizes) - 1 + 2 <= 80
    cut = fit(LONG_VS, sizes["id"], "left", middle=True)
    assert len(cut) == sizes["id"] and cut.startswith("tcp:[2001") and cut.endswith("]:8443"), cut


def test_persist_is_kept_for_persistent_services_only() -> None:
    def keys(persistent: bool) -> list[str]:
        return [c.key for c, _ in layout_columns(rs_columns(persistent), 76, 14)]

    assert "persistent" in keys(True) and "persistent" not in keys(False)
    assert "state" in keys(True) and "active" in keys(True)


async def test_rows_and_headers_stay_in_line_with_a_long_ipv6_id(demo: DemoSource, clock: ManualClock,
                                                                  isolated_config: Path) -> None:
    add_long_v6(demo)
    app = make_app(demo, clock, isolated_config)
    for size in ((80, 24), (120, 40), (200, 50)):
        async with app.run_test(size=size) as pilot:
            feed(app, clock, 3)
            await pilot.pause()
            table = app.dashboard.services
            table.move_to_key(LONG_VS)
            await pilot.pause()
            header = table.render_line(0).text
            rows = [table.row_text(key) for key in table.keys]
            for column, _ in table.visible_columns():
                if column.align == "right" and column.key != "id":
                    edge = ends(header, column.label)
                    for row in rows:  # every number ends under its label's last letter
                        assert row[edge - 1] != " " and (edge == len(row) or row[edge] == " "), (size, row)
            if size[0] >= 120:
                assert LONG_VS in table.row_text(LONG_VS)  # whole where there is room
            rs_table = app.dashboard.real_servers
            assert rs_table.keys == [LONG_RS]
            assert len(rs_table.row_text(LONG_RS)) <= rs_table.size.width
        app = make_app(demo, clock, isolated_config)


async def test_footer_fits_80_columns_by_priority(demo: DemoSource, clock: ManualClock,
                                                  isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, clock, 3)
        await pilot.pause()
        await pilot.press("tab")  # the real servers: their operations join the footer
        await pilot.pause()
        await pilot.pause()
        footer = app.dashboard.query_one(FittedFooter)
        shown = footer.shown_actions
        assert shown[:5] == ["help", "drain", "restore", "set_weight", "quit"], shown
        assert "next_theme" not in shown  # the last ones give way
        keys = list(footer.children)
        assert keys[-1].has_class("-command-palette")  # the palette key stays
        right = max(k.region.right for k in keys if not k.has_class("-command-palette"))
        assert right <= keys[-1].region.x  # nothing runs under it
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        await pilot.pause()
        assert "next_theme" in footer.shown_actions  # room again: every key


async def test_director_panel_follows_resizes(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, clock, 3)
        await pilot.pause()
        panel = app.dashboard.query_one("#director")
        assert not panel.display
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        assert panel.display and panel.size.width >= 50  # back, and wider: spare width used
        await pilot.press("d")  # the operator hides it at this width: it stays hidden here
        await pilot.resize_terminal(190, 50)
        await pilot.pause()
        assert not panel.display
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert panel.display  # another width class: the default again, without pressing d
        wide = {c.key for c, _ in app.dashboard.services.visible_columns()}
        await pilot.resize_terminal(200, 50)
        await pilot.pause()
        wider = {c.key for c, _ in app.dashboard.services.visible_columns()}
        assert wide < wider and "conns" in wider  # more columns at 200


async def test_drain_progress_has_its_own_line_never_cut(demo: DemoSource, clock: ManualClock,
                                                          isolated_config: Path) -> None:
    from tests.ui.test_ops import TLS, open_rs, press

    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_rs(app, pilot, clock, TLS, "10.1.0.13:443")
        await press(app, pilot, "x")
        await press(app, pilot, "y")
        feed(app, clock, 2)
        await pilot.pause()
        note = app.dashboard.query_one("#drain-note")
        text = str(note.render())
        assert note.display and text.startswith("10.1.0.13:443 drained: ") and text.endswith("expire)")
        # wrapped over as many lines as it needs, none of it beyond the screen's width
        assert note.size.height >= 2 and note.region.right <= 80
        lines = app.dashboard.query_one("#drain-note").render_lines(note.region.reset_offset)
        painted = " ".join("".join(seg.text for seg in line).strip() for line in lines)
        assert " ".join(text.split()) == " ".join(painted.split()), (text, painted)


def test_header_drops_names_before_health_or_age() -> None:
    """At 80 columns the header cut "data 0.0s old" (the health counts had made it longer): the
    least needed words go first, the counts and the data's age stay."""
    from lvstui.ui.widgets import HeaderState, header_content

    state = HeaderState(director="a-rather-long-director-name.example.net", age_seconds=0.0, demo=True,
                        health=(("✖ 1 DOWN", ""), (" ◐ 1 drained", "")))
    full = header_content(state)
    assert "lvstui" in full.plain and state.director in full.plain
    for width in (80, 72):
        fitted = header_content(state, width)
        assert fitted.cell_length <= width, (width, fitted.plain)
        assert "✖ 1 DOWN" in fitted.plain and "old" in fitted.plain
