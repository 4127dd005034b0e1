"""The wizards' flow shared by the CLI and the TUI: connect, build, preview, apply.

Nothing here prompts: questions (accept a host key?) are callbacks, and the
connection is made by a *connect* function (``ssh_connector`` for real hosts)
so the same flow runs over any :class:`~lvstui.setup.runner.Runner`.

Applying and undoing start, refuse and record through the operations layer: the read-only
policy (:mod:`lvstui.ops.policy`) is asked first (``--readonly`` refuses, journaled, whichever
interface called), and each host's run is recorded in lvstui's local journal (the remote
plan/apply/undo and its per-host journal stay in :mod:`lvstui.setup.plan`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from lvstui.ops.journal import Journal
from lvstui.ops.policy import WritePolicy, current
from lvstui.setup import director as director_mod
from lvstui.setup import realserver as realserver_mod
from lvstui.setup.plan import (
    ApplyResult,
    PlanPreview,
    Progress,
    SetupPlan,
    Status,
    StepReport,
    read_journal,
    undo_journal,
)
from lvstui.setup.runner import Runner, RunnerError

__all__ = [
    "Connector",
    "HostPlan",
    "UndoTarget",
    "apply_all",
    "check_allowed",
    "close_all",
    "prepare_directors",
    "prepare_realservers",
    "prepare_undo",
    "ssh_connector",
    "undo_all",
    "undo_applied",
]

Connector = Callable[[str], Runner]


def ssh_connector(options: Any, confirm_host_key: Callable[[str, str, str], bool] | None = None) -> Connector:
    def connect(target: str) -> Runner:
        from lvstui.setup.ssh import SshRunner

        runner = SshRunner(target, options, confirm_host_key)
        runner.connect()
        return runner
    return connect


@dataclass
class HostPlan:
    target: str
    runner: Runner
    plan: SetupPlan
    preview: PlanPreview
    result: ApplyResult | None = None


@dataclass
class UndoTarget:
    target: str
    runner: Runner
    name: str
    entries: list[dict[str, Any]] = field(default_factory=list)
    result: ApplyResult | None = None


def close_all(items: list[Any]) -> None:
    for item in items:
        close = getattr(item.runner, "close", None)
        if close is not None:
            with suppress(Exception):
                close()


def _each(targets: list[str], connect: Connector,
          build: Callable[[str, Runner], Any]) -> list[Any]:
    done: list[Any] = []
    for target in targets:
        runner = connect(target)
        try:
            done.append(build(target, runner))
        except Exception:
            close_all([*done, _Holder(runner)])
            raise
    return done


@dataclass
class _Holder:
    runner: Runner


def prepare_realservers(targets: list[str], spec: realserver_mod.RealServerSpec,
                        connect: Connector) -> list[HostPlan]:
    def build(target: str, runner: Runner) -> HostPlan:
        how = spec.persistence if spec.persistence != "auto" else realserver_mod.detect_persistence(runner)
        plan = realserver_mod.realserver_plan(spec, how)
        return HostPlan(target, runner, plan, plan.preview(runner))
    return _each(targets, connect, build)


def prepare_directors(spec: director_mod.DirectorSpec, connect: Connector) -> list[HostPlan]:
    by_host = {d.host: d for d in spec.directors}

    def build(target: str, runner: Runner) -> HostPlan:
        facts = director_mod.probe_director_host(runner)
        plan = director_mod.director_plan(spec, by_host[target], facts)
        return HostPlan(target, runner, plan, plan.preview(runner))
    # the MASTER first: it takes the VIP, then the BACKUP joins
    order = sorted(spec.directors, key=lambda d: d.state != "MASTER")
    return _each([d.host for d in order], connect, build)


def prepare_undo(targets: list[str], name: str, connect: Connector) -> list[UndoTarget]:
    def build(target: str, runner: Runner) -> UndoTarget:
        return UndoTarget(target, runner, name, read_journal(runner, name))
    return _each(targets, connect, build)


def _record(journal: Journal, actor: str, verb: str, result: ApplyResult) -> None:
    failure = result.failure
    journal.record(actor=actor, verb=verb, host=result.host, result="applied" if result.ok else "failed",
                   changed=result.changed, rolled_back=result.rolled_back,
                   message=f"{failure.title}: {failure.message}" if failure is not None else "")


def check_allowed(verb: str, hosts: list[str], *, actor: str = "cli", policy: WritePolicy | None = None,
                  journal: Journal | None = None) -> None:
    """Refuse (:class:`lvstui.ops.policy.ReadOnly`, journaled) a wizard's apply or undo when read-only."""
    (policy or current()).check(verb, actor=actor, journal=journal, hosts=hosts)


def apply_all(items: list[HostPlan], progress: Progress | None = None, *, actor: str = "cli",
              policy: WritePolicy | None = None, journal: Journal | None = None) -> bool:
    """Apply host after host; stop after the first host that fails (its run is rolled back).

    Refused before anything is applied when the policy is read-only; each host's run is journaled.
    """
    journal = journal or Journal()
    names = sorted({f"setup {item.plan.name}" for item in items}) or ["setup"]
    check_allowed(", ".join(names), [i.target for i in items], actor=actor, policy=policy, journal=journal)
    for item in items:
        try:
            item.result = item.plan.apply(item.runner, progress)
        except RunnerError as exc:
            item.result = ApplyResult(item.runner.host, (StepReport(0, "connection", Status.FAILED, "",
                                                                    str(exc)),))
        _record(journal, actor, f"setup {item.plan.name}", item.result)
        if not item.result.ok:
            return False
    return True


def undo_all(items: list[UndoTarget], progress: Progress | None = None, *, actor: str = "cli",
             policy: WritePolicy | None = None, journal: Journal | None = None) -> bool:
    """Undo host after host what an earlier run changed; refused when read-only; each run journaled."""
    journal = journal or Journal()
    names = sorted({f"setup {item.name} --undo" for item in items}) or ["setup --undo"]
    check_allowed(", ".join(names), [i.target for i in items], actor=actor, policy=policy, journal=journal)
    ok = True
    for item in items:
        item.result = undo_journal(item.runner, item.name, progress)
        _record(journal, actor, f"setup {item.name} --undo", item.result)
        ok = ok and item.result.ok
    return ok


def undo_applied(items: list[HostPlan], progress: Progress | None = None, *, actor: str = "cli",
                 policy: WritePolicy | None = None, journal: Journal | None = None) -> list[ApplyResult]:
    """Undo what this run just changed, host after host (the wizard screen's Undo after Apply).

    Refused when read-only; each host's undo is journaled.  Raises RunnerError as undo_journal does.
    """
    journal = journal or Journal()
    changed = [item for item in items if item.result is not None and item.result.changed]
    names = sorted({f"setup {item.plan.name} --undo" for item in changed}) or ["setup --undo"]
    check_allowed(", ".join(names), [i.target for i in changed], actor=actor, policy=policy, journal=journal)
    results = []
    for item in changed:
        result = undo_journal(item.runner, item.plan.name, progress)
        _record(journal, actor, f"setup {item.plan.name} --undo", result)
        results.append(result)
    return results
