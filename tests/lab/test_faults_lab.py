"""Fault injection against the real IPVS kernel: each operation verb, a write failing at each step
(disk full, read-only, permission denied) and the process SIGKILLed before each step, through
the real CLI in the lab's director lb1 (fault points: lvstui/ops/faults.py, LVSTUI_FAULT).

After each fault: the exit status and the one line on stderr, the kernel (``ipvsadm -S -n``),
the journal and the remembered weights agree; then the next lvstui operation (a restarted lvstui)
reconciles what was left: the kernel is as before the change or as after it, never between,
nothing is pending, and the journal and the remembered weights say the same as the kernel.
The counts are printed at the end of the run (tests/support/faultcount.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.lab.test_ops_cli import BASE, VS80, VS443, saved
from tests.support.faultcount import check, injected

pytestmark = pytest.mark.lab

STATE = "/tmp/lvstui-fault-state"
ENV = {"LVSTUI_STATE_DIR": STATE}
RS21, RS22 = "192.168.1.21:80", "192.168.1.22:80"
# an operation none of the cases touches: the "next operation" that reconciles what a fault left
NEXT = ["weight", "udp:[2001:db8:1::100]:53", "[2001:db8:1::21]:53", "+0"]

# verb: (setup argv or None, argv, lines gone from ipvsadm -S -n, lines added, weights before, after)
OPS: dict[str, tuple[list[str] | None, list[str], set[str], set[str], dict[str, int], dict[str, int]]] = {
    "drain": (None, ["drain", VS80, RS21], {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 5"},
              {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 0"}, {}, {f"{VS80} {RS21}": 5}),
    "restore": (["drain", VS80, RS21], ["restore", VS80, RS21], {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 0"},
                {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 5"}, {f"{VS80} {RS21}": 5}, {}),
    "weight": (None, ["weight", VS80, RS22, "7"], {f"-a -t 192.168.1.100:80 -r {RS22} -g -w 3"},
               {f"-a -t 192.168.1.100:80 -r {RS22} -g -w 7"}, {}, {}),
    "drain-host": (None, ["drain-host", "192.168.1.21"],
                   {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 5", "-a -t 192.168.1.100:443 -r 192.168.1.21:443 -g -w 2"},
                   {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 0", "-a -t 192.168.1.100:443 -r 192.168.1.21:443 -g -w 0"},
                   {}, {f"{VS80} {RS21}": 5, f"{VS443} 192.168.1.21:443": 2}),
    "add-rs": (None, ["add-rs", VS80, "192.168.1.23:80", "--weight", "4"], set(),
               {"-a -t 192.168.1.100:80 -r 192.168.1.23:80 -g -w 4"}, {}, {}),
    "remove-rs": (None, ["remove-rs", VS443, "192.168.1.23:443"],
                  {"-a -t 192.168.1.100:443 -r 192.168.1.23:443 -g -w 1"}, set(), {}, {}),
    "add-vs": (None, ["add-vs", "tcp:192.168.1.100:8080", "--scheduler", "rr"], set(),
               {"-A -t 192.168.1.100:8080 -s rr"}, {}, {}),
    "remove-vs": (None, ["remove-vs", "fwmark:7"], {"-A -f 7 -s rr", "-a -f 7 -r 192.168.1.22:0 -g -w 1"},
                  set(), {}, {}),
}
WEIGHTS_WRITTEN = {"drain", "restore", "drain-host"}  # the others remember and forget nothing here
ERRORS = ("ENOSPC", "EROFS", "EACCES")


def _cases() -> list[tuple[str, str]]:
    """Every verb killed before its kernel step and before its outcome, and with its outcome
    unwritable (the kernel change must be undone); the verbs that remember or forget weights,
    killed or failing there too; each error at the intent and a kill before it for a few verbs
    (the same path for all: nothing written yet).  The host suite (tests/ops/test_faults.py)
    runs every verb x point x error against the demo director."""
    out = []
    for i, op in enumerate(OPS):
        out += [(op, "kernel:kill"), (op, "journal-outcome:kill"), (op, f"journal-outcome:{ERRORS[i % 3]}")]
        if op in WEIGHTS_WRITTEN:
            out += [(op, "weights:kill"), (op, f"weights:{ERRORS[(i + 1) % 3]}")]
        if op in ("drain", "restore", "add-vs", "remove-rs"):
            out.append((op, f"journal-intent:{ERRORS[(i + 2) % 3]}"))
        if op in ("drain", "remove-vs"):
            out.append((op, "journal-intent:kill"))
    out.append(("drain-host", "kernel:kill:2"))  # between its two kernel steps
    return out


@pytest.fixture()
def table(dr_lab: Any) -> Any:
    dr_lab.sh("lb1", f"ipvsadm -C && rm -rf {STATE} && ipvsadm -R <<'EOF'\n{BASE}EOF").check()
    yield dr_lab
    dr_lab.sh("lb1", f"ipvsadm -C; rm -rf {STATE}")


def lvstui(lab: Any, *args: str, fault: str | None = None) -> Any:
    env = {**ENV, "LVSTUI_FAULT": fault} if fault else ENV
    return lab.lvstui("lb1", *args, env=env, timeout=120)


def journal(lab: Any) -> list[dict[str, Any]]:
    text = lab.sh("lb1", f"cat {STATE}/journal.jsonl 2>/dev/null; true").stdout
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def weights(lab: Any) -> dict[str, int]:
    text = lab.sh("lb1", f"cat {STATE}/weights.json 2>/dev/null; true").stdout
    return json.loads(text) if text.strip() else {}


def pending(entries: list[dict[str, Any]]) -> list[str]:
    named = {e.get("intent") for e in entries}
    return [e["id"] for e in entries if e["result"] == "intent" and e["id"] not in named]


@pytest.mark.parametrize(("op", "fault"), _cases())
def test_fault_leaves_kernel_journal_and_weights_agreeing(table: Any, op: str, fault: str) -> None:
    setup, argv, gone, added, weights_before, weights_after = OPS[op]
    if setup is not None:
        assert lvstui(table, *setup).rc == 0
    before = saved(table)
    after = (before - gone) | added
    entries_before = len(journal(table))
    point, what = fault.split(":")[:2]
    reached = point != "weights" or op in WEIGHTS_WRITTEN
    r = lvstui(table, *argv, fault=fault)
    kernel, entries = saved(table), journal(table)
    new = entries[entries_before:]
    if not reached:  # this operation makes no such write: it simply worked
        check(r.rc == 0 and kernel == after, f"{op} {fault}: {r.describe()}")
        return
    injected()
    if what == "kill":
        check(r.rc in (-9, 137), f"{op} {fault}: not killed: {r.describe()}")
        check(kernel in (before, after) or fault == "kernel:kill:2",
              f"{op} {fault}: the kernel is neither before nor after: {kernel ^ before}")
        if fault == "kernel:kill:2":
            check(kernel not in (before, after), "killed between its two kernel steps, one is made")
        check(bool(pending(new)) == (point != "journal-intent"),
              f"{op} {fault}: a pending intent is the kill's trace (none before the intent): {new}")
    else:
        lines = r.stderr.strip().splitlines()
        check(r.rc == 1 and len(lines) == 1, f"{op} {fault}: expected exit 1 and one line: {r.describe()}")
        check("nothing was changed" in lines[0] or "nothing is changed" in lines[0],
              f"{op} {fault}: the line does not say nothing changed: {lines[0]}")
        check(kernel == before, f"{op} {fault}: the kernel changed: {kernel ^ before}")
        check(weights(table) == weights_before, f"{op} {fault}: the remembered weights changed")
        check(all(e["result"] != "applied" for e in new), f"{op} {fault}: journaled as applied: {new}")

    # the next lvstui operation (a restart) finishes or undoes it
    was_pending = bool(pending(entries))
    r = lvstui(table, *NEXT)
    check(r.rc == 0, f"the next operation after {op} {fault}: {r.describe()}")
    check(("recovered: " in r.stderr) == was_pending, f"recovery said (or not): {r.stderr}")
    kernel, entries = saved(table), journal(table)
    check(kernel in (before, after), f"{op} {fault}: after recovery the kernel is between: {kernel ^ before}")
    check(pending(entries) == [], f"{op} {fault}: still pending after the next operation")
    done = kernel == after
    check(weights(table) == (weights_after if done else weights_before),
          f"{op} {fault}: the remembered weights {weights(table)} do not match the kernel ({'after' if done else 'before'})")
    applied = [e for e in entries[entries_before:] if e["result"] == "applied" and e.get("verb") == argv[0]
               and (e.get("change") or {}).get("service") != NEXT[1]]
    check(bool(applied) == done, f"{op} {fault}: the journal's applied entries {applied} do not match the kernel")


def test_two_operators_at_once_the_second_is_refused_busy(table: Any) -> None:
    """One lvstui's drain is frozen (SIGSTOP) after its intent, holding the director lock; a second
    lvstui's weight change is refused `busy: ...` and changes nothing; the first, continued, drains."""
    from lvstui.lab.lab import REPO_DIR

    before = saved(table)
    first = table.spawn("lb1", [table.venv_python, "-m", "lvstui", "drain", VS80, RS21],
                        env={"PYTHONPATH": str(REPO_DIR), **ENV, "LVSTUI_FAULT": "kernel:stop"})
    table.wait_for(lambda: table.sh("lb1", f"grep -q '^State:.*stopped' /proc/{first.pid}/status").ok,
                   timeout=60, what="the first lvstui to stop before its kernel step")
    r = lvstui(table, "weight", VS80, RS22, "7")
    lines = r.stderr.strip().splitlines()
    check(r.rc == 3 and len(lines) == 1, f"the second operator: {r.describe()}")
    check(lines[0].startswith("lvstui: busy: drain tcp:192.168.1.100:80 192.168.1.21:80 by ")
          and f"(pid {first.pid}) since " in lines[0] and lines[0].endswith("nothing was changed"), lines[0])
    check(saved(table) == before, "the refused weight change changed the kernel")
    table.run("lb1", ["kill", "-CONT", str(first.pid)]).check()
    done = table.wait(first, timeout=60)
    check(done.rc == 0, f"the first lvstui, continued: {done.describe()}")
    check(saved(table) - before == {f"-a -t 192.168.1.100:80 -r {RS21} -g -w 0"}, "the drain is not in the kernel")
    check(weights(table) == {f"{VS80} {RS21}": 5}, "the drain's weight is not remembered")
    check(lvstui(table, "weight", VS80, RS22, "7").rc == 0, "the second operator, once the first is done")


def test_a_really_full_and_a_really_read_only_state_directory(table: Any) -> None:
    """Not injected: the state directory on a full tmpfs, then remounted read-only.  Each drain
    exits 1 with one line naming the file and why, and changes nothing (the kernel, weights.json)."""
    before = saved(table)
    table.sh("lb1", f"mkdir -p {STATE} && mount -t tmpfs -o size=64k tmpfs {STATE} && "
                    f"(dd if=/dev/zero of={STATE}/fill bs=4k 2>/dev/null; true)").check()
    try:
        for why, prepare in (("No space left on device", None),
                             ("Read-only file system", f"mount -o remount,ro {STATE}")):
            if prepare:
                table.sh("lb1", prepare).check()
            injected()  # a real one
            r = lvstui(table, "drain", VS80, RS21)
            lines = r.stderr.strip().splitlines()
            check(r.rc == 1 and len(lines) == 1 and why in lines[0] and lines[0].endswith("nothing was changed"),
                  f"a drain with the state directory {why}: {r.describe()}")
            check(saved(table) == before, f"{why}: the kernel changed")
            check(weights(table) == {}, f"{why}: a weight was remembered")
    finally:
        table.sh("lb1", f"umount {STATE}")
