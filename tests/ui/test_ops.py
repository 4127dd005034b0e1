"""Pilot tests of the operations from the keyboard, against the demo's in-memory director.

Each drives keys and forms, and checks the director's state afterwards (weights, membership),
the journal (a private LVSTUI_STATE_DIR per test, tests/conftest.py), the confirmation (focus
on No, No changes nothing), inline validation, tagging and --readonly.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Checkbox, Input, Select

from lvstui.demo import DemoSource
from lvstui.model import RealServer
from lvstui.ops.journal import Journal
from lvstui.ui.actions import ACTIONS, MUTATING_ACTIONS
from lvstui.ui.confirm import ConfirmScreen
from lvstui.ui.help import HelpScreen
from lvstui.ui.op_forms import AddServerScreen, ServiceFormScreen, WeightScreen
from tests.ui.ui_support import ManualClock, feed, make_app

WEB, TLS, DB = "tcp:192.0.2.10:80", "tcp:192.0.2.10:443", "tcp:198.51.100.20:3306"


def weight(demo: DemoSource, vs_id: str, rs_id: str) -> int | None:
    vs = demo.read().service(vs_id)
    rs = vs.real_server(rs_id) if vs else None
    return rs.weight if rs else None


def journal() -> list[dict[str, Any]]:
    """The outcomes (each change's intent, written ahead of it, left out)."""
    return [e for e in Journal().entries() if e["result"] != "intent"]


def body(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one("#confirm-body").render())


def footer_actions(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {b.action for (_, b, enabled, _) in app.active_bindings.values() if b.show and enabled}


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    """Let the preview/apply workers finish and their results reach the screen."""
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def press(app, pilot, *keys: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*keys)
    await settle(app, pilot)


async def open_rs(app, pilot, clock: ManualClock, vs_id: str = WEB,  # type: ignore[no-untyped-def]
                  rs_id: str | None = None) -> None:
    feed(app, clock, 3)
    await pilot.pause()
    app.dashboard.services.move_to_key(vs_id)
    await pilot.press("enter")
    if rs_id is not None:
        assert app.dashboard.real_servers.move_to_key(rs_id)
    await pilot.pause()


async def test_drain_confirm_no_changes_nothing_yes_drains_and_counts_fall(
        demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.12:80")
        assert "drain" in footer_actions(app)
        await press(app, pilot, "x")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.focused is app.screen.query_one("#no", Button)  # focus on No
        question = str(app.screen.query_one("#confirm-title").render())
        assert "Drain 10.1.0.12:80 in tcp:192.0.2.10:80?" in question
        assert "tcp:192.0.2.10:80 -> 10.1.0.12:80: weight 100 -> 0" in body(app)
        await press(app, pilot, "enter")  # Enter presses the focused button: No
        assert not isinstance(app.screen, ConfirmScreen)
        assert weight(demo, WEB, "10.1.0.12:80") == 100 and demo.writes == 0
        assert journal() == []
        await press(app, pilot, "x")
        await press(app, pilot, "escape")
        assert demo.writes == 0
        await press(app, pilot, "x")
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.12:80") == 0 and demo.writes == 1
        [entry] = journal()
        assert entry["verb"] == "drain" and entry["result"] == "applied" and entry["actor"] == "tui"
        assert entry["change"] == {"service": WEB, "server": "10.1.0.12:80"}
        assert any("drain done" in str(n.message) for n in app._notifications)
        assert app.dashboard.real_servers.cursor_key == "10.1.0.12:80"
        assert "◐ drained" in app.dashboard.real_servers.row_text("10.1.0.12:80")
        note = str(app.query_one("#drain-note").render())  # on a line of its own, under the title
        assert note.startswith("10.1.0.12:80 drained:") and app.query_one("#drain-note").display
        counts = []
        for _ in range(6):
            feed(app, clock, 1, step=5.0)
            rs = app.dashboard.frame.snapshot.service(WEB).real_server("10.1.0.12:80")
            counts.append(rs.active_conns + rs.inactive_conns)
        assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1]
        feed(app, clock, 12, step=10.0)
        await pilot.pause()
        assert any("is drained: no connections left" in str(n.message) for n in app._notifications)
        # restore puts back the remembered weight
        await press(app, pilot, "u")
        assert "weight 0 -> 100" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.12:80") == 100
        assert [e["verb"] for e in journal()] == ["drain", "restore"]


async def test_persistent_service_drain_explains_templates(demo: DemoSource, clock: ManualClock,
                                                           isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, TLS, "10.1.0.13:443")
        await press(app, pilot, "x")
        assert "expire_quiescent_template" in body(app) and "persistent (300s)" in body(app)
        assert "the dashboard's Persist column" in body(app)  # the column shown beside it
        await press(app, pilot, "y")
        feed(app, clock, 2)
        await pilot.pause()
        note = app.query_one("#drain-note")
        # whole (it wraps rather than being cut), and the Persist column it points at is shown,
        # beside the director panel
        assert str(note.render()).endswith("persistent (templates keep their clients until they expire)")
        assert note.size.height >= 1 and app.query_one("#director").display
        assert "persistent" in [c.key for c, _ in app.dashboard.real_servers.visible_columns()]
        await press(app, pilot, "escape")
        app.dashboard.services.move_to_key(WEB)  # not persistent: Persist gives way first there
        await pilot.pause()
        assert "persistent" not in [c.key for c, _ in app.dashboard.real_servers.visible_columns()]


async def test_weight_plus_minus_and_the_weight_form(demo: DemoSource, clock: ManualClock,
                                                     isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.15:80")
        await press(app, pilot, "plus")
        assert "weight 100 -> 101" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.15:80") == 101
        await press(app, pilot, "minus")
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.15:80") == 100
        await press(app, pilot, "w")
        form = app.screen
        assert isinstance(form, WeightScreen)
        box = form.query_one("#weight", Input)
        assert box.value == "100"
        for text, error in (("abc", "is not a whole number"), ("2147483648", "out of range"),
                            ("-", "is not a whole number")):
            box.value = text
            await pilot.pause()
            assert error in str(form.query_one("#err-weight").render())
            assert form.query_one("#submit", Button).disabled
            await press(app, pilot, "enter")
            assert app.screen is form  # invalid: stays, nothing changed
        box.value = "7"
        await pilot.pause()
        assert str(form.query_one("#err-weight").render()) == ""
        await press(app, pilot, "enter")
        assert isinstance(app.screen, ConfirmScreen) and "weight 100 -> 7" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.15:80") == 7
        await press(app, pilot, "w")
        app.screen.query_one("#weight", Input).value = "+3"
        await press(app, pilot, "enter", "y")
        assert weight(demo, WEB, "10.1.0.15:80") == 10
        assert [e["verb"] for e in journal()] == ["weight"] * 4


async def test_add_real_server_form_validates_inline_then_adds(demo: DemoSource, clock: ManualClock,
                                                               isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB)
        await press(app, pilot, "a")
        form = app.screen
        assert isinstance(form, AddServerScreen)
        server = form.query_one("#server", Input)
        assert form.query_one("#submit", Button).disabled  # empty address
        cases = [("10.1.0.300:80", "#err-server", "not a valid real-server address"),
                 ("10.1.0.50:0", "#err-server", "out of range"),
                 ("10.1.0.11:80", "#form-problem", "already in tcp:192.0.2.10:80"),
                 ("10.1.0.50:8080", "#form-problem", "DR delivers to the service's own port 80")]
        for text, where, error in cases:
            server.value = text
            await pilot.pause()
            assert error in str(form.query_one(where).render()), text
            assert form.query_one("#submit", Button).disabled
        server.value = "10.1.0.50:80"
        form.query_one("#weight", Input).value = "x"
        await pilot.pause()
        assert "not a whole number" in str(form.query_one("#err-weight").render())
        form.query_one("#weight", Input).value = "5"
        form.query_one("#upper", Input).value = "10"
        form.query_one("#lower", Input).value = "20"
        await pilot.pause()
        problem = str(form.query_one("#form-problem").render())
        assert "lower threshold 20 is above upper threshold 10" in problem
        form.query_one("#lower", Input).value = "2"
        form.query_one("#forward", Select).value = "NAT"
        server.value = "10.1.0.50:8080"  # NAT may map the port
        await pilot.pause()
        assert not form.query_one("#submit", Button).disabled
        await press(app, pilot, "enter")
        assert "add real server 10.1.0.50:8080 to tcp:192.0.2.10:80 (NAT, weight 5)" in body(app)
        await press(app, pilot, "y")
        rs = demo.read().service(WEB).real_server("10.1.0.50:8080")
        assert rs is not None and rs.weight == 5 and rs.forward.value == "NAT"
        assert (rs.upper_threshold, rs.lower_threshold) == (10, 2)
        assert journal()[-1]["verb"] == "add-rs"
        # and remove it again (idle: no force needed)
        assert app.dashboard.real_servers.move_to_key("10.1.0.50:8080")
        await press(app, pilot, "delete")
        assert "remove real server 10.1.0.50:8080 from tcp:192.0.2.10:80" in body(app)
        await press(app, pilot, "y")
        assert demo.read().service(WEB).real_server("10.1.0.50:8080") is None


async def test_remove_busy_server_needs_force(demo: DemoSource, clock: ManualClock,
                                             isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.16:80")
        await press(app, pilot, "delete")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        assert "still has" in body(app) and "active connections" in body(app)
        assert "or tick Force below (the kernel drops them)" in " ".join(body(app).split())  # the box on screen
        assert screen.query_one("#yes", Button).disabled
        await press(app, pilot, "y")  # refused: nothing applied
        assert app.screen is screen and demo.writes == 0
        screen.query_one("#force", Checkbox).value = True
        await settle(app, pilot)
        assert screen.replans == 1 and "will be dropped" in body(app)
        assert not screen.query_one("#yes", Button).disabled
        await press(app, pilot, "y")
        assert demo.read().service(WEB).real_server("10.1.0.16:80") is None
        assert journal()[-1]["verb"] == "remove-rs" and journal()[-1]["change"]["force"] is True


async def test_drain_and_restore_host_across_services(demo: DemoSource, clock: ManualClock,
                                                      isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.17:80")
        await press(app, pilot, "X")
        assert "10.1.0.17:80: weight 100 -> 0" in body(app) and "10.1.0.17:443: weight 100 -> 0" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.17:80") == 0 and weight(demo, TLS, "10.1.0.17:443") == 0
        assert weight(demo, WEB, "10.1.0.18:80") == 100
        await press(app, pilot, "U", "y")
        assert weight(demo, WEB, "10.1.0.17:80") == 100 and weight(demo, TLS, "10.1.0.17:443") == 100
        assert [e["verb"] for e in journal()] == ["drain-host", "restore-host"]


async def test_tagged_rows_drain_together(demo: DemoSource, clock: ManualClock,
                                          isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.11:80")
        await pilot.press("space", "j", "space")  # tag .11, skip .12, tag .13
        assert app.dashboard.ops.tags == {(WEB, "10.1.0.11:80"), (WEB, "10.1.0.13:80")}
        assert app.dashboard.real_servers.row_text("10.1.0.11:80").startswith("*")
        assert "2 tagged" in str(app.query_one("#rs-title").render())
        app.dashboard.services.move_to_key(TLS)  # tags survive moving to another service
        await pilot.pause()
        app.dashboard.real_servers.focus()
        assert app.dashboard.real_servers.move_to_key("10.1.0.20:443")
        await pilot.press("space")
        await press(app, pilot, "x")
        text = body(app)
        for vs_id, rs_id in ((WEB, "10.1.0.11:80"), (WEB, "10.1.0.13:80"), (TLS, "10.1.0.20:443")):
            assert f"{vs_id} -> {rs_id}: weight 100 -> 0" in text
        assert "10.1.0.12:80" not in text
        await press(app, pilot, "y")
        assert [weight(demo, WEB, "10.1.0.11:80"), weight(demo, WEB, "10.1.0.12:80"),
                weight(demo, WEB, "10.1.0.13:80"), weight(demo, TLS, "10.1.0.20:443")] == [0, 100, 0, 0]
        assert app.dashboard.ops.tags == set()  # applied: tags cleared
        assert len(journal()) == 3
        await pilot.press("space", "space")
        assert len(app.dashboard.ops.tags) == 2
        await pilot.press("escape")
        assert app.dashboard.ops.tags == set()


async def test_add_edit_remove_virtual_service(demo: DemoSource, clock: ManualClock,
                                               isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        await press(app, pilot, "A")
        form = app.screen
        assert isinstance(form, ServiceFormScreen)
        address = form.query_one("#address", Input)
        for text, error in (("192.0.2.10:80", "already exists"), ("192.0.2.99:0", "port 0"),
                            ("nonsense", "not a valid")):
            address.value = text
            await pilot.pause()
            shown = (str(form.query_one("#err-address").render())
                     + str(form.query_one("#form-problem").render()))
            assert error in shown, text
        form.query_one("#protocol", Select).value = "udp"
        address.value = "192.0.2.99:53"
        form.query_one("#scheduler", Select).value = "rr"
        form.query_one("#flags", Input).value = "sh-port"
        await pilot.pause()
        assert "needs the sh scheduler" in str(form.query_one("#err-flags").render())
        form.query_one("#flags", Input).value = "ops"
        form.query_one("#persistent", Input).value = "abc"
        await pilot.pause()
        assert "not a number of seconds" in str(form.query_one("#err-persistent").render())
        form.query_one("#persistent", Input).value = "0"
        await press(app, pilot, "enter")
        assert "add virtual service udp:192.0.2.99:53 (rr flags ops)" in body(app)
        await press(app, pilot, "y")
        vs = demo.read().service("udp:192.0.2.99:53")
        assert vs is not None and vs.scheduler == "rr" and "ops" in vs.flags
        assert app.dashboard.services.move_to_key("udp:192.0.2.99:53")
        await press(app, pilot, "E")
        form = app.screen
        assert isinstance(form, ServiceFormScreen) and form.query_one("#flags", Input).value == "ops"
        form.query_one("#scheduler", Select).value = "wrr"
        form.query_one("#persistent", Input).value = "60"
        form.query_one("#netmask", Input).value = "24"
        await pilot.pause()
        await press(app, pilot, "enter")
        expected = "udp:192.0.2.99:53: rr flags ops -> wrr persistent 60s mask 255.255.255.0 flags ops"
        assert expected in body(app)
        await press(app, pilot, "y")
        vs = demo.read().service("udp:192.0.2.99:53")
        assert (vs.scheduler, vs.persistence_timeout, vs.netmask) == ("wrr", 60, "255.255.255.0")
        await press(app, pilot, "D")
        assert "delete virtual service udp:192.0.2.99:53" in body(app)
        await press(app, pilot, "n")
        assert demo.read().service("udp:192.0.2.99:53") is not None
        await press(app, pilot, "D", "y")
        assert demo.read().service("udp:192.0.2.99:53") is None
        assert [e["verb"] for e in journal()] == ["add-vs", "edit-vs", "remove-vs"]


async def test_refusal_is_shown_and_nothing_changes(demo: DemoSource, clock: ManualClock,
                                                    isolated_config: Path) -> None:
    """Restore without a remembered weight (10.3.0.13 was drained before lvstui): refused in the dialog."""
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, DB, "10.3.0.13:3306")
        await press(app, pilot, "u")
        assert "Refused: no remembered weight for 10.3.0.13:3306" in body(app)
        assert not app.screen.query("#yes")  # a refusal: no Yes at all
        await press(app, pilot, "y", "n")
        assert demo.writes == 0 and not isinstance(app.screen, ConfirmScreen)


async def test_a_failed_apply_is_notified_in_one_line(demo: DemoSource, clock: ManualClock,
                                                      isolated_config: Path) -> None:
    """The director changes between the preview and the apply: the error is notified, nothing half-done."""
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.19:80")
        await press(app, pilot, "delete")
        app.screen.query_one("#force", Checkbox).value = True
        await settle(app, pilot)
        gone = demo.read().service(WEB)
        demo.delete_dest(gone, gone.real_server("10.1.0.19:80"))  # someone else removes it meanwhile
        await press(app, pilot, "y")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "real server 10.1.0.19:80 is not in tcp:192.0.2.10:80" in errors[-1].message
        assert "\n" not in errors[-1].message
        assert journal()[-1]["result"] == "refused"


@pytest.mark.parametrize("readonly", [False, True])
async def test_readonly_hides_and_refuses_every_operation(demo: DemoSource, clock: ManualClock,
                                                          isolated_config: Path, readonly: bool) -> None:
    app = make_app(demo, clock, isolated_config, readonly=readonly)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.11:80")
        allowed = {s.action for s in ACTIONS if app.dashboard.check_action(s.action, ()) is not False}
        palette = {cmd.title for cmd in app.get_system_commands(app.screen)}
        helps = {text for _, text in app.dashboard.allowed_actions()}
        mutating = [s for s in ACTIONS if s.mutating]
        assert {s.action for s in mutating} == MUTATING_ACTIONS and len(mutating) >= 14
        if readonly:
            assert not allowed & MUTATING_ACTIONS and not footer_actions(app) & MUTATING_ACTIONS
            assert not {s.label for s in mutating} & palette
            assert not any(s.help in text for s in mutating for text in helps)
        else:
            # the demo does not simulate VRRP, the SSH wizards (tests/ui/test_feedback.py) or sysctls
            # (expire_quiescent: tests/ui/test_drain_elsewhere.py)
            assert allowed >= MUTATING_ACTIONS - {"vrrp_demote", "vrrp_promote", "setup", "expire_quiescent"} and {"drain", "restore", "set_weight"} <= footer_actions(app)
        for spec in mutating:
            if spec.action in ("setup", "expire_quiescent") or spec.action.startswith("vrrp_"):
                # vrrp: tests/ui/test_vrrp_actions.py; expire_quiescent: tests/ui/test_drain_elsewhere.py
                continue
            await press(app, pilot, spec.keys.split(",")[0])
            if spec.action == "tag":
                assert bool(app.dashboard.ops.tags) is not readonly
                app.dashboard.ops.tags.clear()
            elif readonly:
                assert app.screen is app.dashboard, spec.action  # the key does nothing
            else:
                assert app.screen is not app.dashboard, spec.action
                await press(app, pilot, "escape")
            app.dashboard.real_servers.focus()
            app.dashboard.real_servers.move_to_key("10.1.0.11:80")
            await pilot.pause()
        await press(app, pilot, "question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = str(app.screen.query_one("#help-text").render())
        assert ("Drain the real server" in text) is not readonly
        assert demo.writes == 0
        if readonly:  # and the operations layer refuses whatever calls it
            from lvstui.ops.changes import Drain
            from lvstui.ops.targets import parse_server_id, parse_service_id

            drain = Drain(parse_service_id(WEB), parse_server_id("10.1.0.11:80"))
            preview = app.dashboard.ops.runner.preview([drain], "drain")
            assert preview.error and "read-only" in preview.error
            result = app.dashboard.ops.runner.apply([drain])
            assert not result.ok and "read-only" in result.message
            assert demo.writes == 0 and {e["result"] for e in journal()} == {"refused"}


async def test_a_key_pressed_twice_opens_one_confirmation(demo: DemoSource, clock: ManualClock,
                                                          isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.12:80")
        slow_read = demo.read

        def read():  # type: ignore[no-untyped-def]
            time.sleep(0.3)  # a large director: the preview is still running when the key comes again
            return slow_read()

        demo.read = read  # type: ignore[method-assign]
        await pilot.press("x", "x")
        await settle(app, pilot)
        assert sum(isinstance(s, ConfirmScreen) for s in app.screen_stack) == 1
        await press(app, pilot, "n")
        assert app.screen is app.dashboard and demo.writes == 0


async def test_undo_key_reverses_the_last_change_and_refuses_after_a_hand_change(
        demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    """z plans the undo of the last journaled change (ops.undo), confirms it like any change and
    applies it through the same Operations; after a change by hand it is refused, saying what."""
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.12:80")
        await press(app, pilot, "x")
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.12:80") == 0
        await press(app, pilot, "z")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.focused is app.screen.query_one("#no", Button)
        assert "10.1.0.12:80: weight 0 -> 100" in body(app)
        await press(app, pilot, "n")
        assert weight(demo, WEB, "10.1.0.12:80") == 0  # No: nothing changed
        await press(app, pilot, "z")
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.12:80") == 100
        entries = journal()
        assert [e["verb"] for e in entries][:1] == ["drain"]
        assert any(e.get("undo_of") == entries[0]["id"] for e in entries[1:]), entries
        # drain again, then change that server by hand: the undo no longer holds
        await press(app, pilot, "x")
        await press(app, pilot, "y")
        vs = demo.read().service(WEB)
        server = vs.real_server("10.1.0.12:80")
        demo.edit_dest(vs, RealServer(server.address, server.port, weight=7))  # not through lvstui
        writes = demo.writes
        await press(app, pilot, "z")
        assert isinstance(app.screen, ConfirmScreen)
        assert not app.screen.query("#yes")  # refused: no Yes at all
        assert "10.1.0.12:80 in tcp:192.0.2.10:80 has weight 7 (the change left 0)" in " ".join(body(app).split())
        await press(app, pilot, "escape")
        assert weight(demo, WEB, "10.1.0.12:80") == 7 and demo.writes == writes


async def test_undo_is_hidden_and_refused_read_only(demo: DemoSource, clock: ManualClock,
                                                    isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config, readonly=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.12:80")
        assert "undo" in MUTATING_ACTIONS
        await press(app, pilot, "z")
        assert not isinstance(app.screen, ConfirmScreen) and demo.writes == 0


async def test_malformed_weights_and_unwritable_journal_are_one_line(demo: DemoSource, clock: ManualClock,
                                                                    isolated_config: Path) -> None:
    """A weights.json that is not a JSON object of weights is refused in the dialog (it raised in the
    preview worker and ended the app); a journal that cannot be used is notified in one line."""
    from lvstui.ops.journal import state_dir

    state_dir().mkdir(parents=True, exist_ok=True)
    (state_dir() / "weights.json").write_text("[1, 2]")
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.12:80")
        await press(app, pilot, "x")
        assert isinstance(app.screen, ConfirmScreen)
        assert "the remembered weights must be a JSON object of weights" in body(app)
        assert app.screen.has_class("-refusal") and not app.screen.query("#yes")  # drawn as a refusal
        await press(app, pilot, "n")
        (state_dir() / "weights.json").unlink()
        (state_dir() / "journal.jsonl").mkdir()
        await press(app, pilot, "x")
        await press(app, pilot, "y")
        errors = [n for n in app._notifications if n.severity == "error"]
        assert errors and "cannot read the journal" in errors[-1].message, errors
        assert "\n" not in errors[-1].message and "nothing was changed" in errors[-1].message
        assert weight(demo, WEB, "10.1.0.12:80") == 100 and demo.writes == 0
