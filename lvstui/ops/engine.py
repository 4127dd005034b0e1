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
from typing import Any

from lvstui.backend import BackendError
from lvstui.model import Snapshot
from lvstui.ops.changes import Change, Director, Plan, Refused, scope
from lvstui.ops.journal import Journal, WeightMemory
from lvstui.ops.targets import InvalidInput


class ReadOnly(Refused):
    """lvstui runs --readonly: no change is made."""


class OperationFailed(Exception):
    """The kernel refused a step (the steps before it were undone)."""


class KeepalivedRefused(Refused):
    """keepalived manages the service and the change cannot be made durable (invalid or changed
    configuration, a group, a service not drained...): nothing is left changed."""


AUTO: Any = object()  # Operations(keepalived=AUTO): find the keepalived of this network namespace


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
                 eqt: Callable[[], int | None] = expire_quiescent_template, keepalived: Any = AUTO,
                 runtime_only: bool = False, track_dir: Path | None = None,
                 settle_seconds: float = 2.0) -> None:
        """``keepalived``: the :class:`~lvstui.keepalived.durable.KeepalivedSite` managing this
        director, None for none, AUTO to look for it.  ``runtime_only``: change the kernel only,
        even where keepalived manages the service (marked in the result and the journal)."""
        self.director = director
        self.readonly = readonly
        self.journal = journal or Journal()
        self.memory = memory or WeightMemory()
        self.actor = actor
        self._eqt = eqt
        self._keepalived = keepalived
        self.runtime_only = runtime_only
        self.track_dir = track_dir
        self.settle_seconds = settle_seconds

    def keepalived_site(self) -> Any:
        if self._keepalived is AUTO:
            from lvstui.keepalived.durable import find_site

            try:
                self._keepalived = find_site()
            except Exception:  # noqa: BLE001 - no psutil view of processes: act as without keepalived
                self._keepalived = None
        return self._keepalived

    def _read_for(self, change: Change) -> Snapshot:
        """Read what the change touches: its one service where the director can, else the whole table."""
        keys = scope(change)
        read_services = getattr(self.director, "read_services", None)
        if keys is not None and read_services is not None:
            return read_services(keys)  # type: ignore[no-any-return]
        return self.director.read()

    def _guard(self, change: Change) -> None:
        if self.readonly:
            self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="refused",
                                message="read-only mode")
            raise ReadOnly(f"{change.verb} refused: lvstui is running read-only")

    def plan(self, change: Change, snap: Snapshot | None = None, *, force: bool = False,
             runtime_only: bool | None = None, config: Any = None) -> Plan:
        """Validate against the current table and say what would change.  Never writes.

        Where keepalived manages the service, the plan also holds what makes it durable
        (``plan.durable``, validated with ``keepalived -t``), unless runtime-only.
        """
        self._guard(change)
        if snap is None:
            snap = self._read_for(change)
        try:
            memory = self.memory.all()
        except OSError as exc:
            raise Refused(str(exc)) from exc
        runtime_only = self.runtime_only if runtime_only is None else runtime_only
        site = self.keepalived_site()
        if site is None:
            return change.plan(snap, memory, self._eqt())
        from lvstui.keepalived import durable as d

        notes: list[str] = []
        unreadable = None
        force = force or bool(getattr(change, "force", False))
        try:
            if config is None:
                config = d.load(site.config_path)
            if change.verb in ("restore", "restore-host"):
                memory = _keepalived_weights(d, site, config, change, snap, memory, notes)
        except (d.ConfigError, d.DurableRefused) as exc:
            if not runtime_only:
                raise KeepalivedRefused(f"keepalived's configuration cannot be used: {exc}; nothing was "
                                        "changed (--runtime-only changes the kernel anyway)") from exc
            config, unreadable = None, exc
        try:
            plan = change.plan(snap, memory, self._eqt())
        except Refused:
            plan = _configured_only(d, site, config, change, snap)
            if plan is None:
                raise
        plan.warnings += notes
        if unreadable is not None:
            plan.runtime_only = True
            plan.warnings.append(f"RUNTIME ONLY: keepalived's configuration cannot be used ({unreadable}); "
                                 "keepalived may undo this change")
            return plan
        try:
            durable = d.plan_durable(site, change, plan.steps, snap, track_dir=self._track_dir(), force=force,
                                     config=config) if config is not None else None
        except (d.ConfigError, d.DurableRefused) as exc:
            if not runtime_only:
                raise KeepalivedRefused(f"{exc}; nothing was changed") from exc
            plan.runtime_only = True
            plan.warnings.append(f"RUNTIME ONLY: keepalived's side not planned ({exc})")
            return plan
        if durable is None:
            return plan
        if durable.blockers and not force:
            raise KeepalivedRefused("; ".join(durable.blockers) + ": refused (--force to do it anyway)")
        plan.warnings += durable.blockers
        if runtime_only:
            plan.runtime_only = True
            plan.warnings += [f"RUNTIME ONLY: {r}" for r in durable.reverts] or \
                ["RUNTIME ONLY: keepalived manages this service and may undo the change"]
            return plan
        try:
            d.validate_plan(durable)
        except d.DurableRefused as exc:
            raise KeepalivedRefused(f"{exc}; nothing was changed") from exc
        if durable.reload and site.parent_pid is not None:
            plan.warnings += _unloaded_edits(d, site, durable, force)
        if change.verb in ("restore", "restore-host", "weight") and plan.steps and site.parent_pid:
            _hold_failing_servers(site, plan)
        plan.warnings += durable.warnings
        plan.durable = durable
        return plan

    def _track_dir(self) -> Path:
        from lvstui.ops.journal import state_dir

        return self.track_dir or state_dir() / "keepalived"

    def apply(self, change: Change, plan: Plan | None = None, *, force: bool = False,
              runtime_only: bool | None = None) -> Outcome:
        """Apply ``change``.  A ``plan`` from an earlier preview is re-planned against a fresh read of
        the kernel, but keepalived's configuration stays the one the preview read: if the file
        changed on disk since, nothing is written and the kernel change is undone."""
        started = time.perf_counter()
        self._guard(change)
        try:
            # Always re-plan against a fresh read: the table may have changed since a preview.
            config = plan.durable.config if plan is not None and plan.durable is not None else None
            plan = self.plan(change, force=force, runtime_only=runtime_only, config=config)
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
        messages: list[str] = []
        extra: dict[str, Any] = {}
        if plan.durable is not None:
            from lvstui.keepalived import durable as d

            try:
                messages = d.apply_durable(plan.durable)
            except d.ReloadFailed as exc:  # the file is written: the kernel already matches it, keep both
                self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change),
                                    result="failed", steps=plan.lines(), message=f"keepalived: {exc}",
                                    keepalived=plan.durable.to_dict())
                raise OperationFailed(f"keepalived: {exc}") from exc
            except (d.ConfigError, d.DurableRefused, OSError) as exc:
                undo_errors = self._undo(applied)
                message = f"keepalived: {exc}; nothing was written for keepalived"
                message += ("; the kernel change was undone" if not undo_errors
                            else "; KERNEL UNDO FAILED: " + "; ".join(undo_errors))
                self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change),
                                    result="refused", steps=plan.lines(), message=message,
                                    keepalived=plan.durable.to_dict())
                raise KeepalivedRefused(message) from exc
            extra["keepalived"] = plan.durable.to_dict()
            if plan.durable.reload:
                time.sleep(self.settle_seconds)  # let keepalived re-read before the read-back below
        if plan.runtime_only:
            extra["runtime_only"] = True
            messages.append("RUNTIME ONLY: the kernel was changed, keepalived's configuration was not")
        snap = self._read_for(change)
        problems = [p for p in (s.check(snap) for s in plan.steps) if p]
        if problems:
            message = "applied, but the kernel reads back differently: " + "; ".join(problems)
            self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="mismatch",
                                steps=plan.lines(), message=message, **extra)
            raise OperationFailed(message)
        if plan.remember or plan.forget:
            # Remember only weights not already remembered: a second drain must not forget the first one's.
            known = self.memory.all()
            remember = {k: v for k, v in plan.remember.items() if f"{k[0]} {k[1]}" not in known}
            self.memory.update(remember, plan.forget)
        seconds = time.perf_counter() - started
        self.journal.record(actor=self.actor, verb=change.verb, change=_describe(change), result="applied",
                            steps=plan.lines(), warnings=plan.warnings, ms=round(seconds * 1000, 2), **extra)
        return Outcome(plan=plan, applied=len(applied), snapshot=snap, seconds=seconds, messages=messages)

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


