"""What the source declares it can do decides what the dashboard offers (lvstui/capabilities.py).

No name checks, no probing of methods: the demo declares itself writable and simulated, the
kernel sources declare keepalived's view (VRRP) or not, and ``lvstui`` adds the lab's control
socket once, where it builds the source.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from lvstui.backend.director import DirectorSource
from lvstui.backend.ipvs import IpvsClient
from lvstui.capabilities import Capabilities
from lvstui.commands.dashboard import choose_director
from lvstui.demo import DemoSource
from lvstui.ops import vrrp as toggle_flow
from lvstui.ui.confirm import ConfirmScreen
from lvstui.ui.lab_panel import LabPanel
from tests.ui.test_app import footer_actions
from tests.ui.ui_support import ManualClock, feed, make_app


def test_each_source_declares_its_capabilities() -> None:
    assert DemoSource.capabilities == Capabilities(write=True, demo=True)
    assert DirectorSource.capabilities == Capabilities(vrrp=True, conn_table=True)
    assert IpvsClient.capabilities == Capabilities(conn_table=True)
    assert not Capabilities().lab_controls
    lab = Capabilities().with_lab_control("/run/lvstui-lab.sock")
    assert lab.lab_controls and lab.lab_control == "/run/lvstui-lab.sock"
    assert Capabilities().with_lab_control("") == Capabilities()  # an empty variable is no lab


def test_the_demo_writes_to_itself(demo: DemoSource) -> None:
    assert choose_director(argparse.Namespace(readonly=False), demo) is demo
    assert choose_director(argparse.Namespace(readonly=True), demo) is None


async def test_the_lab_panel_only_with_the_labs_controls(demo: DemoSource, clock: ManualClock,
                                                         isolated_config: Path, tmp_path: Path) -> None:
    app = make_app(demo, clock, isolated_config)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        assert "lab_panel" not in footer_actions(app)
        assert not any("lab panel" in text for _, text in app.dashboard.allowed_actions())
        await pilot.press("L")
        await pilot.pause()
        assert not isinstance(app.screen, LabPanel)
    socket = tmp_path / "no-lab.sock"  # nothing listens: the panel says so, the dashboard goes on
    caps = demo.capabilities.with_lab_control(str(socket))
    app = make_app(demo, clock, isolated_config, capabilities=caps)
    async with app.run_test(size=(160, 45)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        assert "lab_panel" in footer_actions(app)
        assert any("lab panel" in text for _, text in app.dashboard.allowed_actions())
        await pilot.press("L")
        await app.workers.wait_for_complete()
        await pilot.pause()
        panel = app.screen
        assert isinstance(panel, LabPanel) and panel.path == str(socket)
        assert "did not answer" in str(panel.query_one("#lab-status").render())
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.dashboard


async def test_vrrp_needs_a_source_with_keepalived(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    prepared: list[str] = []
    monkeypatch.setattr(toggle_flow, "prepare", lambda action, *a, **k: prepared.append(action))
    app = make_app(demo, clock, isolated_config)  # the demo: no keepalived behind it
    async with app.run_test(size=(140, 45)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        await pilot.press("ctrl+d")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert prepared == [] and not isinstance(app.screen, ConfirmScreen)
        # the demo says it does not simulate it (tests/ui/test_feedback.py), not that keepalived is missing
        assert any("demo: VRRP demote is not simulated" in str(n.message) for n in app._notifications)
