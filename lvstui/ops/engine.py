"""The one path by which lvstui changes a director: plan, guard, apply, read back, journal.

The TUI and the CLI both call :class:`Operations`; neither talks to netlink.
A change is applied as the steps its plan lists; if one fails, the steps
already applied are undone in reverse order, so nothing is half-applied.
"""

from __future__ import annotations

import errno
import functools
import os
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec

from lvstui.backend import BackendError
from lvstui.keepalived.errors import KeepalivedConfigError
from lvstui.keepalived.loader import KeepalivedConfig, load
from lvstui.keepalived.pending import running_differences
from lvstui.keepalived.runtime import request_state
from lvstui.keepalived.site import KeepalivedSite, find_site, managed_server, managed_service
from lvstui.keepalived.view import build_view
from lvstui.model import Snapshot
from lvstui.ops import faults
from lvstui.ops import keepalived as durable
from lvstui.ops.changes import (
    TABLE_WIDE,
    Change,
    DaemonStep,
    Director,
    Drain,
    LoadTable,
    Plan,
    Refused,
    Restore,
    RestoreHost,
    ServiceReader,
    SetWeight,
    Step,
    SysctlStep,
    TimeoutsStep,
    ZeroStep,
    forced,
    scope,
)
from lvstui.ops.files import write_atomic
from lvstui.ops.journal import Journal, StateError, WeightMemory, state_dir
from lvstui.ops.lock import DIRECTOR, Busy, config_lock_name, held
from lvstui.ops.policy import ReadOnly, WritePolicy, current
from lvstui.ops.record import change_record, describe_change, steps_record
from lvstui.ops.recover import INTENT, pending_intents, reconcile
from lvstui.ops.targets import InvalidInput

__all__ = ["AUTO", "DirectorBusy", "KeepalivedRefused", "OperationFailed", "Operations", "Outcome", "ReadOnly",
           "Unrecorded", "expire_quiescent_template"]


class OperationFailed(Exception):
    """The kernel refused a step (the steps before it were undone)."""


class Unrecorded(OperationFailed):
    """The change is in place but lvstui could not record it (journal or remembered weights
    unwritable): the message says what holds; its journal intent is reconciled later."""


class DirectorBusy(Refused):
    """Another lvstui is changing this director: nothing was changed."""


class KeepalivedRefused(Refused):
    """keepalived manages the service and the change cannot be made durable (invalid or changed
    configuration, a group, a service not drained...): nothing is left changed."""


class _Auto:
    """The type of :data:`AUTO`."""


AUTO: Final = _Auto()  # Operations(keepalived=AUTO): find the keepalived of this network namespace


@dataclass
class Outcome:
    plan: Plan
    applied: int
    snapshot: Snapshot
    seconds: float
    messages: list[str] = field(default_factory=list)
    entry_id: str | None = None  # the journal entry of the change (what ``lvstui undo ID`` names)
    recovered: list[str] = field(default_factory=list)  # intents of killed lvstuis reconciled first


SYSCTL_DIR = Path("/proc/sys/net/ipv4/vs")  # per network namespace, like the IPVS table


def expire_quiescent_template(proc: Path = SYSCTL_DIR / "expire_quiescent_template") -> int | None:
    try:
        return int(proc.read_text().strip())
    except (OSError, ValueError):
        return None


_P = ParamSpec("_P")


def _keepalived_locked(apply: Callable[Concatenate[Operations, Change, _P], Outcome]
                       ) -> Callable[Concatenate[Operations, Change, _P], Outcome]:
    """:meth:`Operations.apply` holds the lock of keepalived's configuration across its plan, write
    and reload (see :meth:`Operations.keepalived_lock`); a second operator is refused, journaled."""

    @functools.wraps(apply)
    def locked(self: Operations, change: Change, /, *args: _P.args, **kwargs: _P.kwargs) -> Outcome:
        runtime_only = kwargs.get("runtime_only")
        try:
            lock = self.keepalived_lock(change, runtime_only if isinstance(runtime_only, bool) else None)
            with lock:
                return apply(self, change, *args, **kwargs)
        except Busy as exc:
            extra = kwargs.get("journal_extra")
            self._record_quietly(change, "refused", message=str(exc), **(extra if isinstance(extra, dict) else {}))
            raise KeepalivedRefused(f"{exc}: nothing was changed") from exc

    return locked


