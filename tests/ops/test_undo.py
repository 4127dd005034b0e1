"""Undo through the operations layer, against the demo's in-memory director (the lab tests in
tests/lab/test_undo.py do the same against the real kernel and keepalived)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.demo import DemoSource
from lvstui.model import Forward, RealServer
from lvstui.ops import changes as c
from lvstui.ops.engine import Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.targets import ServerKey, ServiceKey, parse_server_id, parse_service_id
from lvstui.ops.undo import UndoRefused, apply_undo, plan_undo

VS, RS, RS2 = "tcp:192.0.2.10:80", "10.1.0.11:80", "10.1.0.12:80"
UDP, UDP_RS = "udp:192.0.2.53:53", "10.2.0.11:53"


@pytest.fixture()
def env(tmp_path: Path) -> tuple[Operations, DemoSource]:
    demo = DemoSource()
    ops = Operations(demo, journal=Journal(tmp_path / "j.jsonl"), memory=WeightMemory(tmp_path / "w.json"),
                     keepalived=None, eqt=lambda: 0, settle_seconds=0, actor="test")
    return ops, demo


def rs(demo: DemoSource, vs_id: str, rs_id: str) -> RealServer | None:
    vs = demo.read().service(vs_id)
    return vs.real_server(rs_id) if vs is not None else None


def key(vs_id: str = VS, rs_id: str = RS) -> tuple[ServiceKey, ServerKey]:
    return parse_service_id(vs_id), parse_server_id(rs_id)


def undo(ops: Operations, entry_id: str | None = None) -> list[str]:
    plan = plan_undo(ops, entry_id)
    outcomes = apply_undo(ops, plan)
    return [line for o in outcomes for line in o.plan.lines()]


def test_undo_a_drain_restores_the_weight(env: tuple[Operations, DemoSource]) -> None:
    ops, demo = env
    ops.apply(c.Drain(*key()))
    assert rs(demo, VS, RS).weight == 0  # type: ignore[union-attr]
    assert undo(ops) == [f"{VS} -> {RS}: weight 0 -> 100"]
    assert rs(demo, VS, RS).weight == 100  # type: ignore[union-attr]
    entries = [e for e in ops.journal.entries() if e["result"] != "intent"]  # each written ahead of its change
    assert [(e["verb"], e["result"], e.get("undo_of")) for e in entries] == [
        ("drain", "applied", None), ("restore", "applied", entries[0]["id"])]


def test_undo_a_weight_change(env: tuple[Operations, DemoSource]) -> None:
    ops, demo = env
    ops.apply(c.SetWeight(*key(), weight=7))
    plan = plan_undo(ops)
    assert plan.lines() == [f"{VS} -> {RS}: weight 7 -> 100"] and "undo weight" in plan.title
    apply_undo(ops, plan)
    assert rs(demo, VS, RS).weight == 100  # type: ignore[union-attr]


def test_undo_an_add_and_a_remove(env: tuple[Operations, DemoSource]) -> None:
    ops, demo = env
    ops.apply(c.AddServer(*key(UDP, "10.2.0.99:53"), weight=4, forward=Forward.NAT, upper=50, lower=5))
    assert rs(demo, UDP, "10.2.0.99:53") is not None
    assert undo(ops) == [f"remove real server 10.2.0.99:53 from {UDP}"]
    assert rs(demo, UDP, "10.2.0.99:53") is None
    before = rs(demo, UDP, UDP_RS)
    assert before is not None
    ops.apply(c.RemoveServer(*key(UDP, UDP_RS)))
    assert rs(demo, UDP, UDP_RS) is None
    undo(ops)
    back = rs(demo, UDP, UDP_RS)
    assert back is not None and (back.weight, back.forward, back.upper_threshold, back.lower_threshold) == \
        (before.weight, before.forward, before.upper_threshold, before.lower_threshold)


def test_undo_walks_back_and_then_has_nothing_left(env: tuple[Operations, DemoSource]) -> None:
    ops, demo = env
    ops.apply(c.SetWeight(*key(), weight=7))
    ops.apply(c.SetWeight(*key(rs_id=RS2), weight=9))
    undo(ops)  # the last one first
    assert (rs(demo, VS, RS).weight, rs(demo, VS, RS2).weight) == (7, 100)  # type: ignore[union-attr]
    undo(ops)
    assert (rs(demo, VS, RS).weight, rs(demo, VS, RS2).weight) == (100, 100)  # type: ignore[union-attr]
    with pytest.raises(UndoRefused, match="nothing to undo"):
        plan_undo(ops)


def test_undo_by_id_and_twice_refused(env: tuple[Operations, DemoSource]) -> None:
    ops, demo = env
    first = ops.apply(c.SetWeight(*key(), weight=7)).entry_id
    ops.apply(c.SetWeight(*key(rs_id=RS2), weight=9))
    assert first is not None
    undo(ops, first)
    assert (rs(demo, VS, RS).weight, rs(demo, VS, RS2).weight) == (100, 9)  # type: ignore[union-attr]
    with pytest.raises(UndoRefused, match=f"journal entry {first} was already undone"):
        plan_undo(ops, first)
    with pytest.raises(UndoRefused, match="no journal entry ffffffff"):
        plan_undo(ops, "ffffffff")


def test_refused_when_the_server_was_changed_by_hand_since(env: tuple[Operations, DemoSource]) -> None:
    ops, demo = env
    entry = ops.apply(c.Drain(*key())).entry_id
    vs = demo.read().service(VS)
    assert vs is not None
    server = vs.real_server(RS)
    assert server is not None
    demo.edit_dest(vs, RealServer(server.address, server.port, weight=3))  # by hand, not through lvstui
    with pytest.raises(UndoRefused) as refused:
        plan_undo(ops)
    message = str(refused.value)
    assert message.count("\n") == 0 and "moved on since" in message
    assert f"{RS} in {VS} has weight 3 (the change left 0)" in message
    assert rs(demo, VS, RS).weight == 3  # type: ignore[union-attr]  # nothing changed
    last = list(ops.journal.entries())[-1]
    assert (last["verb"], last["result"], last["undo_of"]) == ("undo", "refused", entry)


def test_refused_when_it_moves_between_the_preview_and_the_apply(env: tuple[Operations, DemoSource]) -> None:
    ops, demo = env
    ops.apply(c.SetWeight(*key(), weight=7))
    plan = plan_undo(ops)
    ops.apply(c.SetWeight(*key(), weight=8))  # someone else, meanwhile
    with pytest.raises(UndoRefused, match="weight 8 \\(the change left 7\\)"):
        apply_undo(ops, plan)
    assert rs(demo, VS, RS).weight == 8  # type: ignore[union-attr]


def test_a_change_that_changed_nothing_is_not_undone(env: tuple[Operations, DemoSource]) -> None:
    ops, _demo = env
    ops.apply(c.SetWeight(*key(), weight=100))  # already 100
    with pytest.raises(UndoRefused, match="changed nothing"):
        plan_undo(ops)
