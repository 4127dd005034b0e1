"""Fault injection on the host: every operation x every write it makes x the errors a real machine
gives there (disk full, read-only file system, permission denied; for the kernel, no memory and
not permitted), through the operations layer with the demo director and real files.

After each fault: lvstui said one line; the director, the remembered weights and the journal agree
with each other and with that line (nothing half-applied, no applied entry for a change not in
place, no remembered weight without its drain); a restarted lvstui (a new Operations on the same
files) reconciles what was left and can make the change.  The kernel's own half, and processes
killed between two steps, run in the lab (tests/lab/test_faults_lab.py).  The counts are printed
at the end of the run (tests/support/faultcount.py).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lvstui.demo import DemoSource
from lvstui.ops import changes as c
from lvstui.ops import faults
from lvstui.ops.engine import OperationFailed, Operations, Unrecorded
from lvstui.ops.journal import Journal, StateError, WeightMemory
from lvstui.ops.recover import pending_intents
from lvstui.ops.targets import ServerKey, ServiceKey, parse_server_id, parse_service_id
from tests.support.faultcount import check, injected

VS, RS, RS2 = "tcp:192.0.2.10:80", "10.1.0.11:80", "10.1.0.12:80"
UDP = "udp:192.0.2.53:53"


def _k(vs: str = VS, rs: str = RS) -> tuple[ServiceKey, ServerKey]:
    return parse_service_id(vs), parse_server_id(rs)


OPERATIONS: dict[str, tuple[Callable[[], c.Change], Callable[[], c.Change] | None]] = {
    "drain": (lambda: c.Drain(*_k()), None),
    "restore": (lambda: c.Restore(*_k()), lambda: c.Drain(*_k())),
    "weight": (lambda: c.SetWeight(*_k(), weight=7), None),
    "drain-host": (lambda: c.DrainHost("10.1.0.11"), None),
    "add-rs": (lambda: c.AddServer(*_k(VS, "10.1.0.250:80"), weight=3), None),
    "remove-rs": (lambda: c.RemoveServer(*_k(VS, RS2), force=True), None),
    "add-vs": (lambda: c.AddService(parse_service_id("tcp:192.0.2.99:80")), None),
    "remove-vs": (lambda: c.RemoveService(parse_service_id(UDP), force=True), None),
}
FILE_ERRORS = ("ENOSPC", "EROFS", "EACCES")
POINTS = {"journal-intent": FILE_ERRORS, "weights": FILE_ERRORS, "kernel": ("ENOMEM", "EPERM"),
          "journal-outcome": FILE_ERRORS}
CASES = [(op, point, err) for op in OPERATIONS for point, errs in POINTS.items() for err in errs]


def settings(demo: DemoSource) -> frozenset[tuple[object, ...]]:
    """What the operations set (not the live counters)."""
    out: set[tuple[object, ...]] = set()
    for vs in demo.read().virtual_services:
        out.add((vs.id, vs.scheduler, vs.persistence_timeout, vs.flags))
        out |= {(vs.id, rs.id, rs.weight, rs.forward, rs.upper_threshold, rs.lower_threshold)
                for rs in vs.real_servers}
    return frozenset(out)


def make(tmp: Path, demo: DemoSource) -> Operations:
    return Operations(demo, journal=Journal(tmp / "journal.jsonl"), memory=WeightMemory(tmp / "weights.json"),
                      keepalived=None, eqt=lambda: 1, settle_seconds=0, actor="test")


def outcomes(ops: Operations) -> list[dict[str, object]]:
    return [e for e in ops.journal.entries() if e["result"] != "intent"]


@pytest.fixture(autouse=True)
def _no_fault_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.ENV, raising=False)
    faults.reset()


def clean_result(tmp: Path, op: str) -> tuple[frozenset[tuple[object, ...]], dict[str, int]]:
    """The director and remembered weights after the operation with no fault."""
    demo = DemoSource()
    ops = make(tmp, demo)
    change, setup = OPERATIONS[op]
    if setup is not None:
        ops.apply(setup())
    ops.apply(change())
    return settings(demo), ops.memory.all()


@pytest.mark.parametrize(("op", "point", "err"), CASES)
def test_a_failed_write_leaves_everything_agreeing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   op: str, point: str, err: str) -> None:
    expected_kernel, expected_weights = clean_result(tmp_path / "clean", op)
    demo = DemoSource()
    ops = make(tmp_path, demo)
    change, setup = OPERATIONS[op]
    if setup is not None:
        ops.apply(setup())
    kernel, weights, applied = settings(demo), ops.memory.all(), len(outcomes(ops))

    monkeypatch.setenv(faults.ENV, f"{point}:{err}")
    error: Exception | None = None
    try:
        ops.apply(change())
    except Exception as exc:  # noqa: BLE001 - which one it is, is what is checked
        error = exc
    monkeypatch.delenv(faults.ENV)
    if not faults.reached(point):  # this operation makes no such write: it simply worked
        check(error is None, f"{op} failed without a fault: {error!r}")
        check(settings(demo) == expected_kernel, f"{op}: the director is not as without faults")
        return
    injected()
    check(isinstance(error, OperationFailed) and not isinstance(error, Unrecorded),
          f"{op} with {point}:{err}: expected a failure with nothing changed, got {error!r}")
    message = str(error)
    check("\n" not in message and ("nothing was changed" in message or "nothing is changed" in message
                                   or "undone" in message), f"not one line saying nothing changed: {message}")
    check(settings(demo) == kernel, f"{op} with {point}:{err}: the director changed ({message})")
    check(ops.memory.all() == weights, f"{op} with {point}:{err}: the remembered weights changed")
    check(all(e["result"] != "applied" for e in outcomes(ops)[applied:]),
          f"{op}: an applied entry for a change that is not in place")

    # a restarted lvstui: reconciles what the failed one left, then can make the change
    again = make(tmp_path, demo)
    again.recover()
    check(pending_intents(again.journal) == [], "an intent is still pending after reconciling")
    check(settings(demo) == kernel and again.memory.all() == weights, "reconciling changed something")
    outcome = again.apply(change())
    check(settings(demo) == expected_kernel, f"{op}: after the restart the change is not what it is without faults")
    check(again.memory.all() == expected_weights, f"{op}: the remembered weights differ from a clean run")
    last = outcomes(again)[-1]
    check(last["result"] == "applied" and last["id"] == outcome.entry_id and last.get("intent"),
          "the journal's last outcome is not the change, naming its intent")


def test_unwritable_journal_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    """A real permission problem, not an injected one: the journal is a directory."""
    demo = DemoSource()
    ops = make(tmp_path, demo)
    (tmp_path / "journal.jsonl").mkdir()
    before = settings(demo)
    with pytest.raises(OperationFailed) as caught:
        ops.apply(c.Drain(*_k()))
    assert str(caught.value).startswith(f"cannot read the journal {tmp_path / 'journal.jsonl'}: Is a directory")
    assert str(caught.value).endswith("; nothing was changed") and "\n" not in str(caught.value)
    assert settings(demo) == before and ops.memory.all() == {}


@pytest.mark.parametrize("content", ["{", "[1, 2]", '{"tcp:1.2.3.4:80 10.0.0.1:80": "five"}', "\xff\xfe"])
def test_malformed_remembered_weights_are_one_line(tmp_path: Path, content: str) -> None:
    demo = DemoSource()
    ops = make(tmp_path, demo)
    (tmp_path / "weights.json").write_bytes(content.encode("latin-1"))
    before = settings(demo)
    with pytest.raises(c.Refused) as caught:
        ops.apply(c.Drain(*_k()))
    message = str(caught.value)
    assert message.startswith(str(tmp_path / "weights.json")) or "remembered weights" in message, message
    assert "\n" not in message and settings(demo) == before
    with pytest.raises(StateError):
        ops.memory.all()


def test_a_failed_journal_write_is_one_line_and_the_next_appends(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path / "journal.jsonl")
    journal.record(verb="first")
    monkeypatch.setenv(faults.ENV, "journal-outcome:ENOSPC")
    with pytest.raises(StateError, match="No space left on device"):
        journal.record(verb="second")
    monkeypatch.delenv(faults.ENV)
    journal.record(verb="third")
    assert [e["verb"] for e in journal.entries()] == ["first", "third"]


def test_cli_refusal_with_an_unusable_journal_is_one_line(tmp_path: Path) -> None:
    """`lvstui --readonly drain` journals its refusal; with a journal it cannot write, it raised
    IsADirectoryError out of the CLI (a traceback)."""
    import os
    import subprocess
    import sys

    (tmp_path / "journal.jsonl").mkdir()
    env = {**os.environ, "LVSTUI_STATE_DIR": str(tmp_path),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    r = subprocess.run([sys.executable, "-m", "lvstui", "--readonly", "drain", VS, RS], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "read-only" in lines[0] and "cannot write the journal" in lines[0], r.stderr


HOLDER = """
import sys, time
from lvstui.ops.lock import DIRECTOR, held
with held(DIRECTOR, "drain tcp:192.0.2.10:80 10.1.0.12:80"):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_operator_is_refused_busy_and_nothing_changes(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import subprocess
    import sys

    monkeypatch.setenv("LVSTUI_STATE_DIR", str(tmp_path))
    env = {**os.environ, "SUDO_USER": "alice", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        demo = DemoSource()
        ops = make(tmp_path, demo)
        before = settings(demo)
        with pytest.raises(c.Refused) as caught:
            ops.apply(c.SetWeight(*_k(), weight=7))
        message = str(caught.value)
        assert message.startswith(f"busy: drain tcp:192.0.2.10:80 10.1.0.12:80 by alice (pid {proc.pid}) since ")
        assert message.endswith("; nothing was changed") and "\n" not in message
        assert settings(demo) == before and ops.memory.all() == {}
        assert [(e["verb"], e["result"]) for e in ops.journal.entries()] == [("weight", "refused")]
    finally:
        proc.kill()
        proc.wait()
    ops.apply(c.SetWeight(*_k(), weight=7))  # the holder is gone: the lock with it
