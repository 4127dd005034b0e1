"""The confirmation's force and runtime-only choices, as the real operations layer asks for them under keepalived.

The planner is the real one (:class:`Operations` with its keepalived side,
:mod:`lvstui.ops.keepalived`) on a keepalived.conf in a temp dir that declares the demo's
``tcp:192.0.2.10:80`` and its real servers, checked by the real ``keepalived -t`` (as
tests/ops/test_durable_plan.py does); the kernel is the demo director.  Only the reload is
recorded instead of signalling a keepalived (none runs here); the lab tests cover a running one.
What is tested is the dashboard: the planner's refusal shown, the choices offered, re-planned,
and what ``apply`` then wrote (the kernel, keepalived's file and track file, the journal).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, Checkbox

from lvstui.demo import DemoSource
from lvstui.keepalived.site import KeepalivedSite, track_name
from lvstui.ops.engine import Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ui.confirm import ConfirmScreen
from tests.ui.test_ops import WEB, body, open_rs, press, settle, weight
from tests.ui.ui_support import ManualClock, make_app

RS = "10.1.0.11:80"


def keepalived_conf(demo: DemoSource, *, quorum: bool) -> str:
    """keepalived's declaration of the demo's web service, every real server with its weight."""
    web = demo.read().service(WEB)
    assert web is not None
    servers = "".join(f"""
    real_server {rs.address} {rs.port} {{
        weight {rs.weight}
        TCP_CHECK {{
            connect_timeout 1
        }}
    }}
""" for rs in web.real_servers)
    # quorum: the whole alive weight, so draining any one server drops below it (refused unless forced)
    extra = f"    quorum {sum(rs.weight for rs in web.real_servers)}\n" if quorum else ""
    return f"""! lvstui UI test
global_defs {{
    router_id lvstui_ui_test
}}

virtual_server {web.address} {web.port} {{
    delay_loop 2
    lb_algo {web.scheduler}
    lb_kind DR
    protocol TCP
{extra}{servers}}}
"""


@pytest.fixture
def site(tmp_path: Path, demo: DemoSource, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    assert shutil.which("keepalived"), "keepalived is not installed (scripts/userland.sh provides one)"
    conf = tmp_path / "keepalived.conf"
    reloads: list[object] = []
    monkeypatch.setattr("lvstui.ops.keepalived.reload_keepalived",
                        lambda site: reloads.append(site))  # noqa: PLW0108 - stands in for reload_keepalived(site), keyword calls included
    journal = Journal(tmp_path / "journal.jsonl")
    ops = Operations(demo, actor="tui", journal=journal, memory=WeightMemory(tmp_path / "w.json"),
                     keepalived=KeepalivedSite(conf, None, None, "test"), track_dir=tmp_path / "track",
                     settle_seconds=0, eqt=lambda: 0)
    return {"conf": conf, "ops": ops, "journal": journal, "reloads": reloads, "track": tmp_path / "track"}


async def _drain_dialog(app, pilot, clock, refused: str | None) -> ConfirmScreen:  # type: ignore[no-untyped-def]
    await open_rs(app, pilot, clock, WEB, RS)
    await press(app, pilot, "x")
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    if refused is not None:
        assert f"Refused: {refused}" in body(app)
        assert screen.query_one("#yes", Button).disabled
    return screen


async def test_keepalived_refusal_then_force(demo: DemoSource, clock: ManualClock, isolated_config: Path,
                                            site: dict[str, Any]) -> None:
    site["conf"].write_text(keepalived_conf(demo, quorum=True))
    before = site["conf"].read_text()
    app = make_app(demo, clock, isolated_config, operations=site["ops"])
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _drain_dialog(app, pilot, clock,
                                     f"{WEB} would drop below its quorum 1300 (alive weight 1300 -> 1200)")
        assert "(tick Force below to do it anyway)" in body(app) and "--force" not in body(app)  # the box on screen
        await press(app, pilot, "y")
        assert app.screen is screen and demo.writes == 0  # refused: y does nothing
        assert site["conf"].read_text() == before
        screen.query_one("#force", Checkbox).value = True
        await settle(app, pilot)
        assert "Refused" not in body(app) and "would drop below its quorum 1300" in body(app)
        assert "track_file" in body(app)  # what keepalived's file gets, shown before Yes
        await press(app, pilot, "y")
        assert weight(demo, WEB, RS) == 0
        # the durable half: keepalived's file declares the track file, which says "drained"
        assert f"track_file {track_name(WEB, RS)}" in site["conf"].read_text()
        assert (site["track"] / track_name(WEB, RS)).read_text().strip() == "1"
        assert len(site["reloads"]) == 1
        entry = list(site["journal"].entries())[-1]
        assert entry["verb"] == "drain" and entry["result"] == "applied" and "keepalived" in entry
        assert not entry.get("runtime_only")


async def test_runtime_only_choice_reaches_the_layer_and_is_marked(
        demo: DemoSource, clock: ManualClock, isolated_config: Path, site: dict[str, Any]) -> None:
    site["conf"].write_text(keepalived_conf(demo, quorum=False))
    before = site["conf"].read_text()
    app = make_app(demo, clock, isolated_config, operations=site["ops"])
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await _drain_dialog(app, pilot, clock, None)
        assert "track_file" in body(app)  # durable by default
        screen.query_one("#runtime-only", Checkbox).value = True
        await settle(app, pilot)
        assert "RUNTIME ONLY" in body(app)
        await press(app, pilot, "y")
        assert weight(demo, WEB, RS) == 0
        assert site["conf"].read_text() == before and not site["track"].exists() and site["reloads"] == []
        assert any("RUNTIME ONLY" in str(n.message) for n in app._notifications)
        assert list(site["journal"].entries())[-1].get("runtime_only") is True
