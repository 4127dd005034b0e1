"""Pilot tests: drains the dashboard did not start, and the remedy for persistence's pinning.

The demo's in-memory director stands for the kernel.  A drain "elsewhere" is a weight written to
it directly (as another lvstui, an operator or ipvsadm would), never through this dashboard.  The
remedy's sysctl is a file in a temporary directory given to the operations layer (its
``sysctl_dir``), so the dashboard previews, writes, reads back and journals it as on a director;
the demo itself has no sysctl and does not offer the key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from textual.widgets import Button

from lvstui.demo import DemoSource
from lvstui.ops.engine import Operations
from lvstui.ui.confirm import ConfirmScreen
from tests.ui.test_ops import TLS, WEB, body, footer_actions, journal, open_rs, press
from tests.ui.ui_support import ManualClock, feed, make_app

EQT = "expire_quiescent_template"


def drain_elsewhere(demo: DemoSource, vs_id: str, rs_id: str) -> None:
    vs = demo.read().service(vs_id)
    assert vs is not None
    rs = vs.real_server(rs_id)
    assert rs is not None and rs.weight > 0
    demo.edit_dest(vs, dataclasses.replace(rs, weight=0))


def note(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.query_one("#drain-note").render())


async def test_a_drain_done_elsewhere_shows_its_progress_and_its_end(
        demo: DemoSource, clock: ManualClock, isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, WEB, "10.1.0.12:80")
        assert note(app) == ""
        drain_elsewhere(demo, WEB, "10.1.0.12:80")
        feed(app, clock, 1)
        await pilot.pause()
        assert note(app).startswith("10.1.0.12:80 drained:") and app.query_one("#drain-note").display
        assert (WEB, "10.1.0.12:80") in app.dashboard.ops.watched()
        assert not any("is drained" in str(n.message) for n in app._notifications)
        feed(app, clock, 18, step=10.0)
        await pilot.pause()
        assert any(str(n.message) == "10.1.0.12:80 in tcp:192.0.2.10:80 is drained: no connections left"
                   for n in app._notifications)
        assert (WEB, "10.1.0.12:80") not in app.dashboard.ops.watched()
        assert journal() == []  # nothing was written from here


def _app_with_sysctl(demo: DemoSource, clock: ManualClock, config: Path, sysctls: Path,
                     readonly: bool = False):  # type: ignore[no-untyped-def]
    (sysctls / EQT).write_text("0\n")
    operations = Operations(demo, readonly=readonly, actor="tui", keepalived=None, settle_seconds=0.0,
                            sysctl_dir=sysctls)
    capabilities = dataclasses.replace(demo.capabilities, demo=False)  # a director with its sysctl
    return make_app(demo, clock, config, operations=operations, capabilities=capabilities, readonly=readonly)


async def test_pinned_clients_of_a_drained_server_are_unpinned_from_the_keyboard(
        demo: DemoSource, clock: ManualClock, isolated_config: Path, tmp_path: Path) -> None:
    sysctls = tmp_path / "vs"
    sysctls.mkdir()
    app = _app_with_sysctl(demo, clock, isolated_config, sysctls)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_rs(app, pilot, clock, TLS, "10.1.0.13:443")
        assert "expire_quiescent" not in footer_actions(app)  # not drained: nothing to unpin
        await press(app, pilot, "x")
        assert "net.ipv4.vs.expire_quiescent_template is 0 (`lvstui expire-quiescent on` sets it to 1)" in body(app)
        assert "Here: press P on the drained real server sets it to 1" in body(app)
        await press(app, pilot, "y")
        feed(app, clock, 1)
        await pilot.pause()
        assert "expire_quiescent" in footer_actions(app)
        assert "still sent here: press P" in note(app)
        await press(app, pilot, "P")
        assert isinstance(app.screen, ConfirmScreen)
        assert app.focused is app.screen.query_one("#no", Button)
        assert "net.ipv4.vs.expire_quiescent_template: 0 -> 1" in body(app)
        assert "lasts until the next reboot" in body(app)
        await press(app, pilot, "n")
        assert (sysctls / EQT).read_text() == "0\n"
        await press(app, pilot, "P")
        await press(app, pilot, "y")
        assert (sysctls / EQT).read_text().strip() == "1"
        entry = journal()[-1]
        assert entry["verb"] == "expire-quiescent" and entry["actor"] == "tui"
        assert entry["sysctl"] == [{"name": EQT, "before": 0, "after": 1}]
        feed(app, clock, 1)
        await pilot.pause()
        assert "expire_quiescent" not in footer_actions(app)  # done: no longer offered
        assert "still sent here" not in note(app)
        await press(app, pilot, "z")  # undone as any change of lvstui's
        assert "net.ipv4.vs.expire_quiescent_template: 1 -> 0" in body(app)
        await press(app, pilot, "y")
        assert (sysctls / EQT).read_text().strip() == "0"
        # a drained server of a service without persistence has no pinned clients
        drain_elsewhere(demo, WEB, "10.1.0.12:80")
        feed(app, clock, 1)
        app.dashboard.services.move_to_key(WEB)
        await pilot.press("enter")
        assert app.dashboard.real_servers.move_to_key("10.1.0.12:80")
        await pilot.pause()
        assert "drain" not in footer_actions(app) and "expire_quiescent" not in footer_actions(app)


async def test_readonly_offers_no_remedy(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                         tmp_path: Path) -> None:
    app = _app_with_sysctl(demo, clock, isolated_config, tmp_path, readonly=True)
    async with app.run_test(size=(140, 45)) as pilot:
        drain_elsewhere(demo, TLS, "10.1.0.13:443")
        await open_rs(app, pilot, clock, TLS, "10.1.0.13:443")
        assert "still sent here: lvstui expire-quiescent on" in note(app)
        assert app.dashboard.check_action("expire_quiescent", ()) is False
        await press(app, pilot, "P")
        assert app.screen is app.dashboard and (tmp_path / EQT).read_text() == "0\n"
        assert any("read-only" in str(n.message) for n in app._notifications)


async def test_the_demo_does_not_offer_the_remedy(demo: DemoSource, clock: ManualClock,
                                                  isolated_config: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(140, 45)) as pilot:
        drain_elsewhere(demo, TLS, "10.1.0.13:443")
        await open_rs(app, pilot, clock, TLS, "10.1.0.13:443")
        assert app.dashboard.check_action("expire_quiescent", ()) is False
        await press(app, pilot, "P")
        assert app.screen is app.dashboard
        assert any("demo: unpin is not simulated" in str(n.message) for n in app._notifications)
