"""Strings from data reach the screen as text, never as markup (issue 18, items 1-2).

The palette's entries, the notifications, the forms' errors, the titles and the confirmation
show exactly what they were given: a "/" key, an IPv6 id ``[2001:db8::1]:80``, ``[bold]`` or
``[/]`` from a name or an error appear verbatim, and nothing raises ``MarkupError``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Input, OptionList
from textual.widgets._toast import Toast

from lvstui.demo import DemoSource
from lvstui.model import CheckState, RealServer
from lvstui.ui import dashboard as dashboard_module
from lvstui.ui.actions import ACTIONS
from lvstui.ui.confirm import ConfirmScreen
from lvstui.ui.detail import RsDetail, RsDetailScreen
from lvstui.ui.feed import ChangeEvent
from lvstui.ui.op_forms import ServiceFormScreen
from lvstui.ui.widgets import EventPane
from tests.ui.test_ops import press
from tests.ui.ui_support import ManualClock, feed, make_app

HOSTILE = ("[/]", "[bold]", "[2001:db8::1]:80")
V6 = "tcp:[2001:db8::10]:80"


def palette_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def search(app, pilot, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*text)
    for _ in range(10):  # the palette searches in a worker
        await pilot.pause(0.05)
        if palette_lines(app):
            break
    return palette_lines(app)


async def test_palette_opens_searches_and_runs_an_action(demo: DemoSource, clock: ManualClock,
                                                         isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(120, 40)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        lines = await search(app, pilot, "Filter")
        assert any("Filter" in line and "[/]" in line for line in lines), lines  # the "/" key, as text
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette) and app.is_running
        assert not app.query_one(EventPane).display
        lines = await search(app, pilot, "Events")
        assert any(line.startswith("Events") for line in lines), lines
        await pilot.press("enter")
        await pilot.pause()
        assert not isinstance(app.screen, CommandPalette)
        assert app.query_one(EventPane).display  # the chosen action ran


async def test_hostile_strings_appear_verbatim(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    hostile = " ".join(HOSTILE)
    specs = tuple(dataclasses.replace(s, label=f"Events {HOSTILE[1]}", help=f"events {hostile}")
                  if s.action == "toggle_events" else s for s in ACTIONS)
    monkeypatch.setattr(dashboard_module, "ACTIONS", specs)
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45), notifications=True) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        # the palette
        lines = await search(app, pilot, "Events")
        assert any(f"Events {HOSTILE[1]}" in line and f"events {hostile}" in line for line in lines), lines
        await pilot.press("escape")
        await pilot.pause()
        # a notification (an error naming an IPv6 id, say)
        app.dashboard.tell(f"not applied: {hostile}", title=f"title {HOSTILE[0]}", severity="error")
        for _ in range(10):
            await pilot.pause(0.05)
            toasts = [str(t.render()) for t in app.screen.query(Toast)]
            if toasts:
                break
        assert all(not n.markup for n in app._notifications)
        assert any(f"not applied: {hostile}" in t and f"title {HOSTILE[0]}" in t for t in toasts), toasts
        # the operator's filter, in the services title
        await pilot.press("slash", *"[bold]")
        await pilot.pause()
        assert "filter “[bold]”" in str(app.query_one("#services-title").render())
        app.query_one("#filter", Input).value = ""
        await pilot.press("escape")
        await pilot.pause()
        # an IPv6 id in the real-servers title and in the confirmation's question
        app.dashboard.services.move_to_key(V6)
        await pilot.press("enter")
        assert app.dashboard.real_servers.move_to_key("[2001:db8:1::12]:80")
        await pilot.pause()
        assert f"Real servers of {V6}" in str(app.query_one("#rs-title").render())
        await press(app, pilot, "x")
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one("#confirm-title").render())
        assert f"Drain [2001:db8:1::12]:80 in {V6}?" in question
        await press(app, pilot, "escape")
        # a form's error
        await press(app, pilot, "A")
        assert isinstance(app.screen, ServiceFormScreen)
        app.screen.query_one("#address", Input).value = "[/]"
        await pilot.pause()
        error = str(app.screen.query_one("#err-address").render())
        assert "'[/]' is not a valid" in error and "write IPv6 as [2001:db8::1]:80" in error, error
        app.screen.query_one("#address", Input).value = "192.0.2.99"
        await pilot.pause()
        error = str(app.screen.query_one("#err-address").render())
        assert "expected ADDRESS:PORT (IPv6 as [ADDRESS]:PORT)" in error, error


#: the issue's list, with a link that would quit the app if read as markup and terminal control
MORE_HOSTILE = (*HOSTILE, "[@click=app.quit]", "\x1b[31mred\x07")


def shown(text: str) -> str:
    """How a hostile string must appear: as written, its control characters as \\xNN."""
    return text.replace("\x1b", "\\x1b").replace("\x07", "\\x07")


async def test_hostile_strings_in_the_detail_view(demo: DemoSource, clock: ManualClock,
                                                  isolated_config: Path) -> None:
    hostile = " ".join(MORE_HOSTILE)
    rs = RealServer(address="2001:db8::1", port=80, family="inet6",
                    check=CheckState(checker=f"HTTP_GET {MORE_HOSTILE[1]}", alive=False, detail=hostile))
    event = ChangeEvent(datetime(2026, 12, 2, tzinfo=UTC), "down", f"tcp:{HOSTILE[2]}", rs.id, hostile, rs)
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 2)
        app.push_screen(RsDetailScreen(lambda: RsDetail(f"tcp:{HOSTILE[2]}", rs.id, rs, events=[event]),
                                       None, f"no table {hostile}"))
        await pilot.pause()
        await pilot.click("#detail-text")  # a click on an @click link would quit
        await pilot.pause()
        text = str(app.screen.query_one("#detail-text").render())
        assert app.is_running and isinstance(app.screen, RsDetailScreen)
        assert f"Real server [2001:db8::1]:80 in tcp:{HOSTILE[2]}" in text
        assert f"HTTP_GET {MORE_HOSTILE[1]}: FAILING" in text
        assert text.count(shown(hostile)) == 3, text  # the check's detail, the event, the note
        assert "\x1b" not in text and "\x07" not in text


async def test_hostile_strings_in_the_wizards_diff() -> None:
    from lvstui.setup.realserver import SYSCTL_FILE
    from lvstui.setup.runner import FileInfo
    from tests.ui.test_setup_screens import FakeHost, settle, text_of
    from tests.ui.test_setup_screens import make_app as setup_app

    old = "\n".join(MORE_HOSTILE) + "\n"
    host = FakeHost("rs1")
    host.files[SYSCTL_FILE] = FileInfo(old.encode(), 0o644, "root", "root")
    app = setup_app({"rs1": host})
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.press("r")
        form = app.screen
        form.query_one("#hosts", Input).value = "rs1"
        form.query_one("#vips", Input).value = "192.168.1.100"
        form.query_one("#port", Input).value = "80"
        await pilot.pause()
        await pilot.click("#preview")
        await settle(pilot)
        plan = text_of(app, "#plan-text")
        assert app.is_running and app.screen.phase == "preview", plan  # type: ignore[attr-defined]
        for line in MORE_HOSTILE:  # the file's old lines, removed by the plan, as they are
            assert f"-{shown(line)}" in plan, (line, plan)
        assert "\x1b" not in plan and "\x07" not in plan
