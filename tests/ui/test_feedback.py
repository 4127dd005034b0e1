"""Every key says something (issue 18, item 6): read-only refusals, refusals drawn as refusals,
messages naming the key on screen, the demo declaring what it does not simulate, modal screens
holding the keys.  Pilot tests on the demo director."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.widgets import Button

from lvstui.demo import DemoSource
from lvstui.ui.actions import ACTIONS
from lvstui.ui.confirm import ConfirmScreen
from lvstui.ui.help import HelpScreen
from lvstui.ui.op_forms import WeightScreen
from tests.ui.test_ops import DB, WEB, body, open_rs, press
from tests.ui.ui_support import ManualClock, feed, make_app

#: as the VRRP tests do: a source that declares keepalived, so ctrl+d is offered
WITH_VRRP = dataclasses.replace(DemoSource.capabilities, vrrp=True, demo=False)


def toasts(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(n.message) for n in app._notifications]


async def test_every_mutating_key_read_only_gives_one_toast(demo: DemoSource, clock: ManualClock,
                                                            isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config, readonly=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.11:80")
        mutating = [s for s in ACTIONS if s.mutating]
        for spec in mutating:
            app.dashboard.real_servers.focus()
            before = len(toasts(app))
            await press(app, pilot, spec.keys.split(",")[0])
            new = toasts(app)[before:]
            assert len(new) == 1 and new[0].startswith("read-only: ") and "is not allowed" in new[0], (spec, new)
            assert app.screen is app.dashboard, spec.action
        drain = next(t for t in toasts(app) if "drain " in t)
        assert drain.startswith("read-only: drain is not allowed")
        assert demo.writes == 0 and not app.dashboard.ops.tags
        before = len(toasts(app))
        await press(app, pilot, "e")  # a key that reads: no refusal
        assert toasts(app)[before:] == []


async def test_a_refusal_is_drawn_as_a_refusal_without_yes(demo: DemoSource, clock: ManualClock,
                                                           isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, DB, "10.3.0.13:3306")  # weight 0
        await press(app, pilot, "minus")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen) and screen.has_class("-refusal")
        assert "cannot go below 0" in body(app)
        assert not screen.query("#yes")  # no greyed "Yes": nothing here could make it applicable
        assert [str(b.label) for b in screen.query(Button)] == ["Close (Esc)"]
        assert str(screen.query_one("#confirm-title").render()).startswith("Not possible: ")
        await press(app, pilot, "y")  # does nothing
        assert app.screen is screen
        await press(app, pilot, "escape")
        assert app.screen is app.dashboard and demo.writes == 0


async def test_restore_of_a_server_lvstui_did_not_drain_points_at_the_weight_key(
        demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config, keymap={"app.set_weight": "W"})
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, DB, "10.3.0.13:3306")  # drained before lvstui ran
        await press(app, pilot, "u")
        text = " ".join(body(app).split())
        assert "it was not drained by lvstui): press W to set a weight" in text, text
        assert "lvstui weight" not in text  # not the CLI's advice
        await press(app, pilot, "escape")
        await press(app, pilot, "W")
        assert isinstance(app.screen, WeightScreen)  # the key named does it


async def test_the_demo_says_what_it_does_not_simulate(demo: DemoSource, clock: ManualClock,
                                                       isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        assert "VI_1 MASTER" in str(app.query_one("#header").render())
        palette = {cmd.title for cmd in app.get_system_commands(app.screen)}
        assert not {"VRRP demote", "VRRP promote", "Setup"} & palette
        for key, name in (("ctrl+d", "VRRP demote"), ("ctrl+u", "VRRP promote"), ("f2", "setup")):
            before = len(toasts(app))
            await press(app, pilot, key)
            new = toasts(app)[before:]
            assert len(new) == 1 and new[0].startswith(f"demo: {name} is not simulated"), new
            assert "keepalived is not running" not in new[0]
            assert app.screen is app.dashboard and not any(w.group == "vrrp" for w in app.workers)


async def test_modal_screens_hold_the_dashboard_keys(demo: DemoSource, clock: ManualClock,
                                                     isolated_config: Path) -> None:
    """ctrl+d (and every dashboard key) waits while a modal screen or the wizard is open."""
    app = make_app(demo, clock, isolated_config, capabilities=WITH_VRRP)
    async with app.run_test(size=(140, 45)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        calls: list[str] = []
        app.dashboard.vrrp.toggle = calls.append  # type: ignore[method-assign]
        await press(app, pilot, "f2")  # the setup wizard's chooser
        wizard = app.screen
        assert wizard is not app.dashboard
        await press(app, pilot, "ctrl+d", "x", "question_mark")
        assert calls == [] and app.screen is wizard and not isinstance(app.screen, HelpScreen)
        await press(app, pilot, "escape")
        await press(app, pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await press(app, pilot, "ctrl+d")
        assert calls == []
        await press(app, pilot, "escape")
        assert app.screen is app.dashboard
        await press(app, pilot, "ctrl+d")
        assert calls == ["demote"]  # the key works on the dashboard itself


def test_refusals_name_the_mode_or_the_source() -> None:
    """One line per reason, from the registry: read-only first, then what the source lacks."""
    from lvstui.capabilities import Capabilities
    from lvstui.ui.actions import MUTATING_ACTIONS
    from lvstui.ui.offered import refusal

    spec = {s.action: s for s in ACTIONS}

    def why(action: str, caps: Capabilities, readonly: bool = False) -> str | None:
        return refusal(spec[action], readonly=readonly, capabilities=caps, mutating=MUTATING_ACTIONS)

    kernel, with_vrrp = Capabilities(), Capabilities(vrrp=True)
    assert why("vrrp_demote", kernel) == "VRRP demote: this source has no keepalived (nothing to demote or promote)"
    assert why("vrrp_demote", with_vrrp) is None and why("setup", kernel) is None
    assert why("vrrp_demote", with_vrrp, readonly=True) == "read-only: VRRP demote is not allowed (started with --readonly)"
    assert why("lab_panel", kernel) == "lab: only inside `lvstui lab`"
    assert why("toggle_events", kernel, readonly=True) is None


async def test_nothing_to_do_is_said_without_a_greyed_yes(demo: DemoSource, clock: ManualClock,
                                                          isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.11:80")  # up, weight 100: restore changes nothing
        await press(app, pilot, "u")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen) and not screen.query("#yes")
        assert str(screen.query_one("#confirm-title").render()).startswith("Nothing to do: ")
        assert "nothing to change: the director already matches" in body(app)
        await press(app, pilot, "escape")
        assert app.screen is app.dashboard and demo.writes == 0
