"""Undo: reverse the last journaled change (or the one named by its journal id), through Operations.

The reversal is planned like any change, against a fresh read of the director, and applied by
:meth:`lvstui.ops.engine.Operations.apply` (guard, keepalived's durable half, read-back,
journal; each entry it writes says ``undo_of``).  It is refused, with one line saying what
changed, when the state has moved on since: the change's read-back (each real server's
settings as the change left them, each track file as it was written) no longer holds.

A second ``lvstui undo`` walks further back: changes already undone, and the undos
themselves, are skipped.

For the dashboard and the CLI alike::

    undo = plan_undo(ops)             # or plan_undo(ops, "3f9a1c2e"); raises Refused (one line)
    show(undo.title, undo.lines())    # confirm
    outcomes = apply_undo(ops, undo)  # raises Refused / OperationFailed like Operations.apply
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lvstui.backend.rules import save_lines
from lvstui.model import Forward, Snapshot
from lvstui.ops.changes import (
    AddServer,
    AddService,
    Change,
    Drain,
    DrainHost,
    LoadTable,
    Plan,
    Refused,
    RemoveServer,
    RemoveService,
    Restore,
    RestoreHost,
    SetExpireQuiescent,
    SetTimeouts,
    SetWeight,
    StartSync,
    StopSync,
    ZeroCounters,
)
from lvstui.ops.engine import Operations, Outcome
from lvstui.ops.record import change_from_record, rs_settings
from lvstui.ops.targets import InvalidInput

__all__ = ["UndoPlan", "UndoRefused", "apply_undo", "plan_undo", "undoable_entry"]


class UndoRefused(Refused):
    """Nothing to undo, or the state has moved on since the change: nothing was changed."""


@dataclass
class UndoPlan:
    """The reversal of one journaled change, planned against a fresh read."""

    entry: dict[str, Any]  # the journal entry it reverses
    changes: list[Change]  # what reverses it, in order
    plans: list[Plan] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)  # intents of killed lvstuis reconciled first

    @property
    def entry_id(self) -> str:
        return str(self.entry["id"])

    @property
    def title(self) -> str:
        return f"undo {self.entry.get('verb')} {_what(self.entry)} (journal {self.entry_id}, {self.entry.get('time')})"

    def lines(self) -> list[str]:
        out: list[str] = []
        for plan in self.plans:
            out += plan.lines() or [f"{plan.title}: nothing to change in the kernel"]
            out += [f"keepalived: {line}" for line in plan.keepalived_lines()]
        return out

    def warnings(self) -> list[str]:
        return [w for plan in self.plans for w in plan.warnings]


def _what(entry: dict[str, Any]) -> str:
    change = entry.get("change") or {}
    return " ".join(str(change[k]) for k in ("service", "server", "address", "value") if k in change)


def undoable_entry(ops: Operations, entry_id: str | None = None) -> dict[str, Any]:
    """The journal entry to reverse: ``entry_id``'s, else the last applied change not undone yet."""
    entries: list[dict[str, Any]] = list(ops.journal.entries())
    undone = {str(e["undo_of"]): e for e in entries if e.get("undo_of") and e.get("result") == "applied"}
    if entry_id is not None:
        entry = next((e for e in entries if e.get("id") == entry_id), None)
        if entry is None:
            raise UndoRefused(f"no journal entry {entry_id} in {ops.journal.path}")
        if entry.get("result") != "applied" or "record" not in entry:
            raise UndoRefused(f"journal entry {entry_id} ({entry.get('verb') or entry.get('op')}, "
                              f"{entry.get('result')}) is not an applied change lvstui can undo")
        if entry_id in undone:
            raise UndoRefused(f"journal entry {entry_id} was already undone ({undone[entry_id].get('id')}, "
                              f"{undone[entry_id].get('time')})")
        return entry
    for candidate in reversed(entries):
        if candidate.get("result") != "applied" or "record" not in candidate or candidate.get("undo_of"):
            continue
        if str(candidate.get("id")) in undone:
            continue
        return dict(candidate)
    raise UndoRefused(f"nothing to undo: no applied change in {ops.journal.path} that is not undone yet")


def _sysctl_value(sysctl_dir: Path, name: str) -> int | None:
    try:
        return int((sysctl_dir / name).read_text().strip())
    except (OSError, ValueError):
        return None