@dataclass(frozen=True)
class _SysctlApplied:
    """A written sysctl in the list of applied steps, so that a later failure writes it back."""

    ops: Operations
    sysctl: SysctlStep

    def describe(self) -> str:
        return self.sysctl.describe()

    def undo(self, director: Director) -> None:
        self.ops._write_sysctl(self.sysctl.name, self.sysctl.before)


_Applied = Step | TimeoutsStep | ZeroStep | DaemonStep | _SysctlApplied  # what a failure undoes


def _sysctl_record(sysctls: list[SysctlStep]) -> dict[str, Any]:
    """The journal's ``sysctl`` field: each written sysctl, before and after (what undo checks)."""
    if not sysctls:
        return {}
    return {"sysctl": [{"name": s.name, "before": s.before, "after": s.value} for s in sysctls]}


class Operations:
    def __init__(self, director: Director, *, readonly: bool = False, journal: Journal | None = None,
                 memory: WeightMemory | None = None, actor: str = "cli",
                 eqt: Callable[[], int | None] | None = None,
                 keepalived: KeepalivedSite | _Auto | None = AUTO,
                 runtime_only: bool = False, track_dir: Path | None = None,
                 settle_seconds: float = 2.0, policy: WritePolicy | None = None,
                 sysctl_dir: Path = SYSCTL_DIR, locks: Path | None = None) -> None:
        """``keepalived``: the :class:`~lvstui.keepalived.site.KeepalivedSite` managing this
        director, None for none, AUTO to look for it.  ``runtime_only``: change the kernel only,
        even where keepalived manages the service (marked in the result and the journal).
        ``policy``: the read-only policy (default: the process's, :func:`lvstui.ops.policy.current`);
        ``readonly=True`` makes this one read-only whatever the process's policy says.
        ``sysctl_dir``: where the IPVS sysctls are written (``eqt`` reads one from there by default).
        ``locks``: the directory of the director and keepalived locks (default: the state directory's)."""
        self.director = director
        base = policy if policy is not None else current()
        self.policy = WritePolicy(readonly=True, journal=base.journal) if readonly and not base.readonly else base
        self.journal = journal or Journal()
        self.memory = memory or WeightMemory()
        self.actor = actor
        self.sysctl_dir = sysctl_dir
        self._eqt = eqt or (lambda: expire_quiescent_template(sysctl_dir / "expire_quiescent_template"))
        self._keepalived = keepalived
        self.runtime_only = runtime_only
        self.track_dir = track_dir
        self.settle_seconds = settle_seconds
        self.locks = locks

    @property
    def readonly(self) -> bool:
        return self.policy.readonly

    def expire_quiescent(self) -> int | None:
        """net.ipv4.vs.expire_quiescent_template as the plans see it (None: not readable here)."""
        return self._eqt()

    def keepalived_site(self) -> KeepalivedSite | None:
        if isinstance(self._keepalived, _Auto):
            try:
                self._keepalived = find_site()
            except Exception:  # noqa: BLE001 - no psutil view of processes: act as without keepalived
                self._keepalived = None
        return self._keepalived

    def read_for(self, change: Change) -> Snapshot:
        """Read what the change touches: its one service where the director can, else the whole table."""
        keys = scope(change)
        if keys is not None and isinstance(self.director, ServiceReader):
            return self.director.read_services(keys)
        return self.director.read()

    _read_for = read_for

    def guard(self, change: Change) -> None:
        """Refuse (journaled) when read-only: called before anything is read or written."""
        self.policy.check(change.verb, actor=self.actor, journal=self.journal, change=describe_change(change))

    _guard = guard

    def plan(self, change: Change, snap: Snapshot | None = None, *, force: bool = False,
             runtime_only: bool | None = None, config: KeepalivedConfig | None = None) -> Plan:
        """Validate against the current table and say what would change.  Never writes.

        Where keepalived manages the service, the plan also holds what makes it durable
        (``plan.durable``, validated with ``keepalived -t``), unless runtime-only.
        """
        self.guard(change)
        if snap is None:
            snap = self.read_for(change)
        try:
            memory = self.memory.all()
        except OSError as exc:
            raise Refused(str(exc)) from exc
        runtime_only = self.runtime_only if runtime_only is None else runtime_only
        site = self.keepalived_site()
        if site is None or isinstance(change, TABLE_WIDE):  # keepalived has no part in IPVS-wide settings
            table_plan = change.plan(snap, memory, self._eqt())
            if site is not None and isinstance(change, LoadTable) and table_plan.steps:
                table_plan.warnings.append(f"keepalived runs here ({site.config_path}): it puts back the services "
                                           "it manages at its next checker transition or reload")
            return table_plan
        notes: list[str] = []
        unreadable: Exception | None = None
        force = force or forced(change)
        try:
            if config is None:
                config = load(site.config_path)
            elif not runtime_only:
                _refuse_if_changed(config)
            if isinstance(change, (Restore, RestoreHost)):
                memory = _keepalived_weights(site, config, change, snap, memory, notes)
        except (KeepalivedConfigError, durable.DurableRefused) as exc:
            if not runtime_only:
                raise KeepalivedRefused(f"keepalived's configuration cannot be used: {exc}; nothing was "
                                        "changed (--runtime-only changes the kernel anyway)") from exc
            config, unreadable = None, exc
        try:
            plan = change.plan(snap, memory, self._eqt())
        except Refused:
            configured = _configured_only(site, config, change, snap)
            if configured is None:
                raise
            plan = configured
        plan.warnings += notes
        if unreadable is not None:
            plan.runtime_only = True
            plan.warnings.append(f"RUNTIME ONLY: keepalived's configuration cannot be used ({unreadable}); "
                                 "keepalived may undo this change")
            return plan
        try:
            kept = durable.plan_durable(site, change, plan.steps, snap, track_dir=self._track_dir(), force=force,
                                        config=config) if config is not None else None
        except (KeepalivedConfigError, durable.DurableRefused) as exc:
            if not runtime_only:
                raise KeepalivedRefused(f"{exc}; nothing was changed") from exc
            plan.runtime_only = True
            plan.warnings.append(f"RUNTIME ONLY: keepalived's side not planned ({exc})")
            return plan
        if kept is None:
            return plan
        if kept.blockers and not force:
            raise KeepalivedRefused("; ".join(kept.blockers) + ": refused (--force to do it anyway)")
        plan.warnings += kept.blockers
        if runtime_only:
            plan.runtime_only = True
            plan.warnings += [f"RUNTIME ONLY: {r}" for r in kept.reverts] or \
                ["RUNTIME ONLY: keepalived manages this service and may undo the change"]
            return plan
        try:
            durable.validate_plan(kept)
        except durable.DurableRefused as exc:
            raise KeepalivedRefused(f"{exc}; nothing was changed") from exc
        if kept.reload and site.parent_pid is not None:
            plan.warnings += _unloaded_edits(site, kept, force)
        if isinstance(change, (Restore, RestoreHost, SetWeight)) and plan.steps and site.parent_pid:
            _hold_failing_servers(site, plan)
        plan.warnings += kept.warnings
        plan.durable = kept
        return plan

    def keepalived_lock(self, change: Change, runtime_only: bool | None = None) -> AbstractContextManager[None]:
        """The lock of keepalived's configuration (keyed by its real path) for a change made durable
        there: held from the re-plan to the read-back, so another lvstui cannot write or reload
        between our plan and our write.  Raises :class:`~lvstui.ops.lock.Busy` when held elsewhere."""
        site = None if self.readonly else self.keepalived_site()
        if site is None or (self.runtime_only if runtime_only is None else runtime_only):
            return nullcontext()
        what = " ".join(str(v) for k, v in describe_change(change).items() if k in ("service", "server", "address"))
        return held(config_lock_name(site.config_path), f"{change.verb} {what}".strip(), directory=self.locks)

    def director_lock(self, change: Change) -> AbstractContextManager[None]:
        """The director lock (:data:`lvstui.ops.lock.DIRECTOR`) as :meth:`apply` takes it for *change*
        (re-entrant: a caller holding it across more than one apply, as the pair's does, is not refused
        by its own apply).  Raises :class:`~lvstui.ops.lock.Busy` when another operator holds it."""
        return held(DIRECTOR, f"{change.verb} {_what(change)}", directory=self.locks)

    def _track_dir(self) -> Path:
        return self.track_dir or state_dir() / "keepalived"

    def _record(self, change: Change, result: str, **fields: Any) -> dict[str, Any]:
        return self.journal.record(actor=self.actor, verb=change.verb, change=describe_change(change),
                                   result=result, **fields)

    @_keepalived_locked
    def apply(self, change: Change, plan: Plan | None = None, *, force: bool = False,
              runtime_only: bool | None = None, journal_extra: dict[str, Any] | None = None) -> Outcome:
        """Apply ``change``.  A ``plan`` from an earlier preview is re-planned against a fresh read of
        the kernel, but keepalived's configuration stays the one the preview read: if the file
        changed on disk since, nothing is written and the kernel change is undone.
        ``journal_extra``: more fields for the journal entries (``undo_of`` for an undo).

        Held under the director lock (:data:`lvstui.ops.lock.DIRECTOR`; another operator's change
        is refused with :class:`DirectorBusy`, nothing changed).  Written ahead: the journal's
        intent and the weights a drain remembers are on disk before the kernel is touched (if
        they cannot be written, nothing is changed); the outcome after.  If the outcome cannot
        be recorded, a kernel-only change is undone (:class:`OperationFailed`); a change that
        reloaded keepalived stays and :class:`Unrecorded` says so.  An intent left without an
        outcome by a killed lvstui is reconciled first (:mod:`lvstui.ops.recover`)."""
        started = time.perf_counter()
        extra: dict[str, Any] = dict(journal_extra or {})
        self.guard(change)
        with ExitStack() as stack:
            try:
                stack.enter_context(self.director_lock(change))
            except Busy as exc:
                self._record_quietly(change, "refused", message=str(exc), **extra)
                raise DirectorBusy(f"{exc}; nothing was changed") from exc
            except OSError as exc:  # the lock cannot be made (read-only state directory...)
                raise OperationFailed(f"{exc}; nothing was changed") from exc
            try:
                recovered = self._recover()
            except StateError as exc:
                raise OperationFailed(f"{exc}; nothing was changed") from exc
            outcome = self._apply_locked(change, plan, force, runtime_only, extra, started)
        outcome.recovered = recovered
        return outcome

    def recover(self) -> list[str]:
        """Reconcile the intents a killed lvstui left without an outcome (under the director lock);
        one line each.  Raises :class:`DirectorBusy`, or :class:`StateError` (journal unwritable)."""
        try:
            with held(DIRECTOR, "recover interrupted changes", directory=self.locks):
                return self._recover()
        except Busy as exc:
            raise DirectorBusy(f"{exc}; nothing was changed") from exc

    def _recover(self) -> list[str]:
        return [reconcile(intent, self.director, self.journal, self.memory, self.actor)
                for intent in pending_intents(self.journal)]

    def _record_quietly(self, change: Change, result: str, **fields: Any) -> str:
        """Record an outcome; '' if recorded, else what to tell the operator about the journal."""
        try:
            self._record(change, result, **fields)
        except OSError as exc:
            return f" ({exc}: not recorded)"
        return ""

    def _apply_locked(self, change: Change, plan: Plan | None, force: bool, runtime_only: bool | None,
                      extra: dict[str, Any], started: float) -> Outcome:
        try:
            # Always re-plan against a fresh read: the table may have changed since a preview.
            config = plan.durable.config if plan is not None and plan.durable is not None else None
            plan = self.plan(change, force=force, runtime_only=runtime_only, config=config)
        except (Refused, InvalidInput) as exc:
            note = self._record_quietly(change, "refused", message=str(exc), **extra)
            if note:
                raise type(exc)(f"{exc}{note}") from exc
            raise
        # Written ahead: what is about to be done, before anything is.
        try:
            known = self.memory.all()
        except OSError as exc:
            raise OperationFailed(f"{exc}; nothing was changed") from exc
        # Remember only weights not already remembered: a second drain must not forget the first one's.
        remember = {k: v for k, v in plan.remember.items() if f"{k[0]} {k[1]}" not in known}
        try:
            intent = self.journal.record_intent(
                actor=self.actor, verb=change.verb, change=describe_change(change), result=INTENT,
                steps=plan.lines(), kernel=steps_record(plan.steps), record=change_record(change), pid=os.getpid(),
                remember={f"{k[0]} {k[1]}": v for k, v in remember.items()},
                forget=[f"{k[0]} {k[1]}" for k in plan.forget],
                keepalived=plan.durable.to_dict() if plan.durable is not None else None, **extra)
        except OSError as exc:
            raise OperationFailed(f"{exc}; nothing was changed") from exc
        extra["intent"] = intent["id"]
        if remember:
            try:
                remember = self.memory.update(remember, [], only_new=True)
            except (OSError, Busy) as exc:
                message = f"{exc}; nothing was changed"
                raise OperationFailed(message + self._record_quietly(change, "failed", message=message,
                                                                     **extra)) from exc
        applied: list[_Applied] = []
        try:
            for step in plan.steps:
                faults.point("kernel")
                step.apply(self.director)
                applied.append(step)
            for setting in plan.config:
                setting.apply(self.director)
                applied.append(setting)
            for sysctl in plan.sysctls:
                self._write_sysctl(sysctl.name, sysctl.value)
                applied.append(_SysctlApplied(self, sysctl))
        except (OSError, BackendError) as exc:
            failed = plan.lines()[len(applied)]
            undo_errors = self._undo(applied)
            message = f"the kernel refused `{failed}`: {_reason(exc)}"
            if applied:
                message += ("; undone: " + "; ".join(s.describe() for s in reversed(applied))
                            if not undo_errors else "; UNDO FAILED: " + "; ".join(undo_errors))
            if not undo_errors:
                message += "; nothing was changed"
            if not undo_errors:
                message += self._forget_remembered(remember)
            message += self._record_quietly(change, "failed", steps=plan.lines(), message=message, **extra)
            raise OperationFailed(message) from exc
        messages: list[str] = []
        if plan.durable is not None:
            try:
                messages = durable.apply_durable(plan.durable)
            except durable.ReloadFailed as exc:  # the file is written: the kernel already matches it, keep both
                message = f"keepalived: {exc}"
                message += self._record_quietly(change, "failed", steps=plan.lines(), message=message,
                                                keepalived=plan.durable.to_dict(), **extra)
                raise OperationFailed(message) from exc
            except (KeepalivedConfigError, durable.DurableRefused, OSError) as exc:
                undo_errors = self._undo(applied)
                message = f"keepalived: {exc}; nothing was written for keepalived"
                message += ("; the kernel change was undone" if not undo_errors
                            else "; KERNEL UNDO FAILED: " + "; ".join(undo_errors))
                if not undo_errors:
                    message += self._forget_remembered(remember)
                message += self._record_quietly(change, "refused", steps=plan.lines(), message=message,
                                                keepalived=plan.durable.to_dict(), **extra)
                raise KeepalivedRefused(message) from exc
            extra["keepalived"] = plan.durable.to_dict()
            if plan.durable.reload:
                time.sleep(self.settle_seconds)  # let keepalived re-read before the read-back below
        if plan.runtime_only:
            extra["runtime_only"] = True
            messages.append("RUNTIME ONLY: the kernel was changed, keepalived's configuration was not")
        snap = self.read_for(change)
        problems = [p for p in (s.check(snap) for s in plan.steps) if p]
        problems += [p for p in (s.check(self.director) for s in plan.config) if p]
        problems += [p for p in (self._check_sysctl(s) for s in plan.sysctls) if p]
        if problems:
            message = "applied, but the kernel reads back differently: " + "; ".join(problems)
            message += self._record_quietly(change, "mismatch", steps=plan.lines(), message=message, **extra)
            raise OperationFailed(message)
        seconds = time.perf_counter() - started
        forgotten = {k: known[f"{k[0]} {k[1]}"] for k in plan.forget if f"{k[0]} {k[1]}" in known}
        try:
            if forgotten:
                self.memory.update({}, list(forgotten))
        except (OSError, Busy) as exc:
            raise self._unrecorded(change, plan, applied, remember, {}, exc, extra) from exc
        try:
            entry = self._record(change, "applied", steps=plan.lines(), warnings=plan.warnings,
                                 ms=round(seconds * 1000, 2), record=change_record(change),
                                 kernel=steps_record(plan.steps), **_sysctl_record(plan.sysctls),
                                 **{k: v for s in plan.config for k, v in s.record().items()}, **plan.record,
                                 **extra)
        except (OSError, Busy) as exc:
            raise self._unrecorded(change, plan, applied, remember, forgotten, exc, extra) from exc
        return Outcome(plan=plan, applied=len(applied), snapshot=snap, seconds=seconds, messages=messages,
                       entry_id=entry.get("id"))

    def _forget_remembered(self, remember: dict[tuple[str, str], int]) -> str:
        """Take back the weights this change remembered before its kernel steps (they were undone)."""
        if not remember:
            return ""
        try:
            self.memory.forget_if(remember)
        except (OSError, Busy) as exc:
            return f"; the weight remembered for it stays remembered ({exc})"
        return ""

    def _unrecorded(self, change: Change, plan: Plan, applied: list[_Applied], remember: dict[tuple[str, str], int],
                    forgotten: dict[tuple[str, str], int], exc: Exception, extra: dict[str, Any]) -> OperationFailed:
        """The change is made but its outcome (or the weights it forgets) cannot be written: undo a
        kernel-only change; a change keepalived has reloaded stays, and :class:`Unrecorded` says so."""
        what = f"{change.verb} was made but could not be recorded ({exc})"
        pending = (f"journal intent {extra['intent']} stays pending: the next lvstui operation (or "
                   "`lvstui undo`) reconciles it")
        if plan.durable is not None and plan.durable.reload:
            return Unrecorded(f"{what}: it stays in place (keepalived was reloaded with it); {pending}")
        undo_errors = self._undo(applied)
        if undo_errors:
            return Unrecorded(f"{what}; undoing it failed ({'; '.join(undo_errors)}): the kernel holds the "
                              f"change; {pending}")
        if plan.durable is not None:
            for write in reversed(plan.durable.track_writes):
                try:
                    if write.before is None:
                        write.path.unlink(missing_ok=True)
                    else:
                        write_atomic(write.path, write.before.encode())
                except OSError as err:
                    return Unrecorded(f"{what}; the kernel change was undone but {write.path} could not be put "
                                      f"back ({err.strerror or err}); {pending}")
        message = f"{what}: it was undone, nothing is changed" + self._forget_remembered(remember)
        if forgotten:
            try:
                self.memory.update(forgotten, [])
            except (OSError, Busy) as err:
                message += f"; the remembered weights it forgot could not be put back ({err})"
        message += self._record_quietly(change, "undone", steps=plan.lines(), message=message, **extra)
        return OperationFailed(message)

    def _write_sysctl(self, name: str, value: int) -> None:
        with open(self.sysctl_dir / name, "w", encoding="ascii") as handle:  # /proc/sys: one write, no temp file
            handle.write(f"{value}\n")

    def _check_sysctl(self, sysctl: SysctlStep) -> str | None:
        try:
            now = (self.sysctl_dir / sysctl.name).read_text().strip()
        except OSError as exc:
            return f"net.ipv4.vs.{sysctl.name} cannot be read back: {exc.strerror or exc}"
        return None if now == str(sysctl.value) else f"net.ipv4.vs.{sysctl.name} reads back as {now}"

    def _undo(self, applied: list[_Applied]) -> list[str]:
        errors = []
        for step in reversed(applied):
            try:
                step.undo(self.director)
            except (OSError, BackendError) as exc:
                errors.append(f"{step.describe()}: {_reason(exc)}")
        return errors