def _keepalived_weights(d: Any, site: Any, config: Any, change: Change, snap: Snapshot,
                        memory: dict[str, int], notes: list[str]) -> dict[str, int]:
    """For restore under keepalived: the weight to restore is keepalived's configured one (the one
    it sets when the drain's FILE_CHECK recovers), whatever lvstui remembered."""
    view = d.build_view(config, site.config_id)
    memory = dict(memory)
    address = getattr(change, "address", None)
    for vs in snap.virtual_services:
        for rs in vs.real_servers:
            if address is not None and rs.address != address:
                continue
            target = None if address is not None else \
                (change.service.id, change.server.id)  # type: ignore[union-attr]
            if target is not None and (vs.id, rs.id) != target:
                continue
            conf_vs = d.managed_service(view, vs.id, vs.protocol, vs.address, vs.port, vs.fwmark)
            conf_rs = d.managed_server(conf_vs, rs.address, rs.port) if conf_vs is not None else None
            if conf_rs is None:
                continue
            key = f"{vs.id} {rs.id}"
            if key in memory and memory[key] != conf_rs.weight:
                notes.append(f"{rs.id} in {vs.id}: restoring keepalived's weight {conf_rs.weight} "
                             f"({conf_rs.source}), not the remembered {memory[key]}")
            memory[key] = conf_rs.weight
    return memory


