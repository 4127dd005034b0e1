"""The remedy for persistence's pinning of drained servers (net.ipv4.vs.expire_quiescent_template),
through the operations layer, against the demo director and a sysctl file in a temporary
directory (tests/lab/test_drain_done.py does it on the real kernel's /proc/sys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvstui.demo import DemoSource
from lvstui.ops import changes as c
from lvstui.ops.engine import OperationFailed, Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.policy import ReadOnly
from lvstui.ops.targets import InvalidInput
from lvstui.ops.undo import UndoRefused, apply_undo, plan_undo


def make_ops(tmp_path: Path, value: str | None = "0", readonly: bool = False) -> Operations:
    sysctl = tmp_path / "vs"
    sysctl.mkdir(exist_ok=True)
    if value is not None:
        (sysctl / c.EQT).write_text(value + "\n")
    return Operations(DemoSource(), journal=Journal(tmp_path / "j.jsonl"), memory=WeightMemory(tmp_path / "w.json"),
                      keepalived=None, settle_seconds=0, actor="test", sysctl_dir=sysctl, readonly=readonly)


def value(ops: Operations) -> str:
    return (ops.sysctl_dir / c.EQT).read_text().strip()


def test_on_writes_1_journals_before_and_after_and_undo_puts_0_back(tmp_path: Path) -> None:
    ops = make_ops(tmp_path)
    preview = ops.plan(c.SetExpireQuiescent(1))
    assert preview.lines() == ["net.ipv4.vs.expire_quiescent_template: 0 -> 1"]
    assert value(ops) == "0"  # a preview writes nothing
    assert any("/etc/sysctl.d" in w for w in preview.warnings)
    outcome = ops.apply(c.SetExpireQuiescent(1))
    assert value(ops) == "1" and outcome.entry_id is not None
    entry = list(ops.journal.entries())[-1]
    assert entry["verb"] == "expire-quiescent" and entry["result"] == "applied"
    assert entry["sysctl"] == [{"name": c.EQT, "before": 0, "after": 1}]
    undo = plan_undo(ops)
    assert undo.lines() == ["net.ipv4.vs.expire_quiescent_template: 1 -> 0"]
    apply_undo(ops, undo)
    assert value(ops) == "0"
    assert list(ops.journal.entries())[-1]["undo_of"] == entry["id"]


def test_already_set_changes_nothing(tmp_path: Path) -> None:
    ops = make_ops(tmp_path, "1")
    plan = ops.apply(c.SetExpireQuiescent(1)).plan
    assert plan.sysctls == [] and plan.lines() == []
    with pytest.raises(UndoRefused, match="changed nothing"):
        plan_undo(ops)


def test_readonly_refuses_and_journals_without_writing(tmp_path: Path) -> None:
    ops = make_ops(tmp_path, readonly=True)
    with pytest.raises(ReadOnly, match="expire-quiescent refused"):
        ops.apply(c.SetExpireQuiescent(1))
    assert value(ops) == "0"
    assert list(ops.journal.entries())[-1]["result"] == "refused"


def test_undo_refused_when_someone_set_it_back_since(tmp_path: Path) -> None:
    ops = make_ops(tmp_path)
    ops.apply(c.SetExpireQuiescent(1))
    (ops.sysctl_dir / c.EQT).write_text("0\n")
    with pytest.raises(UndoRefused, match=r"expire_quiescent_template is 0 .the change left 1."):
        plan_undo(ops)


def test_unreadable_sysctl_is_refused_and_bad_value_invalid(tmp_path: Path) -> None:
    ops = make_ops(tmp_path, value=None)
    with pytest.raises(c.Refused, match="cannot be read"):
        ops.apply(c.SetExpireQuiescent(1))
    with pytest.raises(InvalidInput, match="0 or 1"):
        make_ops(tmp_path, "0").plan(c.SetExpireQuiescent(2))


def test_a_write_that_fails_is_one_line_and_journaled(tmp_path: Path) -> None:
    sysctl = tmp_path / "vs"
    (sysctl / c.EQT).mkdir(parents=True)  # a directory where the file should be: the write fails, even as root
    ops = Operations(DemoSource(), journal=Journal(tmp_path / "j.jsonl"), memory=WeightMemory(tmp_path / "w.json"),
                     keepalived=None, settle_seconds=0, actor="test", sysctl_dir=sysctl, eqt=lambda: 0)
    with pytest.raises(OperationFailed, match=r"refused `net\.ipv4\.vs\.expire_quiescent_template: 0 -> 1`"):
        ops.apply(c.SetExpireQuiescent(1))
    assert list(ops.journal.entries())[-1]["result"] == "failed"
