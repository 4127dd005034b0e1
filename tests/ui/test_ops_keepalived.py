"""The confirmation's force and runtime-only choices, as the operations layer asks for them under keepalived.

The operations layer here is the real :class:`Operations` on the demo director, with its
keepalived side replaced by a stand-in that refuses like the durable layer does (the last
healthy real server, unless forced) and marks runtime-only plans; the lab tests cover the
real keepalived.  What is tested is the dashboard: the refusal shown, the choices offered,
re-planned, and handed to ``apply``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Button, Checkbox

from lvstui.demo import DemoSource
from lvstui.ops.changes import Plan
from lvstui.ops.engine import KeepalivedRefused, Operations
from lvstui.ops.journal import Journal
from lvstui.ui.confirm import ConfirmScreen
from tests.ui.test_ops import WEB, body, open_rs, press, settle, weight
from tests.ui.ui_support import ManualClock, make_app


class KeepalivedLikeOps(Operations):
    """Operations whose keepalived side refuses a drain unless forced, and honours runtime-only."""

    def __init__(self, director: Any) -> None:
        super().__init__(director, actor="tui", keepalived=None, eqt=lambda: 0, settle_seconds=0.0)
        self.applied_with: list[dict[str, Any]] = []

    def keepalived_site(self) -> Any:
        return object()  # "keepalived manages this director"

    def plan(self, change: Any, snap: Any = None, *, force: bool = False, runtime_only: bool | None = None,
             config: Any = None) -> Plan:
        self._guard(change)
        snap = snap if snap is not None else self.director.read()
        plan = change.plan(snap, self.memory.all(), 0)
        if runtime_only:
            plan.runtime_only = True
            plan.warnings.append("RUNTIME ONLY: keepalived manages this service and may undo the change")
            return plan
        if not force:
            raise KeepalivedRefused("10.1.0.11:80 is the last healthy real server of tcp:192.0.2.10:80: "
                                    "refused (--force to do it anyway)")
        plan.warnings.append("10.1.0.11:80 is the last healthy real server of tcp:192.0.2.10:80")
        return plan

    def apply(self, change: Any, plan: Any = None, *, force: bool = False,
              runtime_only: bool | None = None) -> Any:
        self.applied_with.append({"force": force, "runtime_only": bool(runtime_only)})
        return super().apply(change, plan, force=force, runtime_only=runtime_only)


async def _drain_dialog(app, pilot, clock) -> ConfirmScreen:  # type: ignore[no-untyped-def]
    await open_rs(app, pilot, clock, WEB, "10.1.0.11:80")
    await press(app, pilot, "x")
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    assert "Refused: 10.1.0.11:80 is the last healthy real server" in body(app)
    assert screen.query_one("#yes", Button).disabled
    return screen


async def test_keepalived_refusal_then_force(demo: DemoSource, clock: ManualClock,
                                            isolated_config: Path) -> None:
    ops = KeepalivedLikeOps(demo)
    app = make_app(demo, clock, isolated_config, operations=ops)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _drain_dialog(app, pilot, clock)
        await press(app, pilot, "y")
        assert app.screen is screen and demo.writes == 0  # refused: y does nothing
        screen.query_one("#force", Checkbox).value = True
        await settle(app, pilot)
        assert "Refused" not in body(app) and "last healthy real server" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.11:80") == 0
        assert ops.applied_with == [{"force": True, "runtime_only": False}]


async def test_runtime_only_choice_reaches_the_layer_and_is_marked(demo: DemoSource, clock: ManualClock,
                                                                   isolated_config: Path) -> None:
    ops = KeepalivedLikeOps(demo)
    app = make_app(demo, clock, isolated_config, operations=ops)
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _drain_dialog(app, pilot, clock)
        screen.query_one("#runtime-only", Checkbox).value = True
        await settle(app, pilot)
        assert "RUNTIME ONLY" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, "10.1.0.11:80") == 0
        assert ops.applied_with == [{"force": False, "runtime_only": True}]
        assert any("RUNTIME ONLY" in str(n.message) for n in app._notifications)
        assert list(Journal().entries())[-1].get("runtime_only") is True
