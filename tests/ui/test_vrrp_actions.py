"""Pilot tests of VRRP demote/promote from the dashboard (lvstui/ui/vrrp_controller.py).

The flow itself (prepare/execute against keepalived in the lab) is tested through the CLI in
tests/lab/test_vrrp_toggle.py; here ``toggle_flow.prepare`` and ``toggle_flow.execute`` are
replaced by :class:`FakeFlow`, an in-memory test fixture that records what the dashboard calls
(and from which thread), so the screens, workers and notifications are checked alone.  The plan
is a real :class:`TogglePlan` (its refusal policy decides), and refusals are journalled by the
real ``toggle_flow.record_refusal``.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from textual.widgets import Button, Checkbox

from lvstui.demo import DemoSource
from lvstui.keepalived.runtime import VrrpState
from lvstui.keepalived.toggle import Target, ToggleError
from lvstui.keepalived.view import ConfVrrpInstance, TrackFile
from lvstui.keepalived.vrrp_adverts import AdvertListener
from lvstui.ops import vrrp as toggle_flow
from lvstui.ops.journal import Journal
from lvstui.ops.vrrp import TogglePlan
from lvstui.ui.actions import ACTIONS
from lvstui.ui.confirm import ConfirmScreen
from lvstui.ui.help import HelpScreen
from tests.ui.ui_support import ManualClock, feed, make_app

#: the demo declares no VRRP (it has no keepalived); these tests stand in a flow for keepalived's
WITH_VRRP = dataclasses.replace(DemoSource.capabilities, vrrp=True)

PLAN_TEXT = ("demote VI_1 (VRID 51, MASTER, effective priority 150 -> 90) by writing 1 to "
             "/etc/keepalived/lvstui-maint; peer: the backup")


class CountingListener(AdvertListener):
    """A real advert listener, never started (no raw socket in the tests), that counts its closes."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = 0

    def close(self) -> None:
        self.closed += 1
        super().close()


def make_plan(text: str, problems: list[str] | None = None) -> TogglePlan:
    """A real TogglePlan (its refusal policy, its journal entry), as prepare() returns it for VI_1."""
    instance = ConfVrrpInstance(name="VI_1", state="MASTER", virtual_router_id=51, priority=150)
    track = TrackFile(name="lvstui_maint", file="/etc/keepalived/lvstui-maint", weight=-60)
    target = Target(parent_pid=1, config_file="/etc/keepalived/keepalived.conf", instance=instance, track=track,
                    path=Path("/etc/keepalived/lvstui-maint"), weight=-60)
    state = VrrpState(name="VI_1", state="MASTER", priority=150, effective_priority=150, virtual_router_id=51)
    return TogglePlan("demote", target, CountingListener(), state, 0, 1, 3.5, [], list(problems or []), text)


def closes(plan: TogglePlan) -> int:
    assert isinstance(plan.listener, CountingListener)
    return plan.listener.closed


def refusals() -> list[dict[str, object]]:
    """What the real record_refusal journalled (the test's own state dir, tests/conftest.py)."""
    return [e for e in Journal().entries() if e.get("result") == "refused"]


@dataclass
class FakeFlow:
    """Test fixture: an in-memory prepare/execute pair that records every call (the plan and its
    refusal policy, and record_refusal, are the real ones)."""

    plan: TogglePlan | None
    error: str | None = None
    prepared: list[str] = field(default_factory=list)
    executed: list[tuple[TogglePlan, float, bool]] = field(default_factory=list)  # plan, timeout, in a thread

    def prepare(self, action: str, instance: str | None = None, force: bool = False, *,
                actor: str = "cli") -> TogglePlan:
        assert actor == "tui"  # the dashboard journals as itself
        self.prepared.append(action)
        if self.error is not None:
            raise ToggleError(self.error)
        assert self.plan is not None
        self.plan.action = action
        return self.plan

    def execute(self, plan: TogglePlan, timeout: float, progress=print,  # type: ignore[no-untyped-def]
                *, actor: str = "cli") -> toggle_flow.ToggleResult:
        assert actor == "tui"
        self.executed.append((plan, timeout, threading.current_thread() is not threading.main_thread()))
        progress("0.5 s: VI_1 BACKUP (effective priority 90); advertising VRID 51: 10.0.0.2 priority 100")
        return toggle_flow.ToggleResult(True, False, "done in 2.1 s: VI_1 is BACKUP; MASTER seen on the "
                                        "wire: 10.0.0.2 priority 100", 0, 2.1)


@pytest.fixture
def flow(monkeypatch: pytest.MonkeyPatch) -> FakeFlow:
    fake = FakeFlow(make_plan(PLAN_TEXT))
    monkeypatch.setattr(toggle_flow, "prepare", fake.prepare)
    monkeypatch.setattr(toggle_flow, "execute", fake.execute)
    return fake


