"""The VRRP demote/promote flow without a user interface: plan it, then carry it out.

Shared by ``lvstui vrrp demote|promote`` (:mod:`lvstui.commands.vrrp`) and the dashboard.

* :func:`prepare` finds the instance and its lvstui track file, listens to VRRP adverts for
  a window (1.5-10 s: it blocks), and returns a :class:`TogglePlan`: the plan text, the
  problems (FAULT, no peer heard while BACKUP, split brain) and why it is refused, if it is.
  Its :class:`AdvertListener` keeps running, so :func:`execute` can see the change happen;
  close the plan (it is a context manager) when done.
* :func:`execute` writes the track file, journals, waits until the change is seen on the
  wire (:func:`lvstui.keepalived.toggle.wait_for`) and otherwise puts the file back.

Nothing here prints or asks: the callers show the plan and confirm.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from lvstui.keepalived.runtime import VrrpState
from lvstui.keepalived.toggle import (
    Target,
    ToggleError,
    current_state,
    find_target,
    read_track_value,
    wait_for,
    write_track_value,
)
from lvstui.keepalived.vrrp_adverts import AdvertListener, PeerRouter

__all__ = ["ACTIONS", "TogglePlan", "ToggleResult", "execute", "listen_window", "prepare", "record_refusal"]

ACTIONS = ("demote", "promote")


def listen_window(advert_int: float) -> float:
    """How long to listen before deciding: three advert intervals, within 1.5-10 s."""
    return min(max(3 * advert_int + 0.5, 1.5), 10.0)


@dataclass
class TogglePlan:
    action: str  # demote | promote
    target: Target
    listener: AdvertListener
    state: VrrpState  # keepalived's view of the instance when planned
    old: int  # the track file's value now
    new: int  # the value the action writes
    window: float  # seconds listened
    others: list[PeerRouter]  # other routers advertising the VRID as MASTER
    problems: list[str]  # why it is unsafe (overridden by force)
    text: str  # the plan, one line
    force: bool = False
    notice: str | None = None  # the file already holds the new value

    @property
    def name(self) -> str:
        return self.target.instance.name

    @property
    def vrid(self) -> int:
        return self.target.instance.virtual_router_id or 0

    @property
    def listener_error(self) -> str | None:
        return self.listener.error

    @property
    def want(self) -> str:
        return "BACKUP" if self.action == "demote" else "MASTER"

    def refusal(self, force: bool | None = None) -> str | None:
        """Why it must not proceed (None: it may), given ``force`` (default: the plan's own)."""
        force = self.force if force is None else force
        if force:
            return None
        if self.listener_error:
            return f"{self.listener_error}: cannot confirm the change on the wire (--force to proceed blind)"
        if self.problems:
            return "refused: " + "; ".join(self.problems) + " (--force to proceed)"
        return None

    @property
    def refused(self) -> str | None:
        return self.refusal()

    def journal_base(self) -> dict[str, Any]:
        return {"op": f"vrrp {self.action}", "instance": self.name, "vrid": self.vrid,
                "file": self.target.track.file}

    def close(self) -> None:
        self.listener.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class ToggleResult:
    done: bool  # the change is seen on the wire
    undone: bool  # not seen in time: the track file was put back
    message: str  # one line
    status: int  # as the CLI exits: 0 done, 1 failure, 124 undone
    seconds: float = 0.0
    seen: list[str] = field(default_factory=list)


def prepare(action: str, instance: str | None = None, force: bool = False,
            sleep: Callable[[float], None] = time.sleep) -> TogglePlan:
    """Find the target, listen for a window, weigh the problems; raises :class:`ToggleError`.

    The returned plan holds a running listener: close it (``with prepare(...) as plan``).
    """
    if action not in ACTIONS:
        raise ToggleError(f"unknown VRRP action {action!r}: demote or promote", 2)
    target, _view = find_target(instance)
    listener = AdvertListener().start()
    try:
        state = current_state(target)
        old = read_track_value(target.path)
        new = 1 if action == "demote" else 0
        window = listen_window(target.instance.advert_int)
        sleep(window)
    except BaseException:
        listener.close()
        raise
    name = target.instance.name
    vrid = target.instance.virtual_router_id or 0
    now = time.monotonic()
    others = [p for p in listener.peers() if p.vrid == vrid and not p.local and p.current(now)]
    problems: list[str] = []
    if state.state == "FAULT":
        problems.append(f"{name} is in FAULT here")
    target_eff = state.effective_priority + (new - old) * target.weight
    if action == "demote":
        if state.state == "BACKUP" and not others:
            problems.append(f"no router seen advertising VRID {vrid} in {window:g} s: the peer is not healthy")
        if state.state == "MASTER" and others:
            problems.append(
                f"another router advertises VRID {vrid} while this one is MASTER: "
                + ", ".join(f"{p.source} priority {p.priority}" for p in others)
            )
        peer_note = (
            ", ".join(f"{p.source} (MASTER, priority {p.priority})" for p in others)
            if others
            else "the backup (silent: backups do not advertise; if it does not take over, this is undone)"
        )
    else:
        peer_note = ", ".join(f"{p.source} priority {p.priority}" for p in others) or "none seen advertising"
    notice = (
        f"{target.track.file} already holds {new}: {name} is {state.state} "
        f"(effective priority {state.effective_priority}); checking it is seen so"
        if old == new
        else None
    )
    text = (
        f"{action} {name} (VRID {vrid}, {state.state}, effective priority {state.effective_priority} "
        f"-> {target_eff}) by writing {new} to {target.track.file}; peer: {peer_note}"
    )
    return TogglePlan(action, target, listener, state, old, new, window, others, problems, text,
                      force=force, notice=notice)


def record_refusal(plan: TogglePlan, journal: Any = None) -> str | None:
    """The plan's refusal, journalled when it is one of the problems (as the CLI always did)."""
    reason = plan.refused
    if reason is not None and not plan.listener_error and plan.problems:
        journal = journal if journal is not None else _journal()
        journal.record(**plan.journal_base(), result="refused", reason="; ".join(plan.problems))
    return reason


def _journal() -> Any:
    from lvstui.ops.journal import Journal

    return Journal()


def execute(plan: TogglePlan, timeout: float, progress: Callable[[str], None] = lambda _line: None,
            journal: Any = None) -> ToggleResult:
    """Write the track file, wait until the change is seen on the wire, else put it back.

    Does not check :attr:`TogglePlan.refused` (the caller decides) nor close the listener.
    """
    if timeout <= 0:
        raise ToggleError("--timeout must be a positive number of seconds", 2)
    journal = journal if journal is not None else _journal()
    target = plan.target
    base = plan.journal_base()
    since = time.monotonic()
    try:
        write_track_value(target.path, plan.new)
    except OSError as exc:
        journal.record(**base, result="failed", reason=str(exc))
        return ToggleResult(False, False, f"cannot write {target.track.file}: {exc.strerror or exc}", 1)
    journal.record(**base, result="applied", value=plan.new, previous=plan.old,
                   priority_from=plan.state.effective_priority)
    want = plan.want
    outcome = wait_for(target, plan.listener, want, since, timeout, progress=progress)
    if outcome.done:
        masters = ", ".join(f"{p.source} priority {p.priority}" for p in outcome.masters)
        message = f"done in {outcome.seconds:.1f} s: {plan.name} is {want}" + (
            f"; MASTER seen on the wire: {masters}" if plan.action == "demote" else ""
        )
        journal.record(**base, result="done", seconds=round(outcome.seconds, 2),
                       masters=[p.source for p in outcome.masters])
        return ToggleResult(True, False, message, 0, outcome.seconds, outcome.seen)
    write_track_value(target.path, plan.old)
    journal.record(**base, result="undone", reason=f"not {want} within {timeout:g} s", seen=outcome.seen)
    message = (
        f"not confirmed within {timeout:g} s; {target.track.file} put back to {plan.old}. "
        f"Seen: {outcome.seen[-1] if outcome.seen else 'nothing'}"
    )
    return ToggleResult(False, True, message, 124, outcome.seconds, outcome.seen)
