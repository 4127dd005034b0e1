"""--readonly: every write verb of every interface is refused below it, with one line, exit 3 and a
journal entry, before anything is opened (no kernel, no keepalived, no SSH, no lab socket).

The refusal is the operations layer's (:mod:`lvstui.ops.policy`): the CLI is driven in-process
with the kernel, the processes, SSH and the lab socket replaced by tripwires that fail the test
if anything reaches them.  Lab tests (tests/lab/test_ops_cli.py, test_vrrp_toggle.py) check the
same refusals against the real kernel and keepalived.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from lvstui import cli
from lvstui.demo import DemoSource
from lvstui.ops import changes as c
from lvstui.ops import vrrp
from lvstui.ops.engine import Operations
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.policy import ReadOnly, WritePolicy, check_lab_action, current, installed
from lvstui.ops.targets import parse_server_id, parse_service_id
from lvstui.ops.undo import plan_undo
from lvstui.setup import session

REPO = Path(__file__).resolve().parents[2]
VS = "tcp:192.0.2.10:80"
RS = "10.1.0.11:80"

WRITE_VERBS = {
    "drain": ["drain", VS, RS],
    "restore": ["restore", VS, RS],
    "drain-host": ["drain-host", "10.1.0.11"],
    "restore-host": ["restore-host", "10.1.0.11"],
    "weight": ["weight", VS, RS, "7"],
    "add-rs": ["add-rs", VS, "10.1.0.99:80"],
    "remove-rs": ["remove-rs", VS, RS],
    "add-vs": ["add-vs", "tcp:192.0.2.10:81"],
    "edit-vs": ["edit-vs", VS, "--scheduler", "rr"],
    "remove-vs": ["remove-vs", VS],
    "undo": ["undo", "--yes"],
    "undo ID": ["undo", "0123abcd", "--yes"],
    "vrrp demote": ["vrrp", "demote", "--yes"],
    "vrrp promote": ["vrrp", "promote", "--yes"],
    "vrrp setup": ["vrrp", "setup", "--yes"],
    "setup realserver": ["setup", "realserver", "rs1.example", "--vip", "192.0.2.10", "--yes"],
    "setup realserver --undo": ["setup", "realserver", "rs1.example", "--undo", "--yes"],
    "setup director": ["setup", "director", "--from", str(REPO / "examples" / "director.toml"), "--yes"],
    "setup director --undo": ["setup", "director", "--from", str(REPO / "examples" / "director.toml"),
                              "--undo", "--yes"],
    "lab ctl": ["lab", "ctl", "stop", "rs1", "http"],
}


def _journal() -> list[dict[str, object]]:
    return list(Journal().entries())


@pytest.fixture()
def tripwires(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Anything that would touch the kernel, keepalived, SSH or the lab records itself and fails."""
    reached: list[str] = []

    def trip(what: str):  # type: ignore[no-untyped-def]
        def fail(*_a: object, **_k: object) -> None:
            reached.append(what)
            raise AssertionError(f"--readonly reached {what}")
        return fail

    monkeypatch.setattr("lvstui.backend.ipvs.IpvsClient.__init__", trip("the kernel (netlink)"))
    monkeypatch.setattr("lvstui.keepalived.site.find_keepalived_processes", trip("keepalived's processes"))
    monkeypatch.setattr("lvstui.keepalived.processes.find_keepalived_processes", trip("keepalived's processes"))
    monkeypatch.setattr("lvstui.setup.session.ssh_connector", trip("SSH"))
    monkeypatch.setattr("lvstui.lab.control.send", trip("the lab's control socket"))
    return reached


@pytest.mark.parametrize("name", list(WRITE_VERBS))
def test_every_write_verb_is_refused_with_one_line_exit_3_and_journaled(
        name: str, tripwires: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["--readonly", *WRITE_VERBS[name]])
    out, err = capsys.readouterr()
    assert status == 3, (out, err)
    assert err.count("\n") == 1 and "read-only" in err and "--readonly" in err, err
    assert out == ""  # nothing previewed, nothing offered
    assert tripwires == []
    entries = _journal()
    assert len(entries) == 1 and entries[0]["result"] == "refused", entries
    assert entries[0]["message"] == "read-only mode" and entries[0]["actor"] == "cli"
    verb = name.removesuffix(" ID")
    assert entries[0]["verb"] == verb
    assert current() == WritePolicy()  # the policy is the command's only: nothing leaks


