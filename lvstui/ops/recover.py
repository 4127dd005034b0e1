"""Finish or undo a change whose lvstui stopped between its intent and its outcome.

:meth:`lvstui.ops.engine.Operations.apply` journals an *intent* (result ``intent``: the kernel
steps with the settings before and after, the weights it remembers and forgets) before it
touches anything, and an outcome entry naming it (``"intent": ID``) after.  An intent
without an outcome means the process was killed (or could not write its outcome) in
between.  The next operation, or ``lvstui undo``, reconciles each such intent against the
kernel, under the director lock:

* every step reads back as done: the change is in place; its remembered weights are
  completed and it is recorded ``applied`` (so ``lvstui undo`` can reverse it) -- unless a
  keepalived track file it meant to write does not hold its value (killed before writing it:
  keepalived would put the weight back), then the kernel steps are undone;
* no step reads back as done: nothing was changed; a weight the intent remembered is
  forgotten again; recorded ``interrupted``;
* some steps done, the others not: those done are undone (nothing is left half-applied),
  recorded ``undone``;
* anything else (someone changed the server since): left as it is, recorded ``unknown``.

Each reconciliation returns one line for the operator.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from lvstui.backend import BackendError
from lvstui.model import Forward, RealServer, Snapshot
from lvstui.ops.changes import Director
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.record import rs_settings, vs_settings
from lvstui.ops.targets import parse_server_id

__all__ = ["INTENT", "pending_intents", "reconcile"]

INTENT = "intent"


_ID = re.compile(r'^\{"id": "([0-9a-f]+)"')
_NAMES = re.compile(r'"intent": "([0-9a-f]+)"')


def pending_intents(journal: Journal) -> list[dict[str, Any]]:
    """The intents that no outcome entry names, oldest first.  Every operation asks, so the scan
    matches the lines' text (how :meth:`Journal.record` writes them) and parses only what is
    left pending: a 10,000-line journal is read in milliseconds."""
    pending: dict[str, str] = {}
    for line in journal.lines():
        if '"result": "intent"' in line:
            found = _ID.match(line)
            if found:
                pending[found.group(1)] = line
        elif pending:
            named = _NAMES.search(line)
            if named:
                pending.pop(named.group(1), None)
    out = []
    for line in pending.values():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("result") == INTENT:
            out.append(entry)
    return out


def _state(snap: Snapshot, item: dict[str, Any]) -> str:
    """``after`` (the step reads back as done), ``before`` (as not done) or ``other``."""
    vs = snap.service(str(item.get("vs")))
    action = item.get("action")
    rs_id = item.get("rs")
    if rs_id is None:
        now: dict[str, object] | None = vs_settings(vs) if vs is not None else None
    else:
        rs = vs.real_server(str(rs_id)) if vs is not None else None
        now = rs_settings(rs) if rs is not None else None
    if action == "add":
        after, before = now is not None and now == item.get("after"), now is None
    elif action == "delete":
        after, before = now is None, now is not None and now == item.get("before")
    else:
        after, before = now is not None and now == item.get("after"), now is not None and now == item.get("before")
    return "after" if after else "before" if before else "other"


def _undo_step(director: Director, snap: Snapshot, item: dict[str, Any]) -> None:
    """Put one real-server step back as it was (service steps are single-step plans: never half done)."""
    vs = snap.service(str(item["vs"]))
    if vs is None or item.get("rs") is None:
        raise ValueError(f"cannot undo {item.get('action')} of {item.get('vs')} from the journal")
    rs_id = str(item["rs"])
    current = vs.real_server(rs_id)
    before = item.get("before") or {}
    if item["action"] == "add" and current is not None:
        director.delete_dest(vs, current)
        return
    if item["action"] == "delete":
        key = parse_server_id(rs_id, allow_port_zero=vs.fwmark is not None)
        current = RealServer(address=key.address, port=key.port, family=key.family)
    if current is None:
        raise ValueError(f"{rs_id} is not in {vs.id}")
    restored = dataclasses.replace(current, weight=int(before["weight"]), forward=Forward(before["forward"]),
                                   upper_threshold=int(before["upper"]), lower_threshold=int(before["lower"]))
    (director.add_dest if item["action"] == "delete" else director.edit_dest)(vs, restored)


def _keys(items: object) -> list[tuple[str, str]]:
    out = []
    for text in items if isinstance(items, list) else []:
        vs_id, _, rs_id = str(text).partition(" ")
        out.append((vs_id, rs_id))
    return out


def _remembered(intent: dict[str, Any]) -> dict[tuple[str, str], int]:
    remember = intent.get("remember") or {}
    return {k: int(remember[f"{k[0]} {k[1]}"]) for k in _keys(list(remember))}


def _unwritten_track_files(intent: dict[str, Any]) -> list[str]:
    """The keepalived track files the intent meant to write that do not hold its value."""
    out = []
    for path, value in ((intent.get("keepalived") or {}).get("track_files") or {}).items():
        try:
            text: str | None = Path(path).read_text().strip()
        except OSError:
            text = None
        if text != value:
            out.append(str(path))
    return out


def reconcile(intent: dict[str, Any], director: Director, journal: Journal, memory: WeightMemory,
              actor: str) -> str:
    """Reconcile one pending intent (see the module's docstring); returns the operator's line.
    Raises :class:`lvstui.ops.journal.StateError` if its outcome cannot be recorded."""
    kernel: list[dict[str, Any]] = list(intent.get("kernel") or [])
    snap = director.read()
    states = [_state(snap, item) for item in kernel]
    what = " ".join(str(v) for v in (intent.get("change") or {}).values())
    head = (f"journal {intent.get('id')}: {intent.get('verb')} {what} (pid {intent.get('pid', '?')}, "
            f"{intent.get('time')}) stopped before its outcome was recorded")
    common: dict[str, Any] = {"actor": actor, "verb": intent.get("verb"), "change": intent.get("change"),
                              "intent": intent.get("id"), "recovered": True}
    if intent.get("undo_of"):
        common["undo_of"] = intent["undo_of"]
    unwritten = _unwritten_track_files(intent) if kernel and all(s == "after" for s in states) else []
    if all(s == "after" for s in states) and not unwritten:
        forget = _keys(intent.get("forget"))
        note = ""
        if forget:
            try:
                memory.update({}, forget)
            except OSError as exc:
                note = f"; the remembered weights could not be updated ({exc})"
        if not kernel:
            line = f"{head}: it changed nothing in the kernel; recorded as applied{note}"
        else:
            line = f"{head}: the kernel shows it done; recorded as applied{note}"
        if (intent.get("keepalived") or {}).get("reload"):
            line += "; its keepalived.conf edit and reload may not have been made: check with `lvstui keepalived check`"
        journal.record(**common, result="applied", steps=intent.get("steps"), record=intent.get("record"),
                       kernel=kernel, keepalived=intent.get("keepalived"), message=line)
        return line
    if any(s == "other" for s in states):
        line = (f"{head}: the kernel now matches neither what it replaced nor what it made; "
                "left as it is: check it")
        journal.record(**common, result="unknown", steps=intent.get("steps"), message=line)
        return line
    done = [item for item, s in zip(kernel, states, strict=True) if s == "after"]
    errors = []
    for item in reversed(done):
        try:
            _undo_step(director, snap, item)
        except (OSError, BackendError, ValueError, KeyError) as exc:
            errors.append(f"{item.get('vs')} {item.get('rs', '')}: {exc}")
    remembered = _remembered(intent)
    note = ""
    if remembered and not errors:
        try:
            memory.forget_if(remembered)
        except OSError as exc:
            note = f"; the remembered weights could not be updated ({exc})"
    if unwritten and not errors:
        line = (f"{head}: the kernel shows it done but keepalived's track file {unwritten[0]} was not written "
                f"(keepalived would undo it): the kernel change is undone; nothing is changed{note}")
        result = "undone"
    elif not done:
        line = f"{head}: the kernel was not changed; nothing was changed{note}"
        result = "interrupted"
    elif errors:
        line = f"{head}: {len(done)} of {len(kernel)} steps were made; UNDO FAILED: {'; '.join(errors)}"
        result = "unknown"
    else:
        line = f"{head}: {len(done)} of {len(kernel)} steps were made and are undone; nothing is changed{note}"
        result = "undone"
    journal.record(**common, result=result, steps=intent.get("steps"), message=line)
    return line
