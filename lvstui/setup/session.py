"""The wizards' flow shared by the CLI and the TUI: connect, build, preview, apply.

Nothing here prompts: questions (accept a host key?) are callbacks, and the
connection is made by a *connect* function (``ssh_connector`` for real hosts)
so the same flow runs over any :class:`~lvstui.setup.runner.Runner`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from lvstui.setup import director as director_mod
from lvstui.setup import realserver as realserver_mod
from lvstui.setup.plan import ApplyResult, Plan, PlanPreview, Progress, read_journal, undo_journal
from lvstui.setup.runner import Runner, RunnerError

__all__ = ["HostPlan", "Connector", "ssh_connector", "prepare_realservers", "prepare_directors",
           "prepare_undo", "apply_all", "undo_all", "close_all", "UndoTarget"]

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
    plan: Plan
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


def apply_all(items: list[HostPlan], progress: Progress | None = None) -> bool:
    """Apply host after host; stop after the first host that fails (its run is rolled back)."""
    for item in items:
        try:
            item.result = item.plan.apply(item.runner, progress)
        except RunnerError as exc:
            from lvstui.setup.plan import Status, StepReport
            item.result = ApplyResult(item.runner.host, (StepReport(0, "connection", Status.FAILED, "",
                                                                    str(exc)),))
        if not item.result.ok:
            return False
    return True


def undo_all(items: list[UndoTarget], progress: Progress | None = None) -> bool:
    ok = True
    for item in items:
        item.result = undo_journal(item.runner, item.name, progress)
        ok = ok and item.result.ok
    return ok