_REASONS = {
    errno.EEXIST: "it already exists",
    errno.ESRCH: "no such service",
    errno.ENOENT: "not found (for a scheduler: the kernel has no such scheduler module)",
    errno.EINVAL: "invalid argument",
    errno.EPERM: "permission denied (needs root / CAP_NET_ADMIN)",
    errno.EBUSY: "busy",
}


def _what(change: Change) -> str:
    return " ".join(str(v) for k, v in describe_change(change).items() if k in ("service", "server", "address"))


def _reason(exc: BaseException) -> str:
    code = getattr(exc, "errno", None)  # OSError and BackendError carry one; others may not
    if code is None:
        return str(exc)
    return _REASONS.get(code) or getattr(exc, "strerror", None) or str(exc)


def _keepalived_weights(site: KeepalivedSite, config: KeepalivedConfig, change: Restore | RestoreHost,
                        snap: Snapshot, memory: dict[str, int], notes: list[str]) -> dict[str, int]:
    """For restore under keepalived: the weight to restore is keepalived's configured one (the one
    it sets when the drain's FILE_CHECK recovers), whatever lvstui remembered."""
    view = build_view(config, site.config_id)
    memory = dict(memory)
    for vs in snap.virtual_services:
        for rs in vs.real_servers:
            if isinstance(change, RestoreHost):
                if rs.address != change.address:
                    continue
            elif (vs.id, rs.id) != (change.service.id, change.server.id):
                continue
            conf_vs = managed_service(view, vs.id, vs.protocol, vs.address, vs.port, vs.fwmark)
            conf_rs = managed_server(conf_vs, rs.address, rs.port) if conf_vs is not None else None
            if conf_rs is None:
                continue
            key = f"{vs.id} {rs.id}"
            if key in memory and memory[key] != conf_rs.weight:
                notes.append(f"{rs.id} in {vs.id}: restoring keepalived's weight {conf_rs.weight} "
                             f"({conf_rs.source}), not the remembered {memory[key]}")
            memory[key] = conf_rs.weight
    return memory


