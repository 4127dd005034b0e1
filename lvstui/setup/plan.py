"""Plans: ordered steps shown in full, applied one by one, verified and undoable.

A :class:`SetupPlan` is built (without I/O) from validated values; it is then
*previewed* against a host (read-only probes: which steps would change
something, and file diffs), *applied* step by step with a progress callback,
stopping at the first failure, and rolled back or undone later.

What each applied step did is recorded on the host in a journal
(``/var/lib/lvstui/<plan>.journal.json``) as undo actions (restore a file
from its backup or remove it, run a command), written after every step, so
that ``undo`` works in a later session too.  A step whose effect is already
present reports "no change", is not re-applied and adds nothing to undo.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lvstui.setup.runner import Runner, RunnerError, RunResult, Script
from lvstui.setup.steps import (
    STATE_DIR,
    AddressStep,
    ApplyContext,
    CommandStep,
    FileStep,
    SetupStep,
    Status,
    StepFailed,
    StepProbe,
    SysctlStep,
    VerifyStep,
)
from lvstui.setup.validate import ValidationError, abs_path

__all__ = [
    "STATE_DIR",
    "AddressStep",
    "ApplyResult",
    "CommandStep",
    "FileStep",
    "PlanPreview",
    "Progress",
    "SetupPlan",
    "SetupStep",
    "Status",
    "StepEvent",
    "StepFailed",
    "StepPreview",
    "StepProbe",
    "StepReport",
    "SysctlStep",
    "VerifyStep",
    "read_journal",
    "undo_journal",
]

@dataclass(frozen=True, slots=True)
class StepPreview:
    index: int
    title: str
    kind: str
    status: Status
    commands: tuple[str, ...] = ()
    diff: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PlanPreview:
    host: str
    name: str
    steps: tuple[StepPreview, ...]

    @property
    def changes(self) -> int:
        return sum(1 for s in self.steps if s.status is Status.CHANGE)


@dataclass(frozen=True, slots=True)
class StepReport:
    index: int
    title: str
    status: Status
    output: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class StepEvent:
    """Progress: *status* is None when the step starts."""

    host: str
    index: int
    total: int
    title: str
    status: Status | None
    message: str = ""


@dataclass(frozen=True, slots=True)
class ApplyResult:
    host: str
    reports: tuple[StepReport, ...]
    rolled_back: bool = False
    verify_failed: bool = False

    @property
    def ok(self) -> bool:
        return all(r.status is not Status.FAILED for r in self.reports)

    @property
    def failure(self) -> StepReport | None:
        return next((r for r in self.reports if r.status is Status.FAILED), None)

    @property
    def changed(self) -> int:
        return sum(1 for r in self.reports if r.status is Status.CHANGED)


Progress = Callable[[StepEvent], None]


def _failed_index(reports: list[StepReport]) -> int:
    return next(r.index for r in reports if r.status is Status.FAILED)


def _journal_path(name: str, state_dir: str) -> str:
    return f"{state_dir}/{name}.journal.json"


def read_journal(runner: Runner, name: str, state_dir: str = STATE_DIR) -> list[dict[str, Any]]:
    path = _journal_path(name, state_dir)
    info = runner.read_file(path)
    if info is None:
        return []
    try:
        entries = json.loads(info.content)
    except ValueError:
        raise RunnerError(f"{runner.host}: {path} is not lvstui's journal") from None
    return list(entries)


def _write_journal(runner: Runner, name: str, entries: list[dict[str, Any]], state_dir: str) -> None:
    path = _journal_path(name, state_dir)
    if entries:
        runner.write_file(path, json.dumps(entries, indent=1).encode(), mode=0o600)
    else:
        runner.restore_file(path, None)


def _undo_action(runner: Runner, action: dict[str, Any]) -> RunResult | None:
    op = action.get("op")
    if op == "restore":
        runner.restore_file(str(action["path"]), action.get("backup"))
        return None
    if op == "run":
        return runner.run([str(w) for w in action["argv"]])
    if op == "script":
        return runner.run(Script(str(action["text"])))
    raise RunnerError(f"{runner.host}: unknown undo action {op!r} in the journal")


def _run_undo(runner: Runner, entries: list[dict[str, Any]], journal: list[dict[str, Any]],
              progress: Progress | None, name: str, state_dir: str) -> list[StepReport]:
    """Undo *entries* newest first; *journal* keeps what could not be undone."""
    reports: list[StepReport] = []
    remaining = journal
    total = len(entries)
    for n, entry in enumerate(reversed(entries)):
        title = str(entry.get("title", "?"))
        if progress:
            progress(StepEvent(runner.host, n, total, title, None))
        problems = []
        for action in entry.get("undo", []):
            try:
                result = _undo_action(runner, action)
            except RunnerError as exc:
                problems.append(str(exc))
                continue
            if result is not None and not result.ok:
                problems.append(result.output or f"exit {result.rc}")
        status = Status.FAILED if problems else Status.UNDONE
        reports.append(StepReport(n, title, status, "\n".join(problems)))
        if progress:
            progress(StepEvent(runner.host, n, total, title, status, "; ".join(problems)))
        if not problems:
            remaining[:] = [e for e in remaining if e is not entry]
    _write_journal(runner, name, remaining, state_dir)
    if not remaining:
        _remove_leftovers(runner, name, state_dir)
    return reports


def _remove_leftovers(runner: Runner, name: str, state_dir: str) -> None:
    """Everything undone: this plan's backups go, and the state directories if nothing else
    (another plan's journal or backups) is left in them."""
    base = shlex.quote(state_dir)
    # only rm's failure counts: rmdir fails, as it should, where something else is left
    script = (f"rm -rf -- {base}/backup/{shlex.quote(name)} && "
              f"{{ rmdir -- {base}/backup 2>/dev/null; rmdir -- {base} 2>/dev/null; true; }}")
    result = runner.run(Script(script))
    if not result.ok:
        raise RunnerError(f"{runner.host}: cannot remove the backups in {state_dir}: {result.output}")


def undo_journal(runner: Runner, name: str, progress: Progress | None = None,
                 state_dir: str = STATE_DIR) -> ApplyResult:
    """Undo everything plan *name* changed on this host (as recorded in its journal)."""
    entries = read_journal(runner, name, state_dir)
    reports = _run_undo(runner, entries, list(entries), progress, name, state_dir)
    return ApplyResult(runner.host, tuple(reports))


@dataclass
class SetupPlan:
    """An ordered list of steps for one host; *name* keys its journal and backups."""

    name: str
    steps: list[SetupStep]
    description: str = ""
    state_dir: str = STATE_DIR

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", self.name):
            raise ValidationError(f"plan name {self.name!r}")
        for n, step in enumerate(self.steps):
            step.key = step.key or f"step{n}"

    def preview(self, runner: Runner) -> PlanPreview:
        """What would happen on this host (read-only)."""
        out = []
        forced: set[str] = set()
        for n, step in enumerate(self.steps):
            if isinstance(step, VerifyStep):
                out.append(StepPreview(n, step.title, step.kind, Status.VERIFY, tuple(step.commands())))
                continue
            probe = step.probe(runner)
            needed = probe.needed or any(k in forced for k in step.forced_by())
            if needed:
                forced.add(step.key)
            out.append(StepPreview(n, step.title, step.kind, Status.CHANGE if needed else Status.NO_CHANGE,
                                   tuple(step.commands()) if needed else (), probe.diff if needed else "",
                                   probe.detail))
        return PlanPreview(runner.host, self.name, tuple(out))

    def apply(self, runner: Runner, progress: Progress | None = None, *,
              rollback: bool = True) -> ApplyResult:
        """Apply step by step; stop at the first failure and (by default) undo this run's changes."""
        stamp = time.strftime("%Y%m%dT%H%M%S") + f".{time.time_ns() % 1_000_000_000:09d}"
        ctx = ApplyContext(self.name, stamp, abs_path(self.state_dir))
        journal = read_journal(runner, self.name, self.state_dir)
        this_run: list[dict[str, Any]] = []
        reports: list[StepReport] = []
        total = len(self.steps)
        failed = False
        for n, step in enumerate(self.steps):
            if failed:
                reports.append(StepReport(n, step.title, Status.SKIPPED))
                continue
            if progress:
                progress(StepEvent(runner.host, n, total, step.title, None))
            report = self._apply_one(runner, step, n, ctx, journal, this_run)
            reports.append(report)
            failed = report.status is Status.FAILED
            if progress:
                progress(StepEvent(runner.host, n, total, step.title, report.status, report.message))
        rolled_back = False
        # a change that failed is rolled back; a failed verification keeps the changes
        # (they were made; what is wrong may lie elsewhere, e.g. a service not started yet)
        change_failed = failed and not isinstance(self.steps[_failed_index(reports)], VerifyStep)
        if change_failed and rollback and this_run:
            undo_reports = _run_undo(runner, this_run, journal, progress, self.name, self.state_dir)
            rolled_back = all(r.status is Status.UNDONE for r in undo_reports)
            reports.extend(StepReport(total + r.index, r.title, r.status, r.output) for r in undo_reports)
        return ApplyResult(runner.host, tuple(reports), rolled_back, failed and not change_failed)

    def _apply_one(self, runner: Runner, step: SetupStep, n: int, ctx: ApplyContext,
                   journal: list[dict[str, Any]], this_run: list[dict[str, Any]]) -> StepReport:
        try:
            if isinstance(step, VerifyStep):
                problem, output = step.check(runner)
                if problem is not None:
                    return StepReport(n, step.title, Status.FAILED, output, problem)
                return StepReport(n, step.title, Status.VERIFIED, output)
            needed = step.probe(runner).needed or any(k in ctx.changed for k in step.forced_by())
            if not needed:
                return StepReport(n, step.title, Status.NO_CHANGE)
            ctx.output = ""
            undo = step._apply(runner, ctx)
        except StepFailed as exc:
            return StepReport(n, step.title, Status.FAILED, exc.output, str(exc))
        except RunnerError as exc:
            return StepReport(n, step.title, Status.FAILED, "", str(exc))
        ctx.changed.add(step.key)
        if undo:
            entry = {"title": step.title, "undo": undo}
            journal.append(entry)
            this_run.append(entry)
            _write_journal(runner, self.name, journal, self.state_dir)
        if step.check_after:
            try:
                still = step.probe(runner)
            except (StepFailed, RunnerError) as exc:
                return StepReport(n, step.title, Status.FAILED, getattr(exc, "output", ""), str(exc))
            if still.needed:
                return StepReport(n, step.title, Status.FAILED, ctx.output,
                                  "applied, but the host does not show the change")
        return StepReport(n, step.title, Status.CHANGED, ctx.output)

