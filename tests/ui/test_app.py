"""Pilot tests of the dashboard: every binding, filter, sort, theme, readonly, pause, stale, events."""

from __future__ import annotations

import threading
import time
import tomllib
from pathlib import Path

import pytest

from lvstui.backend import BackendError
from lvstui.capabilities import Capabilities
from lvstui.demo import DemoSource
from lvstui.model import Snapshot
from lvstui.ui import dashboard as app_actions_module
from lvstui.ui import dashboard as app_module
from lvstui.ui.actions import ACTIONS, MUTATING_ACTIONS
from lvstui.ui.help import HelpScreen
from lvstui.ui.vtable import VirtualTable
from lvstui.ui.widgets import EventPane, HeaderBar, TrendPanel
from tests.ui.ui_support import ManualClock, feed, make_app


def header_text(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one(HeaderBar).render())


def title(app, which: str) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one(f"#{which}-title").render())


def footer_actions(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {binding.action for (_, binding, enabled, _) in app.active_bindings.values() if binding.show and enabled}


async def test_tables_show_the_snapshot(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 3)
        await pilot.pause()
        snapshot = app.dashboard.frame.snapshot
        assert list(app.dashboard.services.keys) == sorted(
            (vs.id for vs in snapshot.virtual_services), key=app.dashboard.services.keys.index)
        assert set(app.dashboard.services.keys) == {vs.id for vs in snapshot.virtual_services}
        web = snapshot.service("tcp:192.0.2.10:80")
        assert app.dashboard.services.cursor_key == web.id
        row = app.dashboard.services.row_text(web.id)
        assert f"{web.up_count}/{len(web.real_servers)}" in row and str(web.active_conns) in row
        assert set(app.dashboard.real_servers.keys) == {rs.id for rs in web.real_servers}
        rs = web.real_servers[0]
        rs_row = app.dashboard.real_servers.row_text(rs.id)
        assert rs.id in rs_row and "● up" in rs_row and str(rs.weight) in rs_row
        assert "demo-director" in header_text(app) and "DEMO" in header_text(app)
        assert "VI_1 MASTER" in header_text(app)
        assert "data 0.0s old" in header_text(app)
        clock.advance(2.5)
        app.dashboard._tick()
        assert "data 2.5s old" in header_text(app)
        assert "kernel estimator" in title(app, "services")
        assert app.query_one("#director").display  # wide terminal: director panel shown
        director = str(app.query_one("#director").render())
        assert "softirq" in director and "eth0" in director


async def test_cursor_keys_and_enter_open_a_service(demo: DemoSource, clock: ManualClock,
                                                    isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        keys = list(app.dashboard.services.keys)
        await pilot.press("j")
        assert app.dashboard.services.cursor_key == keys[1]
        assert app.dashboard.spec.selected == keys[1]
        second = app.dashboard.frame.snapshot.service(keys[1])
        assert set(app.dashboard.real_servers.keys) == {rs.id for rs in second.real_servers}
        assert keys[1] in title(app, "rs")
        await pilot.press("down", "k", "up")
        assert app.dashboard.services.cursor_key == keys[0]
        await pilot.press("G")
        assert app.dashboard.services.cursor_key == keys[-1]
        await pilot.press("g")
        assert app.dashboard.services.cursor_key == keys[0]
        await pilot.press("end")
        assert app.dashboard.services.cursor_key == keys[-1]
        await pilot.press("home", "pagedown")
        assert app.dashboard.services.cursor_key == keys[-1]  # fewer rows than a page
        await pilot.press("pageup")
        assert app.dashboard.services.cursor_key == keys[0]
        assert title(app, "services").startswith("▶") and not title(app, "rs").startswith("▶")
        await pilot.press("enter")
        assert app.focused is app.dashboard.real_servers
        assert title(app, "rs").startswith("▶") and not title(app, "services").startswith("▶")
        assert app.query_one("#rs-title").has_class("-focused")
        await pilot.press("j")
        assert app.dashboard.real_servers.cursor_index == 1
        trends = app.query_one(TrendPanel)
        assert app.dashboard.real_servers.cursor_key in str(trends.render())
        await pilot.press("escape")
        assert app.focused is app.dashboard.services
        await pilot.press("tab")
        assert app.focused is app.dashboard.real_servers
        await pilot.press("tab")
        assert app.focused is app.dashboard.services


async def test_cursor_stays_on_its_key_through_refreshes(demo: DemoSource, clock: ManualClock,
                                                         isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.press("enter", "j", "j", "j")
        key = app.dashboard.real_servers.cursor_key
        await pilot.press("escape", "s", "s", "s", "s", "s", "s", "s")  # services sorted by a rate column
        feed(app, clock, 5)
        await pilot.pause()
        assert app.dashboard.real_servers.cursor_key == key


async def test_filter_by_state_address_and_clear(demo: DemoSource, clock: ManualClock,
                                                 isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 35)  # 10.1.0.14 is down from t=30
        await pilot.pause()
        await pilot.press("slash")
        box = app.query_one("#filter")
        assert box.display and box.has_focus
        await pilot.press(*"down")
        assert list(app.dashboard.services.keys) == ["tcp:192.0.2.10:80"]
        assert list(app.dashboard.real_servers.keys) == ["10.1.0.14:80"]
        assert "✖ DOWN" in app.dashboard.real_servers.row_text("10.1.0.14:80")
        assert "filter “down”" in title(app, "services") and "1 of 6" in title(app, "services")
        await pilot.press("enter")
        assert app.focused is app.dashboard.services and app.dashboard.spec.filter == "down"
        feed(app, clock, 2)  # the filter holds across polls
        assert list(app.dashboard.services.keys) == ["tcp:192.0.2.10:80"]
        await pilot.press("escape")
        assert app.dashboard.spec.filter == "" and len(app.dashboard.services.keys) == 6
        assert not app.query_one("#filter").display
        await pilot.press("slash", *"53")
        assert list(app.dashboard.services.keys) == ["udp:192.0.2.53:53"]
        await pilot.press("escape")
        await pilot.press("slash", *"no-such-thing")
        assert list(app.dashboard.services.keys) == [] and list(app.dashboard.real_servers.keys) == []
        assert "no virtual services" in app.dashboard.services.render_line(1).text


async def test_sort_keys_header_click_and_palette(demo: DemoSource, clock: ManualClock,
                                                  isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(200, 50)) as pilot:
        feed(app, clock, 3)
        await pilot.pause()
        visible = [c.key for c, _ in app.dashboard.services.visible_columns()]
        seen = []
        for _ in visible:
            await pilot.press("s")
            seen.append(app.dashboard.spec.svc_sort)
        assert sorted(seen) == sorted(visible)  # s cycles through every column
        assert app.dashboard.spec.svc_sort == "id"
        await pilot.press("s", "s", "s", "s", "s", "s")  # CPS
        assert app.dashboard.spec.svc_sort == "cps"
        cps = [app.dashboard.frame.snapshot.service(k).rates.cps for k in app.dashboard.services.keys]
        assert cps == sorted(cps, reverse=True) and "▼CPS" in app.dashboard.services.render_line(0).text
        await pilot.press("S")  # numbers sort biggest first; S reverses
        cps = [app.dashboard.frame.snapshot.service(k).rates.cps for k in app.dashboard.services.keys]
        assert cps == sorted(cps) and "▲CPS" in app.dashboard.services.render_line(0).text
        # the real-servers table sorts on its own
        await pilot.press("tab", "s")
        assert app.dashboard.spec.rs_sort == "fwd" and app.dashboard.spec.svc_sort == "cps"
        # clicking a header sorts by it; clicking again reverses
        app.dashboard.services.focus()
        columns = app.dashboard.services.visible_columns()
        x = 2 + sum(size + 1 for column, size in columns[: [c.key for c, _ in columns].index("active")])
        await pilot.click("#services", offset=(x + 1, 0))
        assert app.dashboard.spec.svc_sort == "active" and app.dashboard.spec.svc_reverse
        await pilot.click("#services", offset=(x + 1, 0))
        assert app.dashboard.spec.svc_sort == "active" and not app.dashboard.spec.svc_reverse
        # the palette offers sorting by every column of both tables
        titles = {cmd.title for cmd in app.get_system_commands(app.screen)}
        assert {"Sort services by CPS", "Sort real servers by Weight", "Sort real servers by State"} <= titles
        app.dashboard._palette_sort("#real-servers", "state")
        assert app.dashboard.spec.rs_sort == "state"


async def test_mouse_click_selects_and_double_click_opens(demo: DemoSource, clock: ManualClock,
                                                          isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        await pilot.click("#services", offset=(5, 3))  # header is line 0: line 3 is the third row
        assert app.dashboard.services.cursor_index == 2
        assert app.dashboard.spec.selected == app.dashboard.services.keys[2]
        await pilot.double_click("#services", offset=(5, 2))
        assert app.focused is app.dashboard.real_servers


async def test_theme_switch_at_runtime_is_remembered(demo: DemoSource, clock: ManualClock,
                                                     isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    config = isolated_config / "lvstui" / "config.toml"
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.theme == "dark"
        before = app.get_css_variables()["rs-down"]
        await pilot.press("t")
        assert app.theme == "high-contrast"
        assert app.get_css_variables()["rs-down"] != before
        assert tomllib.loads(config.read_text())["theme"] == "high-contrast"
        await pilot.press("t")
        assert app.theme == "light"
        await pilot.press("t")
        assert app.theme == "dark"
        assert tomllib.loads(config.read_text())["theme"] == "dark"
        app.theme = "light"  # what the palette's theme commands do
        await pilot.pause()
        assert tomllib.loads(config.read_text())["theme"] == "light"
    second = make_app(demo, clock, isolated_config, theme="high-contrast")
    async with second.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert second.theme == "high-contrast"
    # a theme given at start (--theme) is used, not written over the remembered one
    assert tomllib.loads(config.read_text())["theme"] == "light"
    unknown = make_app(demo, clock, isolated_config, theme="no-such-theme")
    async with unknown.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert unknown.theme == "dark"
        assert any("no-such-theme" in str(n.message) for n in unknown._notifications)


async def test_readonly_hides_every_mutating_action(demo: DemoSource, clock: ManualClock,
                                                    isolated_config: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # No operation exists yet, so pretend "toggle_events" mutates to prove the plumbing hides it
    # everywhere; then check the real set too.
    fake = frozenset({"toggle_events"})
    monkeypatch.setattr(app_actions_module, "MUTATING_ACTIONS", fake)
    for readonly in (False, True):
        app = make_app(demo, clock, isolated_config, readonly=readonly)
        async with app.run_test(size=(120, 40)) as pilot:
            feed(app, clock, 1)
            await pilot.pause()
            assert ("READ-ONLY" in header_text(app)) is readonly
            shown = footer_actions(app)
            palette = {cmd.title for cmd in app.get_system_commands(app.screen)}
            helps = [text for _, text in app.dashboard.allowed_actions()]
            events_help = next(s.help for s in ACTIONS if s.action == "toggle_events")
            if readonly:
                assert "toggle_events" not in shown and "Events" not in palette and events_help not in helps
                await pilot.press("e")
                assert not app.query_one(EventPane).display  # the key does nothing
            else:
                assert "toggle_events" in shown and "Events" in palette and events_help in helps
            await pilot.press("question_mark")
            assert isinstance(app.screen, HelpScreen)
            help_text = str(app.screen.query_one("#help-text").render())
            assert ("Show or hide the event pane" in help_text) is not readonly
            assert ("READ-ONLY" in help_text) is readonly
    monkeypatch.undo()
    app = make_app(demo, clock, isolated_config, readonly=True)
    async with app.run_test(size=(120, 40)):
        assert not (footer_actions(app) & MUTATING_ACTIONS)
        assert all(s.action not in MUTATING_ACTIONS for s in ACTIONS if app.dashboard.check_action(s.action, ()))


async def test_pause_stops_polling_and_resume_restarts(clock: ManualClock, isolated_config: Path) -> None:
    source = DemoSource(clock=time.monotonic)
    app = make_app(source, time.monotonic, isolated_config, autopoll=True, interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if app.dashboard.frames_applied >= 2:
                break
        assert app.dashboard.frames_applied >= 2
        await pilot.press("p")
        assert app.dashboard.poller.paused and "PAUSED" in header_text(app)
        await pilot.pause(0.2)
        frozen_snapshot = app.dashboard.frame.snapshot
        count = app.dashboard.frames_applied
        await pilot.pause(0.4)
        assert app.dashboard.frame.snapshot is frozen_snapshot and app.dashboard.frames_applied <= count + 1
        await pilot.press("p")
        assert not app.dashboard.poller.paused and "PAUSED" not in header_text(app)
        for _ in range(100):
            await pilot.pause(0.05)
            if app.dashboard.frame.snapshot is not frozen_snapshot:
                break
        assert app.dashboard.frame.snapshot is not frozen_snapshot


class FlakySource:
    """Demo data, but every read after ``fail_after`` raises BackendError until ``heal()``."""

    name = "kernel"
    capabilities = Capabilities()

    def __init__(self, clock: ManualClock, fail_after: int) -> None:
        self.inner = DemoSource(clock=clock)
        self.reads = 0
        self.fail_after = fail_after
        self.healed = False

    def read(self) -> Snapshot:
        self.reads += 1
        if self.reads > self.fail_after and not self.healed:
            raise BackendError("netlink: Operation not permitted (are you root?)")
        return self.inner.read()

    def close(self) -> None:
        pass


async def test_failed_poll_keeps_last_snapshot_marked_stale(clock: ManualClock, isolated_config: Path) -> None:
    source = FlakySource(clock, fail_after=3)
    app = make_app(source, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 3)
        good = app.dashboard.frame.snapshot
        rows = list(app.dashboard.services.keys)
        feed(app, clock, 4)
        await pilot.pause()
        text = header_text(app)
        assert "STALE" in text and "Operation not permitted" in text and "data 4.0s old" in text
        assert "DEMO" not in text
        assert app.dashboard.frame.snapshot is good and list(app.dashboard.services.keys) == rows  # never a blank table
        assert app.dashboard.services.stale and app.dashboard.real_servers.stale
        source.healed = True
        feed(app, clock, 1)
        assert "STALE" not in header_text(app) and not app.dashboard.services.stale
        assert app.dashboard.frame.snapshot is not good


async def test_first_poll_failing_shows_the_error_not_a_crash(clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(FlakySource(clock, fail_after=0), clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        assert "STALE" in header_text(app) and "no data" in header_text(app)
        assert list(app.dashboard.services.keys) == []


async def test_event_pane_and_highlights(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        pane = app.query_one(EventPane)
        assert not pane.display
        await pilot.press("e")
        assert pane.display
        feed(app, clock, 29)  # t = 29
        assert pane.lines == []
        feed(app, clock, 1)  # t = 30: 10.1.0.14 goes down
        await pilot.pause()
        assert len(pane.lines) == 1
        line = str(pane.lines[0])
        assert line.startswith("12:00:30") and "DOWN" in line and "10.1.0.14:80 in tcp:192.0.2.10:80" in line
        row = app.dashboard.real_servers.row_text("10.1.0.14:80")
        assert row.startswith("»") and "✖ DOWN" in row
        assert app.dashboard.services.row_text("tcp:192.0.2.10:80").startswith("»")
        clock.advance(10)  # highlights last a few seconds
        app.dashboard._tick()
        assert not app.dashboard.real_servers.row_text("10.1.0.14:80").startswith("»")
        # t=70: 10.1.0.23 vanishes and stays listed as a "gone" row until acknowledged (c)
        feed(app, clock, 30, step=1.0)
        await pilot.pause()
        assert "10.1.0.23:80" in app.dashboard.real_servers.keys
        assert "⌫ gone" in app.dashboard.real_servers.row_text("10.1.0.23:80")
        assert any("GONE" in str(line) and "10.1.0.23:80" in str(line) for line in pane.lines)
        clock.advance(10)
        app.dashboard._tick()
        await pilot.pause()
        assert "⌫ gone" in app.dashboard.real_servers.row_text("10.1.0.23:80")
        await pilot.press("o")
        await pilot.pause()
        assert "10.1.0.23:80" not in app.dashboard.real_servers.keys
        await pilot.press("e")
        assert not pane.display


async def test_rates_toggle_between_kernel_and_lvstui(demo: DemoSource, clock: ManualClock,
                                                      isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 1)
        await pilot.press("r")
        assert "lvstui Δ (waiting" in title(app, "services")
        assert " – " in app.dashboard.services.row_text("tcp:192.0.2.10:80")  # no delta after one poll
        feed(app, clock, 1, step=2.0)
        assert "lvstui Δ over 2.0s" in title(app, "services")
        web = app.dashboard.frame.snapshot.service("tcp:192.0.2.10:80")
        delta = app.dashboard.frame.deltas.services[web.id].cps
        assert f" {delta} " in app.dashboard.services.row_text(web.id)
        await pilot.press("r")
        assert "kernel estimator" in title(app, "services")


async def test_director_panel_toggle_and_narrow_default(demo: DemoSource, clock: ManualClock,
                                                        isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, clock, 1)
        director = app.query_one("#director")
        assert not director.display
        await pilot.press("d")
        assert director.display
        await pilot.press("d")
        assert not director.display


async def test_usable_at_80x24(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(80, 24)) as pilot:
        feed(app, clock, 35)
        await pilot.pause()
        services = [c.key for c, _ in app.dashboard.services.visible_columns()]
        servers = [c.key for c, _ in app.dashboard.real_servers.visible_columns()]
        assert {"id", "up", "active", "cps"} <= set(services)
        assert {"id", "weight", "state", "active", "cps"} <= set(servers)
        assert app.dashboard.services.size.height >= 4 and app.dashboard.real_servers.size.height >= 4
        for key in app.dashboard.services.keys:
            assert key in app.dashboard.services.row_text(key)  # ids are never cut
        assert "✖ DOWN" in app.dashboard.real_servers.row_text("10.1.0.14:80")
        assert {"quit", "help", "filter"} <= footer_actions(app)


async def test_help_lists_every_key(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        for spec in ACTIONS:  # the demo does not offer VRRP or the SSH wizards (test_feedback.py)
            assert (spec.help.split()[0] in text) or not app.dashboard._offered(spec)
        for binding in VirtualTable.BINDINGS:
            assert binding.description in text
        assert "^p" in text and "Command palette" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # q closes help, not the app
        assert not isinstance(app.screen, HelpScreen) and app.is_running


async def test_palette_lists_every_allowed_action(demo: DemoSource, clock: ManualClock,
                                                  isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        titles = {cmd.title for cmd in app.get_system_commands(app.screen)}
        assert "Drain" not in titles and "Add server" in titles  # row actions only on a real-server row
        await pilot.press("enter")
        titles = {cmd.title for cmd in app.get_system_commands(app.screen)}
        for spec in ACTIONS:
            if spec.action not in ("help", "quit", "acknowledge_gone"):  # Ack gone: tests/ui/test_health.py
                # the lab panel only where the source declares the lab's controls (below)
                assert (spec.label in titles) is app.dashboard._offered(spec)
        assert "Quit" in titles and "Theme: light" in titles
        events = next(c for c in app.get_system_commands(app.screen) if c.title == "Events")
        app.call_later(events.callback)  # as the palette runs a chosen command
        await pilot.pause()
        assert app.query_one(EventPane).display


async def test_poll_now_and_quit(demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        woke = []
        app.dashboard.poller.poll_now = lambda: woke.append(True)  # type: ignore[method-assign]
        await pilot.press("f5")
        assert woke == [True]
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


class CountingSource:
    """Records the thread of every read and whether two reads ever overlapped."""

    name = "kernel"
    capabilities = Capabilities()

    def __init__(self, delay: float) -> None:
        self.inner = DemoSource(clock=time.monotonic)
        self.delay = delay
        self.active = 0
        self.max_active = 0
        self.threads: set[int] = set()
        self.lock = threading.Lock()
        self.reads = 0

    def read(self) -> Snapshot:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
            self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        with self.lock:
            self.active -= 1
            self.reads += 1
        return self.inner.read()

    def close(self) -> None:
        pass


async def test_polls_run_off_the_ui_thread_never_overlap_and_stretch(isolated_config: Path) -> None:
    source = CountingSource(delay=0.15)  # slower than the interval
    app = make_app(source, time.monotonic, isolated_config, autopoll=True, interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(100):
            await pilot.pause(0.05)
            if source.reads >= 4:
                break
        await pilot.pause(0.1)
        assert source.reads >= 4
        assert source.max_active == 1
        assert threading.get_ident() not in source.threads and len(source.threads) == 1
        assert app.dashboard.frame.stretched and app.dashboard.frame.interval >= 0.15
        assert "poll took" in header_text(app)


async def test_large_directors_rebuild_in_a_thread(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "ASYNC_ROWS", 10)  # the demo's 46 servers count as "large"
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        main_thread = threading.get_ident()
        built_in: list[int] = []
        real_build = app_module.build_tables

        def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
            built_in.append(threading.get_ident())
            return real_build(*args, **kwargs)

        monkeypatch.setattr(app_module, "build_tables", spy)
        app.dashboard.sort_table(app.dashboard.services, "cps", reverse=True)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert built_in and main_thread not in built_in
        cps = [app.dashboard.frame.snapshot.service(k).rates.cps for k in app.dashboard.services.keys]
        assert cps == sorted(cps, reverse=True)
        app.dashboard.set_filter("down")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert list(app.dashboard.services.keys) == []  # nothing is down at t=3
        app.dashboard.set_filter("")
        await app.workers.wait_for_complete()
        await pilot.pause()
        # moving to a big service: "loading…" at once, its servers when the thread is done
        target = "tcp:192.0.2.10:443"
        app.dashboard.services.move_to_key(target)
        await pilot.pause(0)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert set(app.dashboard.real_servers.keys) == {rs.id for rs in app.dashboard.frame.snapshot.service(target).real_servers}
        assert target in str(app.query_one("#rs-title").render())


async def test_user_keymap_remaps_keys_everywhere(demo: DemoSource, clock: ManualClock,
                                                  isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config,
                   keymap={"app.toggle_events": "x", "table.down": "down,n", "bogus.id": "z"})
    async with app.run_test(size=(120, 50)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        pane = app.query_one(EventPane)
        await pilot.press("e")
        assert not pane.display
        await pilot.press("x")
        assert pane.display
        await pilot.press("n")
        assert app.dashboard.services.cursor_index == 1
        await pilot.press("j")  # no longer bound
        assert app.dashboard.services.cursor_index == 1
        assert any("bogus.id" in str(n.message) for n in app._notifications)
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-text").render())
        events_line = next(line for line in text.splitlines() if "Show or hide the event pane" in line)
        assert events_line.split()[0] == "x"
        down_line = next(line for line in text.splitlines() if line.strip().endswith("Down"))
        assert "n" in down_line and "j" not in down_line.split()


async def test_row_specific_actions_show_only_on_a_real_server_row(demo: DemoSource, clock: ManualClock,
                                                                    isolated_config: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook the operations layer uses for Drain: pretend "toggle_events" needs a server row."""
    import dataclasses as dc

    specs = tuple(dc.replace(s, on_rs_row=True) if s.action == "toggle_events" else s for s in ACTIONS)
    monkeypatch.setattr(app_actions_module, "ACTIONS", specs)
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        assert app.dashboard.check_action("toggle_events", ()) is False
        assert "toggle_events" not in footer_actions(app)
        await pilot.press("enter")  # now on a real-server row
        assert app.dashboard.check_action("toggle_events", ()) is True
        await pilot.pause()
        assert "toggle_events" in footer_actions(app)