def _unloaded_edits(d: Any, site: Any, durable: Any, force: bool) -> list[str]:
    """A reload applies the whole file: refuse (unless forced) when it holds edits keepalived has not
    loaded yet, which lvstui's reload would apply along with its own."""
    from lvstui.keepalived.pending import running_differences

    found, error = running_differences(site.parent_pid, d.build_view(durable.config, site.config_id))
    if error is not None:
        return [f"could not compare the file with what keepalived runs ({error})"]
    if found and not force:
        raise KeepalivedRefused(
            f"{site.config_path.name} holds edits keepalived has not loaded: " + "; ".join(found)
            + ". lvstui's reload would apply them too: check them and reload keepalived first, or --force")
    return [f"the reload also applies: {line}" for line in found]


def _hold_failing_servers(site: Any, plan: Plan) -> None:
    """Restore or weight under keepalived: a real server whose other checkers fail stays at weight 0
    (keepalived gives it its weight when they pass; a drain's track file now says 0).  Setting the
    weight in the kernel would send clients to a server keepalived knows is down, and nothing would
    undo it."""
    from lvstui.keepalived.runtime import request_state

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
            if vs_state is not None and step.rs is not None else None
        failing = [c.type for c in rs_state.checkers if not c.up and "FILE" not in c.type.upper()] \
            if rs_state is not None else []
        if failing and step.rs is not None:
            plan.warnings.append(f"{step.rs.id} in {step.vs.id} fails its {', '.join(failing)}: left at "
                                 f"weight 0; keepalived gives it weight {step.rs.weight} when the check "
                                 "passes")
        else:
            kept.append(step)
    plan.steps = kept


def _configured_only(d: Any, site: Any, config: Any, change: Change, snap: Snapshot) -> Plan | None:
    """drain, restore or weight of a real server keepalived took out of IPVS (a failed check, no
    inhibit_on_failure): nothing to change in the kernel, but keepalived's side still applies (a
    drained server then stays out when its check passes again)."""
    if config is None or change.verb not in ("drain", "restore", "weight"):
        return None
    vs = snap.service(change.service.id)  # type: ignore[union-attr]
    server = change.server  # type: ignore[union-attr]
    if vs is None or vs.real_server(server.id) is not None:
        return None
    conf_vs = d.managed_service(d.build_view(config, site.config_id), vs.id, vs.protocol, vs.address, vs.port,
                                vs.fwmark)
    if conf_vs is None or d.managed_server(conf_vs, server.address, server.port) is None:
        return None
    plan = Plan(f"{change.verb} {server.id} in {vs.id}: keepalived's configuration and track file only")
    plan.warnings.append(f"{server.id} is not in the kernel's {vs.id} (keepalived took it out after a failed "
                         "check): nothing to change there")
    return plan
