"""VRRP demote/promote and the track file's setup: the writes of VRRP, without a user interface.

Shared by ``lvstui vrrp demote|promote|setup`` (:mod:`lvstui.commands.vrrp`) and the dashboard;
observation (the target, keepalived's state, waiting for the adverts) is read-only code in
:mod:`lvstui.keepalived.toggle`.  Each entry point asks the read-only policy first
(:mod:`lvstui.ops.policy`: refused and journaled under ``--readonly``, whoever calls).

* :func:`prepare` finds the instance and its lvstui track file, listens to VRRP adverts for
  a window (1.5-10 s: it blocks), and returns a :class:`TogglePlan`: the plan text, the
  problems (FAULT, no peer heard while BACKUP, split brain) and why it is refused, if it is.
  Its :class:`AdvertListener` keeps running, so :func:`execute` can see the change happen;
  close the plan (it is a context manager) when done.
* :func:`execute` journals its intent, writes the track file, waits until the change is seen
  on the wire (:func:`lvstui.keepalived.toggle.wait_for`) and otherwise puts the file back;
  so does a Ctrl-C or SIGTERM while it waits (the director is never left demoted by a
  demote that was stopped).
* :func:`add_track_file` adds lvstui's track file to keepalived.conf (``lvstui vrrp setup``).

Nothing here prints or asks: the callers show the plan and confirm.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from lvstui.keepalived import edit
from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.loader import load
from lvstui.keepalived.processes import KeepalivedProcess, signal_number
from lvstui.keepalived.runtime import VrrpState
from lvstui.keepalived.site import local_keepalived, proc_path
from lvstui.keepalived.toggle import (
    SUGGESTED_FILE,
    SUGGESTED_NAME,
    Target,
    ToggleError,
    current_state,
    find_target,
    read_track_value,
    track_file_text,
    wait_for,
)
from lvstui.keepalived.validate import validator
from lvstui.keepalived.view import build_view
from lvstui.keepalived.vrrp_adverts import AdvertListener, PeerRouter
from lvstui.ops.files import write_atomic, write_config
from lvstui.ops.journal import Journal
from lvstui.ops.lock import DIRECTOR, Busy, config_lock_name, held
from lvstui.ops.policy import WritePolicy, current

__all__ = ["ACTIONS", "Interrupted", "TogglePlan", "ToggleResult", "add_track_file", "execute", "listen_window", "prepare",
           "record_refusal", "write_track_value"]

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
            sleep: Callable[[float], None] = time.sleep, *, policy: WritePolicy | None = None,
            actor: str = "cli") -> TogglePlan:
    """Find the target, listen for a window, weigh the problems; raises :class:`ToggleError`,
    or :class:`lvstui.ops.policy.ReadOnly` (journaled) before anything is read when read-only.

    The returned plan holds a running listener: close it (``with prepare(...) as plan``).
    """
    if action not in ACTIONS:
        raise ToggleError(f"unknown VRRP action {action!r}: demote or promote", 2)
    (policy or current()).check(f"vrrp {action}", actor=actor, op=f"vrrp {action}", instance=instance)
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


def record_refusal(plan: TogglePlan, journal: Journal | None = None) -> str | None:
    """The plan's refusal, journalled when it is one of the problems (as the CLI always did)."""
    reason = plan.refused
    if reason is not None and not plan.listener_error and plan.problems:
        journal = journal if journal is not None else Journal()
        journal.record(**plan.journal_base(), result="refused", reason="; ".join(plan.problems))
    return reason


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) while a demote/promote waits for the change to be seen."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def _signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`Interrupted` here (main thread only: elsewhere Python
    delivers no signal, and the dashboard stops its own workers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextmanager
def _signals_held() -> Iterator[None]:
    """While the track file is put back: a second Ctrl-C or SIGTERM must not stop that."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def execute(plan: TogglePlan, timeout: float, progress: Callable[[str], None] = lambda _line: None,
            journal: Journal | None = None, *, policy: WritePolicy | None = None,
            actor: str = "cli") -> ToggleResult:
    """Write the track file, wait until the change is seen on the wire, else put it back.

    Under the director lock (:data:`lvstui.ops.lock.DIRECTOR`): while one operator's demote waits,
    another's change of this director is refused ``busy: ...`` (status 3), and the reverse.

    Journaled ahead (an ``intent`` before the file is written: if the journal cannot be written,
    nothing is).  Interrupted while waiting (Ctrl-C, SIGTERM) or unable to record that it wrote
    the file, it puts the file back and says so (status 130/143 for a signal, 1 otherwise).
    Does not check :attr:`TogglePlan.refused` (the caller decides) nor close the listener;
    does check the read-only policy (raises :class:`lvstui.ops.policy.ReadOnly`, journaled).
    """
    if timeout <= 0:
        raise ToggleError("--timeout must be a positive number of seconds", 2)
    journal = journal if journal is not None else Journal()
    (policy or current()).check(f"vrrp {plan.action}", actor=actor, journal=journal, op=f"vrrp {plan.action}",
                                instance=plan.name)
    try:
        with held(DIRECTOR, f"vrrp {plan.action} {plan.name}"):
            return _execute(plan, timeout, progress, journal)
    except Busy as exc:
        _record_quietly(journal, **plan.journal_base(), result="refused", reason=str(exc))
        return ToggleResult(False, False, f"{exc}; nothing was changed", 3)
    except OSError as exc:  # the lock cannot be made (read-only state directory...)
        return ToggleResult(False, False, f"{exc}; nothing was changed", 1)


def _execute(plan: TogglePlan, timeout: float, progress: Callable[[str], None], journal: Journal) -> ToggleResult:
    target = plan.target
    base = plan.journal_base()
    try:
        journal.record_intent(**base, result="intent", value=plan.new, previous=plan.old, pid=os.getpid())
    except OSError as exc:
        return ToggleResult(False, False, f"{exc}; nothing was changed", 1)
    since = time.monotonic()
    written = False
    try:
        with _signals_interrupt():
            try:
                write_track_value(target.path, plan.new)
            except OSError as exc:
                _record_quietly(journal, **base, result="failed", reason=str(exc))
                return ToggleResult(False, False, f"cannot write {target.track.file}: {exc.strerror or exc}", 1)
            written = True
            journal.record(**base, result="applied", value=plan.new, previous=plan.old,
                           priority_from=plan.state.effective_priority)
            want = plan.want
            outcome = wait_for(target, plan.listener, want, since, timeout, progress=progress)
    except Interrupted as exc:
        return _put_back(plan, journal, f"interrupted by {exc} before {plan.want} was seen",
                         128 + exc.signum, written)
    except KeyboardInterrupt:
        return _put_back(plan, journal, f"interrupted before {plan.want} was seen", 130, written)
    except OSError as exc:  # the journal could not record that the file was written
        return _put_back(plan, journal, f"{exc}", 1, written)
    if outcome.done:
        masters = ", ".join(f"{p.source} priority {p.priority}" for p in outcome.masters)
        message = f"done in {outcome.seconds:.1f} s: {plan.name} is {want}" + (
            f"; MASTER seen on the wire: {masters}" if plan.action == "demote" else ""
        )
        extra = _record_quietly(journal, **base, result="done", seconds=round(outcome.seconds, 2),
                                masters=[p.source for p in outcome.masters])
        return ToggleResult(True, False, message + extra, 0, outcome.seconds, outcome.seen)
    result = _put_back(plan, journal, f"not confirmed within {timeout:g} s", 124, True,
                       seen=outcome.seen)
    result.seconds = outcome.seconds
    return result


def _record_quietly(journal: Journal, **entry: Any) -> str:
    try:
        journal.record(**entry)
    except OSError as exc:
        return f" ({exc}: not journaled)"
    return ""


def _put_back(plan: TogglePlan, journal: Journal, why: str, status: int, written: bool,
              seen: list[str] | None = None) -> ToggleResult:
    """The track file back to its old value (the director's role as before); the line says so."""
    file = plan.target.track.file
    base = plan.journal_base()
    with _signals_held():
        if not written:
            note = _record_quietly(journal, **base, result="interrupted", reason=why)
            return ToggleResult(False, True, f"{why}: nothing was written; {file} holds {plan.old}{note}", status)
        try:
            write_track_value(plan.target.path, plan.old)
        except OSError as exc:
            note = _record_quietly(journal, **base, result="failed", reason=f"{why}; put back failed: {exc}")
            return ToggleResult(False, False, f"{why}; PUT BACK FAILED: cannot write {file} "
                                f"({exc.strerror or exc}): it still holds {plan.new}{note}", 1)
        result = "undone" if status == 124 else "interrupted"
        note = _record_quietly(journal, **base, result=result, reason=why, seen=seen or [])
    line = f"{why}; {file} put back to {plan.old}"
    if seen is not None:
        line += f". Seen: {seen[-1] if seen else 'nothing'}"
    return ToggleResult(False, True, line + note, status, 0.0, seen or [])


def write_track_value(path: Path, value: int) -> None:
    """A new file renamed over the old one, never a truncation in place: a link planted at the
    name (the file may sit in a shared directory) is replaced, not followed.  keepalived watches
    the directory with inotify and sees the rename, as for the durable drain's track files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, f"{value}\n".encode())


def add_track_file(instance_name: str | None, weight: int = -60, reload_timeout: float = 15.0, *,
                   policy: WritePolicy | None = None, actor: str = "cli", journal: Journal | None = None) -> str:
    """Add lvstui's track file to keepalived.conf and reload: a validated, atomic edit.

    The declaration goes just before the instance (keepalived resolves the name while it
    reads), a ``track_file { lvstui_maint }`` block inside it; the edited configuration
    must pass ``keepalived -t`` before the file is replaced (the previous one is kept as
    a backup); then keepalived reloads and creates the file with 0.  Returns the path written.
    Journaled: done, refused or failed (``ToggleError`` status 0, already set up, is not).
    """
    policy = policy or current()
    policy.check("vrrp setup", actor=actor, journal=journal, op="vrrp setup", instance=instance_name)
    journal = journal or policy.journal or Journal()
    try:
        written = _add_track_file(instance_name, weight, reload_timeout)
    except ToggleError as exc:
        if exc.status != 0:
            journal.record(op="vrrp setup", result="refused" if exc.status == 3 else "failed", reason=str(exc))
        raise
    journal.record(op="vrrp setup", result="done", file=written, track_file=SUGGESTED_FILE, weight=weight)
    return written


def _add_track_file(instance_name: str | None, weight: int, reload_timeout: float) -> str:
    if weight >= 0:
        raise ToggleError("--weight must be negative (it lowers the priority)", 2)
    try:
        find_target(instance_name)
        raise ToggleError("a usable track_file is already set up: nothing to add", 0)
    except ToggleError as exc:
        if exc.status != 3 or "has no track_file" not in str(exc):
            raise
    proc = local_keepalived()[0]
    try:  # one operator at a time per configuration, from the read to the reload (ops.lock)
        with held(config_lock_name(proc_path(proc.parent_pid, proc.config_file)), "vrrp setup"):
            return _write_track_file_setup(proc, instance_name, weight, reload_timeout)
    except Busy as exc:
        raise ToggleError(f"{exc}: nothing written", 3) from None


def _write_track_file_setup(proc: KeepalivedProcess, instance_name: str | None, weight: int,
                            reload_timeout: float) -> str:
    try:
        config = load(proc_path(proc.parent_pid, proc.config_file))
        view = build_view(config, proc.effective_config_id)
        instance = view.vrrp_instance(instance_name) if instance_name is not None else view.vrrp_instances[0]
        assert instance is not None
        if instance.track_files:
            raise ToggleError(
                f"instance {instance.name} already has a track_file block: add {SUGGESTED_NAME} to it by hand "
                f"(with the declaration below)\n\n{track_file_text(weight)}",
                3,
            )
        if any(t.name == SUGGESTED_NAME for t in view.track_files):
            raise ToggleError(
                f"a track_file named {SUGGESTED_NAME} exists but is not usable: fix it by hand", 3
            )
        config = edit.append_block(config, config.main, track_file_text(weight), before=instance)
        instance = build_view(config, proc.effective_config_id).vrrp_instance(instance.name)
        assert instance is not None
        config = edit.insert_block(config, instance, f"track_file {{\n    {SUGGESTED_NAME}\n}}\n")
        write_config(config, validate=validator(None, proc.effective_config_id))
    except KeepalivedConfigError as exc:
        raise ToggleError(f"nothing written: {exc}", 1) from None
    os.kill(proc.parent_pid, signal_number("RELOAD"))
    made = proc_path(proc.parent_pid, SUGGESTED_FILE)
    deadline = time.monotonic() + reload_timeout
    while not made.exists():
        if time.monotonic() > deadline:
            raise ToggleError(
                f"keepalived reloaded but did not create {SUGGESTED_FILE} within {reload_timeout:g} s", 1
            )
        time.sleep(0.2)
    return str(config.main)
