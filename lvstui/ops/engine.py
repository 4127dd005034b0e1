"""The one path by which lvstui changes a director: plan, guard, apply, read back, journal.

The TUI and the CLI both call :class:`Operations`; neither talks to netlink.
A change is applied as the steps its plan lists; if one fails, the steps
already applied are undone in reverse order, so nothing is half-applied.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lvstui.backend import BackendError
from lvstui.model import Snapshot
from lvstui.ops.changes import Change, Director, Plan, Refused
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.targets import InvalidInput


class ReadOnly(Refused):
    """lvstui runs --readonly: no change is made."""


class OperationFailed(Exception):
    """The kernel refused a step (the steps before it were undone)."""


@dataclass
class Outcome:
    plan: Plan
    applied: int
    snapshot: Snapshot
    seconds: float
    messages: list[str] = field(default_factory=list)


def expire_quiescent_template(proc: Path = Path("/proc/sys/net/ipv4/vs/expire_quiescent_template")) -> int | None:
    try:
        return int(proc.read_text().strip())
    except (OSError, ValueError):
        return None


class Operations:
    def __init__(self, director: Director, *, readonly: bool = False, journal: Journal | None = None,
                 memory: WeightMemory | None = None, actor: str = "cli",
                 eqt: Callable[[], int | None] = expire_quiescent_template) -> None:
        self.director = director
        self.readonly = readonly
        self.journal = journal or Journal()
        self.memory = memory or WeightMemory()
        self.actor = actor
        self._eqt = eqt

    def _guard(self, change: Change) -> None:
        if self.readonly:
            self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="refused",
                                message="read-only mode")
            raise ReadOnly(f"{change.verb} refused: lvstui is running read-only")

    def plan(self, change: Change, snap: Snapshot | None = None) -> Plan:
        """Validate against the current table and say what would change.  Never writes."""
        self._guard(change)
        if snap is None:
            snap = self.director.read()
        try:
            memory = self.memory.all()
        except OSError as exc:
            raise Refused(str(exc)) from exc
        return change.plan(snap, memory, self._eqt())

    def apply(self, change: Change, plan: Plan | None = None) -> Outcome:
        started = time.perf_counter()
        self._guard(change)
        try:
            # Always re-plan against a fresh read: the table may have changed since a preview.
            plan = self.plan(change)
        except (Refused, InvalidInput) as exc:
            self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="refused",
                                message=str(exc))
            raise
        applied: list = []
        try:
            for step in plan.steps:
                step.apply(self.director)
                applied.append(step)
        except (OSError, BackendError) as exc:
            failed = plan.steps[len(applied)]
            undo_errors = self._undo(applied)
            message = f"the kernel refused `{failed.describe()}`: {_reason(exc)}"
            if applied:
                message += ("; undone: " + "; ".join(s.describe() for s in reversed(applied))
                            if not undo_errors else "; UNDO FAILED: " + "; ".join(undo_errors))
            self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="failed",
                                steps=plan.lines(), message=message)
            raise OperationFailed(message) from exc
        snap = self.director.read()
        problems = [p for p in (s.check(snap) for s in plan.steps) if p]
        if problems:
            message = "applied, but the kernel reads back differently: " + "; ".join(problems)
            self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="mismatch",
                                steps=plan.lines(), message=message)
            raise OperationFailed(message)
        if plan.remember or plan.forget:
            # Remember only weights not already remembered: a second drain must not forget the first one's.
            known = self.memory.all()
            remember = {k: v for k, v in plan.remember.items() if f"{k[0]} {k[1]}" not in known}
            self.memory.update(remember, plan.forget)
        seconds = time.perf_counter() - started
        self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="applied",
                            steps=plan.lines(), warnings=plan.warnings, ms=round(seconds * 1000, 2))
        return Outcome(plan=plan, applied=len(applied), snapshot=snap, seconds=seconds)

    def _undo(self, applied: list) -> list[str]:
        errors = []
        for step in reversed(applied):
            try:
                step.undo(self.director)
            except (OSError, BackendError) as exc:
                errors.append(f"{step.describe()}: {_reason(exc)}")
        return errors


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)
    import errno as e

    known = {
        e.EEXIST: "it already exists",
        e.ESRCH: "no such service",
        e.ENOENT: "not found (for a scheduler: the kernel has no such scheduler module)",
        e.EINVAL: "invalid argument",
        e.EPERM: "permission denied (needs root / CAP_NET_ADMIN)",
        e.EBUSY: "busy",
    }
    return known.get(code, str(exc)) if code is not None else str(exc)


def _describe(change: Change) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in getattr(change, "__dataclass_fields__", {}):
        value = getattr(change, name)
        if name == "verb":
            continue
        if hasattr(value, "id"):
            out[name] = value.id
        elif hasattr(value, "__dataclass_fields__"):
            out[name] = {k: getattr(value, k) for k in value.__dataclass_fields__ if getattr(value, k) is not None}
        elif hasattr(value, "value"):
            out[name] = value.value
        else:
            out[name] = value
    return out