def _moved(snap: Snapshot, entry: dict[str, Any], sysctl_dir: Path) -> list[str]:
    """How the director differs from what the change left (empty: its read-back still holds)."""
    out: list[str] = []
    for item in entry.get("kernel", []):
        vs = snap.service(str(item["vs"]))
        rs_id = item.get("rs")
        if rs_id is None:
            if item["action"] == "delete" and vs is not None:
                out.append(f"{item['vs']} exists again")
            elif item["action"] != "delete" and vs is None:
                out.append(f"{item['vs']} is gone")
            continue
        rs = vs.real_server(str(rs_id)) if vs is not None else None
        if item["action"] == "delete":
            if rs is not None:
                out.append(f"{rs_id} is back in {item['vs']}")
            continue
        if rs is None:
            out.append(f"{rs_id} is no longer in {item['vs']}")
            continue
        now, then = rs_settings(rs), item.get("after", {})
        diffs = [f"{k} {now[k]} (the change left {then[k]})" for k in ("weight", "forward", "upper", "lower")
                 if k in then and now[k] != then[k]]
        if diffs:
            out.append(f"{rs_id} in {item['vs']} has " + ", ".join(diffs))
    then = (entry.get("timeouts") or {}).get("after")
    if then is not None and snap.timeouts is not None and asdict(snap.timeouts) != then:
        out.append(f"the IPVS timeouts are {asdict(snap.timeouts)} (the change left {then})")
    after = entry.get("table_after")
    if after is not None:
        table_now, table_then = set(save_lines(snap)), set(after)
        if table_now != table_then:
            changed = sorted(table_now ^ table_then)
            out.append(f"the table differs from what {entry.get('verb')} left ({len(changed)} lines, e.g. "
                       f"{changed[0]!r})")
    daemon = entry.get("daemon")
    if daemon is not None:
        running = next((d for d in snap.sync_daemons if d.state == daemon["state"]), None)
        if daemon["action"] == "stop" and running is not None:
            out.append(f"a {daemon['state']} sync daemon runs again")
        elif daemon["action"] == "start" and (running is None or (running.mcast_ifn, running.syncid)
                                              != (daemon["mcast_ifn"], daemon["syncid"])):
            out.append(f"the {daemon['state']} sync daemon the change started is not running")
    for item in entry.get("sysctl", []):
        value = _sysctl_value(sysctl_dir, str(item["name"]))
        if value != item["after"]:
            out.append(f"net.ipv4.vs.{item['name']} is {value if value is not None else 'unreadable'} "
                       f"(the change left {item['after']})")
    for path, value in ((entry.get("keepalived") or {}).get("track_files") or {}).items():
        try:
            text: str | None = Path(path).read_text().strip()
        except FileNotFoundError:
            text = None
        except OSError as exc:
            out.append(f"cannot read track file {path}: {exc.strerror or exc}")
            continue
        if text != value:
            out.append(f"track file {path} holds {text if text is not None else 'nothing'} "
                       f"(the change wrote {value})")
    return out


def _inverse(change: Change, entry: dict[str, Any], snap: Snapshot) -> list[Change]:
    if isinstance(change, ZeroCounters):
        raise UndoRefused(f"zero (journal {entry.get('id')}) cannot be undone: the kernel cannot be given "
                          "counters back")
    kernel: list[dict[str, Any]] = entry.get("kernel", [])
    kept = entry.get("keepalived") or {}
    if not kernel and not kept.get("track_files") and not kept.get("edits") and not entry.get("sysctl") \
            and not entry.get("timeouts") and not entry.get("daemon"):
        raise UndoRefused(f"nothing to undo: {entry.get('verb')} {_what(entry)} changed nothing")
    if isinstance(change, Drain):
        return [Restore(change.service, change.server)]
    if isinstance(change, DrainHost):
        return [RestoreHost(change.address)]
    if isinstance(change, Restore):
        return [Drain(change.service, change.server)]
    if isinstance(change, RestoreHost):
        return [DrainHost(change.address)]
    if isinstance(change, SetWeight):
        before = next((k.get("before") for k in kernel if k.get("rs") == change.server.id), None)
        if before is None:
            raise UndoRefused(f"cannot undo {entry.get('verb')} {_what(entry)}: the journal does not say the "
                              "weight it replaced")
        return [SetWeight(change.service, change.server, weight=int(before["weight"]))]
    if isinstance(change, AddServer):
        vs = snap.service(change.service.id)
        rs = vs.real_server(change.server.id) if vs is not None else None
        if rs is not None and rs.active_conns:
            raise UndoRefused(f"{rs.id} in {change.service.id} has {rs.active_conns} active connections: "
                              f"drain it first (lvstui drain {change.service.id} {rs.id} --wait), then undo")
        return [RemoveServer(change.service, change.server, force=True)]
    if isinstance(change, RemoveServer):
        before = next((k.get("before") for k in kernel if k.get("rs") == change.server.id), None)
        if before is None:
            raise UndoRefused(f"cannot undo {entry.get('verb')} {_what(entry)}: the journal does not say the "
                              "real server's settings")
        return [AddServer(change.service, change.server, weight=int(before["weight"]),
                          forward=Forward(before["forward"]), upper=int(before["upper"]),
                          lower=int(before["lower"]))]
    if isinstance(change, AddService):
        return [RemoveService(change.service)]
    if isinstance(change, SetTimeouts):
        before = (entry.get("timeouts") or {}).get("before") or {}
        return [SetTimeouts(tcp=int(before["tcp"]), tcp_fin=int(before["tcp_fin"]), udp=int(before["udp"]))]
    if isinstance(change, LoadTable):
        before = entry.get("table_before")
        if before is None:
            raise UndoRefused(f"cannot undo load (journal {entry.get('id')}): the journal does not hold the table "
                              "it replaced")
        return [LoadTable("\n".join(before) + "\n", f"the table before journal {entry.get('id')}")]
    if isinstance(change, StartSync):
        return [StopSync(change.state)]
    if isinstance(change, StopSync):
        d = entry.get("daemon") or {}
        return [StartSync(str(d["state"]), str(d["mcast_ifn"]), int(d["syncid"]))]
    if isinstance(change, SetExpireQuiescent):
        before = next((int(s["before"]) for s in entry.get("sysctl", []) if s.get("name") == "expire_quiescent_template"),
                      None)
        if before is None:
            raise UndoRefused(f"cannot undo {entry.get('verb')}: the journal does not say the value it replaced")
        return [SetExpireQuiescent(before)]
    raise UndoRefused(f"lvstui cannot undo {change.verb} (journal {entry.get('id')}): change it back by hand")