def _refuse_if_changed(config: KeepalivedConfig) -> None:
    """A plan made from an earlier read (a preview) must not overwrite what another operator wrote
    since: every file it read must still hold the same bytes."""
    changed = durable.changed_since(config)
    if changed:
        raise KeepalivedRefused(f"{', '.join(str(p) for p in changed)} changed since the preview (another "
                                "operator or an editor wrote it): nothing was changed; preview the change again")


def _unloaded_edits(site: KeepalivedSite, kept: durable.DurablePlan, force: bool) -> list[str]:
    """A reload applies the whole file: refuse (unless forced) when it holds edits keepalived has not
    loaded yet, which lvstui's reload would apply along with its own."""
    assert site.parent_pid is not None
    found, error = running_differences(site.parent_pid, build_view(kept.config, site.config_id))
    if error is not None:
        return [f"could not compare the file with what keepalived runs ({error})"]
    if found and not force:
        raise KeepalivedRefused(
            f"{site.config_path.name} holds edits keepalived has not loaded: " + "; ".join(found)
            + ". lvstui's reload would apply them too: check them and reload keepalived first, or --force")
    return [f"the reload also applies: {line}" for line in found]


def _hold_failing_servers(site: KeepalivedSite, plan: Plan) -> None:
    """Restore or weight under keepalived: a real server whose other checkers fail stays at weight 0
    (keepalived gives it its weight when they pass; a drain's track file now says 0).  Setting the
    weight in the kernel would send clients to a server keepalived knows is down, and nothing would
    undo it."""
    assert site.parent_pid is not None
    state = request_state(site.parent_pid, want_vrrp=False, timeout=3.0)
    if state.errors:
        plan.warnings.append(f"could not ask keepalived whether the real servers pass their checks "
                             f"({'; '.join(state.errors)})")
        return
    by_key = {vs.key: vs for vs in state.servers}
    kept = []
    for step in plan.steps:
        if step.rs is None or step.rs.weight == 0:
            kept.append(step)
            continue
        vs_state = by_key.get(step.vs.id)
        rs_state = next((r for r in vs_state.real_servers if r.key == step.rs.id), None) \
            if vs_state is not None else None
        failing = [c.type for c in rs_state.checkers if not c.up and "FILE" not in c.type.upper()] \
            if rs_state is not None else []
        if failing:
            plan.warnings.append(f"{step.rs.id} in {step.vs.id} fails its {', '.join(failing)}: left at "
                                 f"weight 0; keepalived gives it weight {step.rs.weight} when the check "
                                 "passes")
        else:
            kept.append(step)
    plan.steps = kept


def _configured_only(site: KeepalivedSite, config: KeepalivedConfig | None, change: Change,
                     snap: Snapshot) -> Plan | None:
    """drain, restore or weight of a real server keepalived took out of IPVS (a failed check, no
    inhibit_on_failure): nothing to change in the kernel, but keepalived's side still applies (a
    drained server then stays out when its check passes again)."""
    if config is None or not isinstance(change, (Drain, Restore, SetWeight)):
        return None
    vs = snap.service(change.service.id)
    server = change.server
    if vs is None or vs.real_server(server.id) is not None:
        return None
    conf_vs = managed_service(build_view(config, site.config_id), vs.id, vs.protocol, vs.address, vs.port,
                              vs.fwmark)
    if conf_vs is None or managed_server(conf_vs, server.address, server.port) is None:
        return None
    plan = Plan(f"{change.verb} {server.id} in {vs.id}: keepalived's configuration and track file only")
    plan.warnings.append(f"{server.id} is not in the kernel's {vs.id} (keepalived took it out after a failed "
                         "check): nothing to change there")
    return plan