def notes(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [f"{n.title}: {n.message}" for n in app._notifications]


async def settle(app, pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await app.workers.wait_for_complete()
        await pilot.pause()


async def start(app, pilot, clock: ManualClock, key: str = "ctrl+d") -> None:  # type: ignore[no-untyped-def]
    feed(app, clock, 2)
    await pilot.pause()
    await pilot.press(key)
    await settle(app, pilot)


async def test_demote_confirm_no_changes_nothing_yes_executes_in_a_worker(
        demo: DemoSource, clock: ManualClock, isolated_config: Path, flow: FakeFlow) -> None:
    app = make_app(demo, clock, isolated_config, capabilities=WITH_VRRP)
    async with app.run_test(size=(140, 45)) as pilot:
        await start(app, pilot, clock)
        assert flow.prepared == ["demote"]
        assert isinstance(app.screen, ConfirmScreen)
        assert "VRRP demote" in str(app.screen.query_one("#confirm-title", ).render())
        assert PLAN_TEXT[:60] in str(app.screen.query_one("#confirm-body").render())
        assert app.screen.focused is app.screen.query_one("#no", Button)
        await pilot.press("n")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert flow.executed == [] and flow.plan is not None and closes(flow.plan) == 1
        assert any("cancelled: nothing was changed" in n for n in notes(app))

        await pilot.press("ctrl+d")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert len(flow.executed) == 1
        plan, timeout, in_thread = flow.executed[0]
        assert plan is flow.plan and timeout > 0 and in_thread
        assert closes(plan) == 2
        assert any("advertising VRID 51" in n for n in notes(app))  # the progress, notified
        assert any("VRRP demote: done" in n and "VI_1 is BACKUP" in n for n in notes(app))


async def test_problems_refuse_unless_forced(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                             flow: FakeFlow) -> None:
    assert flow.plan is not None
    flow.plan.problems = ["no router seen advertising VRID 51 in 3.5 s: the peer is not healthy"]
    app = make_app(demo, clock, isolated_config, capabilities=WITH_VRRP)
    async with app.run_test(size=(140, 45)) as pilot:
        await start(app, pilot, clock)
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        text = str(screen.query_one("#confirm-body").render())
        assert "the peer is not healthy" in text and "Refused" in text
        assert screen.query_one("#yes", Button).disabled
        await pilot.press("y")  # refused: y does nothing
        await settle(app, pilot)
        assert app.screen is screen and flow.executed == []
        await pilot.click("#force")
        await settle(app, pilot)
        assert screen.query_one("#force", Checkbox).value and not screen.query_one("#yes", Button).disabled
        await pilot.press("y")
        await settle(app, pilot)
        assert len(flow.executed) == 1 and flow.executed[0][0].force
        assert refusals() == []


async def test_refused_then_cancelled_is_journalled_as_refused(
        demo: DemoSource, clock: ManualClock, isolated_config: Path, flow: FakeFlow) -> None:
    assert flow.plan is not None
    flow.plan.problems = ["VI_1 is in FAULT here"]
    app = make_app(demo, clock, isolated_config, capabilities=WITH_VRRP)
    async with app.run_test(size=(140, 45)) as pilot:
        await start(app, pilot, clock, "ctrl+u")
        assert flow.prepared == ["promote"] and isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await settle(app, pilot)
        assert flow.executed == [] and closes(flow.plan) == 1
        [entry] = refusals()  # journalled as the CLI does, by the real record_refusal
        assert entry["op"] == "vrrp promote" and entry["instance"] == "VI_1" and entry["vrid"] == 51
        assert entry["reason"] == "VI_1 is in FAULT here"


async def test_prepare_error_is_one_notification(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                                 flow: FakeFlow) -> None:
    flow.error = "vrrp_instance VI_1 has no track_file: add one (lvstui vrrp setup)"
    app = make_app(demo, clock, isolated_config, capabilities=WITH_VRRP)
    async with app.run_test(size=(140, 45)) as pilot:
        await start(app, pilot, clock)
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("has no track_file: add one" in n for n in notes(app))
        assert flow.executed == []
        await pilot.press("ctrl+d")  # not stuck "busy" after the error
        await settle(app, pilot)
        assert flow.prepared == ["demote", "demote"]


@pytest.mark.parametrize("readonly", [False, True])
async def test_readonly_hides_both(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                   flow: FakeFlow, readonly: bool) -> None:
    specs = [s for s in ACTIONS if s.action in ("vrrp_demote", "vrrp_promote")]
    assert len(specs) == 2 and all(s.mutating for s in specs)
    app = make_app(demo, clock, isolated_config, readonly=readonly, capabilities=WITH_VRRP)
    async with app.run_test(size=(140, 45)) as pilot:
        feed(app, clock, 2)
        await pilot.pause()
        bound = {b.action for (_, b, enabled, _) in app.active_bindings.values() if enabled}
        footer = {b.action for (_, b, enabled, _) in app.active_bindings.values() if b.show and enabled}
        palette = {cmd.title for cmd in app.get_system_commands(app.screen)}
        helps = {text for _, text in app.dashboard.allowed_actions()}
        for spec in specs:
            assert (spec.action in bound) is not readonly
            assert spec.action not in footer  # not in the footer either way
            assert (spec.label in palette) is not readonly
            assert (spec.help in helps) is not readonly
        await pilot.press("question_mark")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        help_text = str(app.screen.query_one("#help-text").render())
        assert ("Demote this director" in help_text) is not readonly
        await pilot.press("escape")
        for key in ("ctrl+d", "ctrl+u"):
            await pilot.press(key)
            await settle(app, pilot)
            if readonly:
                assert not isinstance(app.screen, ConfirmScreen)
            else:
                assert isinstance(app.screen, ConfirmScreen)
                await pilot.press("n")
                await settle(app, pilot)
        assert flow.prepared == ([] if readonly else ["demote", "promote"]) and flow.executed == []