def _refuse(ops: Operations, entry: dict[str, Any], message: str, extra: dict[str, Any] | None) -> UndoRefused:
    ops.journal.record(actor=ops.actor, verb="undo", undo_of=entry.get("id"), change=entry.get("change"),
                       result="refused", message=message, **(extra or {}))
    return UndoRefused(message)


def plan_undo(ops: Operations, entry_id: str | None = None, *, force: bool = False,
              journal_extra: dict[str, Any] | None = None) -> UndoPlan:
    """Find the change, check its read-back still holds on a fresh read, plan its reversal.  Writes
    nothing but the reconciliation of intents a killed lvstui left (:meth:`Operations.recover`).

    Raises :class:`UndoRefused` (journaled, with *journal_extra*: the asking peer) or what
    :meth:`Operations.plan` raises.
    """
    ops.policy.check("undo", actor=ops.actor, journal=ops.journal, entry=entry_id)
    recovered = ops.recover()  # a change a killed lvstui left without its outcome: finished or undone first
    entry = undoable_entry(ops, entry_id)
    try:
        original = change_from_record(entry["record"])
    except (KeyError, TypeError, ValueError, InvalidInput) as exc:
        raise _refuse(ops, entry, f"journal entry {entry.get('id')} cannot be read back as a change "
                                  f"({exc})", journal_extra) from None
    snap = ops.director.read()
    moved = _moved(snap, entry, ops.sysctl_dir)
    if moved:
        raise _refuse(ops, entry, f"undo of {entry['id']} ({entry.get('verb')} {_what(entry)}) refused: the state "
                                  "has moved on since: " + "; ".join(moved) + "; nothing was changed",
                      journal_extra)
    try:
        undo = UndoPlan(entry, _inverse(original, entry, snap), recovered=recovered)
        undo.plans = [ops.plan(change, snap, force=force) for change in undo.changes]
    except (Refused, InvalidInput) as exc:
        raise _refuse(ops, entry, f"undo of {entry['id']} refused: {exc}", journal_extra) from exc
    return undo


def apply_undo(ops: Operations, undo: UndoPlan, *, force: bool = False,
               journal_extra: dict[str, Any] | None = None) -> list[Outcome]:
    """Apply a planned undo: the read-back is checked again on a fresh read, then each change is
    applied (re-planned) through :meth:`Operations.apply`, journaled with ``undo_of`` (and
    *journal_extra*: the asking peer)."""
    ops.policy.check("undo", actor=ops.actor, journal=ops.journal, entry=undo.entry_id)
    moved = _moved(ops.director.read(), undo.entry, ops.sysctl_dir)
    if moved:
        raise _refuse(ops, undo.entry, f"undo of {undo.entry_id} refused: the state has moved on since it "
                                       "was planned: " + "; ".join(moved) + "; nothing was changed", journal_extra)
    extra = {**(journal_extra or {}), "undo_of": undo.entry_id}
    return [ops.apply(change, force=force, journal_extra=extra) for change in undo.changes]