def test_without_readonly_the_same_verb_reaches_the_kernel(tripwires: list[str],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """The tripwire works: without --readonly the drain goes on to open the kernel."""
    with pytest.raises(AssertionError, match="the kernel"):
        cli.main(["drain", VS, RS])
    assert tripwires == ["the kernel (netlink)"]
    assert _journal() == []


def test_reads_stay_allowed_read_only(tripwires: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """A dry run and the lab's status are reads: --readonly lets them through (to what they read)."""
    with pytest.raises(AssertionError, match="SSH"):
        cli.main(["--readonly", "setup", "realserver", "rs1.example", "--vip", "192.0.2.10", "--dry-run"])
    with pytest.raises(AssertionError, match="lab"):
        cli.main(["--readonly", "lab", "ctl", "status"])
    assert _journal() == []


def _ops(tmp_path: Path, policy: WritePolicy | None = None, **kw: object) -> tuple[Operations, DemoSource]:
    demo = DemoSource()
    ops = Operations(demo, journal=Journal(tmp_path / "j.jsonl"), memory=WeightMemory(tmp_path / "w.json"),
                     keepalived=None, eqt=lambda: 0, settle_seconds=0, policy=policy, **kw)  # type: ignore[arg-type]
    return ops, demo


def drain() -> c.Drain:
    return c.Drain(parse_service_id(VS), parse_server_id(RS))


def test_operations_refuse_below_every_interface(tmp_path: Path) -> None:
    """The dashboard's Operations (made without readonly=) is read-only when the process's policy is."""
    with installed(WritePolicy(readonly=True)):
        ops, demo = _ops(tmp_path)
        before = demo.read().service(VS)
        for call in (lambda: ops.plan(drain()), lambda: ops.apply(drain())):
            with pytest.raises(ReadOnly, match="drain refused"):
                call()
    assert demo.read().service(VS) == before
    assert [(e["verb"], e["result"], e["actor"]) for e in ops.journal.entries()] == [
        ("drain", "refused", "cli"), ("drain", "refused", "cli")]


def test_readonly_flag_still_makes_one_operations_read_only(tmp_path: Path) -> None:
    ops, _demo = _ops(tmp_path, readonly=True)
    assert ops.readonly and not current().readonly
    with pytest.raises(ReadOnly):
        ops.apply(drain())
    with pytest.raises(ReadOnly):
        plan_undo(ops)
    assert [e["verb"] for e in ops.journal.entries()] == ["drain", "undo"]


def test_vrrp_flow_refuses_before_it_looks_for_keepalived(tripwires: list[str], tmp_path: Path) -> None:
    policy = WritePolicy(readonly=True, journal=Journal(tmp_path / "j.jsonl"))
    for action in ("demote", "promote"):
        with pytest.raises(ReadOnly, match=f"vrrp {action} refused"):
            vrrp.prepare(action, policy=policy, actor="tui")
    with pytest.raises(ReadOnly, match="vrrp setup refused"):
        vrrp.add_track_file(None, policy=policy, actor="tui")
    assert tripwires == []
    assert [(e["verb"], e["actor"]) for e in Journal(tmp_path / "j.jsonl").entries()] == [
        ("vrrp demote", "tui"), ("vrrp promote", "tui"), ("vrrp setup", "tui")]


class _Plan:
    name = "realserver"

    def apply(self, *_a: object) -> None:
        raise AssertionError("applied under --readonly")


class _Runner:
    host = "rs1"


def test_setup_session_refuses_apply_and_undo(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    policy = WritePolicy(readonly=True)
    item = session.HostPlan("rs1", _Runner(), _Plan(), preview=None)  # type: ignore[arg-type]
    with pytest.raises(ReadOnly, match="setup realserver refused"):
        session.apply_all([item], policy=policy, journal=journal, actor="tui")
    undo = session.UndoTarget("rs1", _Runner(), "realserver", [{"title": "x"}])  # type: ignore[arg-type]
    with pytest.raises(ReadOnly, match="setup realserver --undo refused"):
        session.undo_all([undo], policy=policy, journal=journal, actor="tui")
    assert [(e["verb"], e["hosts"], e["result"]) for e in journal.entries()] == [
        ("setup realserver", ["rs1"], "refused"), ("setup realserver --undo", ["rs1"], "refused")]


def test_lab_panel_actions_check_the_same_policy(tmp_path: Path) -> None:
    policy = WritePolicy(readonly=True, journal=Journal(tmp_path / "j.jsonl"))
    check_lab_action(["status"], actor="tui", policy=policy)
    check_lab_action(["help"], actor="tui", policy=policy)
    check_lab_action(["menu"], actor="tui", policy=policy)  # the panel's list, read when it opens
    with pytest.raises(ReadOnly, match="lab ctl refused"):
        check_lab_action(["stop", "keepalived", "lb1"], actor="tui", policy=policy)
    (entry,) = Journal(tmp_path / "j.jsonl").entries()
    assert entry["action"] == "stop keepalived lb1" and entry["result"] == "refused"


def test_journal_lines_are_json_with_an_id(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.jsonl")
    a, b = journal.record(verb="x"), journal.record(verb="y")
    assert a["id"] != b["id"] and len(str(a["id"])) == 8
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [a["id"], b["id"]]
    assert journal.find(str(b["id"])) == b
    assert os.stat(tmp_path / "j.jsonl").st_mode & 0o777 == 0o640


def test_setup_undo_of_this_run_is_refused_too(tmp_path: Path) -> None:
    """The wizard screen's Undo after Apply goes through the same policy."""
    journal = Journal(tmp_path / "j.jsonl")

    class Result:
        changed = 2

    item = session.HostPlan("rs1", _Runner(), _Plan(), preview=None, result=Result())  # type: ignore[arg-type]
    with pytest.raises(ReadOnly, match="setup realserver --undo refused"):
        session.undo_applied([item], policy=WritePolicy(readonly=True), journal=journal, actor="tui")
    assert [(e["verb"], e["actor"]) for e in journal.entries()] == [("setup realserver --undo", "tui")]
