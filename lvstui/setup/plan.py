"""Plans: ordered steps shown in full, applied one by one, verified and undoable.

A :class:`Plan` is built (without I/O) from validated values; it is then
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

import difflib
import json
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from lvstui.setup.runner import Command, Runner, RunnerError, RunResult, Script, command_text
from lvstui.setup.validate import ValidationError, abs_path

__all__ = [
    "Status", "Step", "CommandStep", "SysctlStep", "AddressStep", "FileStep", "VerifyStep",
    "Plan", "StepPreview", "PlanPreview", "StepReport", "ApplyResult", "StepEvent",
    "undo_journal", "read_journal", "STATE_DIR",
]

STATE_DIR = "/var/lib/lvstui"
_SYSCTL_KEY = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_@-]+)+$")


class Status(str, Enum):
    CHANGE = "change"          # preview: would change the host
    NO_CHANGE = "no change"    # already as wanted
    VERIFY = "verify"          # preview of a verification
    CHANGED = "changed"        # applied
    VERIFIED = "verified"
    FAILED = "failed"
    UNDONE = "undone"
    SKIPPED = "skipped"        # not run because an earlier step failed


class StepFailed(Exception):
    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True, slots=True)
class Probe:
    needed: bool
    diff: str = ""
    detail: str = ""


class Step:
    """One step.  Subclasses implement ``probe`` (read-only) and ``_apply``.

    When *check_after* is set, the probe runs again after ``_apply``: a step whose
    effect is still missing has failed even if its command said otherwise.
    """

    kind = "command"
    check_after = False
    title: str
    key: str

    def commands(self) -> list[str]:
        """The shell text this step would run, for the preview."""
        return []

    def probe(self, runner: Runner) -> Probe:
        raise NotImplementedError

    def _apply(self, runner: Runner, ctx: _ApplyContext) -> list[dict[str, Any]]:
        """Change the host; return the undo actions; raise StepFailed."""
        raise NotImplementedError

    def forced_by(self) -> tuple[str, ...]:
        return ()


def _must(result: RunResult, what: str) -> RunResult:
    if not result.ok:
        raise StepFailed(f"{what} failed (exit {result.rc})", result.output)
    return result


@dataclass
class CommandStep(Step):
    """Run *command* unless *check* succeeds (rc 0 means "already done").

    *undo* commands run (in order) when the step is undone; *also_after*
    names steps whose change forces this one even when *check* succeeds
    (a reload after a new config file).
    """

    title: str
    command: Command
    check: Command | None = None
    undo: Sequence[Command] = ()
    key: str = ""
    also_after: tuple[str, ...] = ()
    timeout: float = 120.0

    def commands(self) -> list[str]:
        return [command_text(self.command)]

    def forced_by(self) -> tuple[str, ...]:
        return self.also_after

    def probe(self, runner: Runner) -> Probe:
        if self.check is None:
            return Probe(True)
        return Probe(not runner.run(self.check).ok)

    def _apply(self, runner: Runner, ctx: _ApplyContext) -> list[dict[str, Any]]:
        result = _must(runner.run(self.command, timeout=self.timeout), self.title)
        ctx.output = result.output
        return [_run_action(c) for c in self.undo]


def _run_action(command: Command) -> dict[str, Any]:
    if isinstance(command, Script):
        return {"op": "script", "text": str(command)}
    return {"op": "run", "argv": list(command)}


@dataclass
class SysctlStep(Step):
    """Set a sysctl live; undo puts back the value it had."""

    name: str
    value: str
    title: str = ""
    key: str = ""
    check_after = True

    def __post_init__(self) -> None:
        if not _SYSCTL_KEY.match(self.name) or not re.fullmatch(r"-?[0-9]{1,10}", self.value):
            raise ValidationError(f"sysctl: refusing {self.name}={self.value}")
        self.title = self.title or f"sysctl {self.name}={self.value}"

    def _path(self) -> str:
        return "/proc/sys/" + self.name.replace(".", "/")

    def commands(self) -> list[str]:
        return [command_text(["sysctl", "-w", f"{self.name}={self.value}"])]

    def _current(self, runner: Runner) -> str:
        result = _must(runner.run(["cat", self._path()]), f"reading {self.name}")
        return result.stdout.strip()

    def probe(self, runner: Runner) -> Probe:
        current = self._current(runner)
        return Probe(current != self.value, detail=f"now {current}")

    def _apply(self, runner: Runner, ctx: _ApplyContext) -> list[dict[str, Any]]:
        old = self._current(runner)
        _must(runner.run(["sysctl", "-w", f"{self.name}={self.value}"]), self.title)
        return [_run_action(["sysctl", "-w", f"{self.name}={old}"])]


@dataclass
class AddressStep(Step):
    """An address on an interface (``ip addr add``); undo removes it."""

    cidr: str
    ifname: str
    title: str = ""
    key: str = ""
    check_after = True

    def __post_init__(self) -> None:
        self.title = self.title or f"add {self.cidr} to {self.ifname}"

    def commands(self) -> list[str]:
        return [command_text(["ip", "addr", "add", self.cidr, "dev", self.ifname])]

    def present(self, runner: Runner) -> bool:
        result = _must(runner.run(["ip", "-o", "addr", "show", "dev", self.ifname]), f"listing {self.ifname}")
        return any(f" {self.cidr} " in f" {line} " for line in result.stdout.splitlines())

    def probe(self, runner: Runner) -> Probe:
        return Probe(not self.present(runner))

    def _apply(self, runner: Runner, ctx: _ApplyContext) -> list[dict[str, Any]]:
        _must(runner.run(["ip", "addr", "add", self.cidr, "dev", self.ifname]), self.title)
        return [_run_action(["ip", "addr", "del", self.cidr, "dev", self.ifname])]


@dataclass
class FileStep(Step):
    """A file with this content, mode and owner; backed up on the host before writing.

    *validate* is an argv with ``{}`` for a temporary copy of the new content
    (``keepalived -t -f {}``): it must succeed before the file is replaced.
    """

    path: str
    content: str
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    validate: tuple[str, ...] = ()
    title: str = ""
    key: str = ""
    after_undo: tuple[Command, ...] = ()
    kind = "file"
    check_after = True

    def __post_init__(self) -> None:
        self.path = abs_path(self.path)
        self.title = self.title or f"write {self.path}"

    def diff(self, current: str | None) -> str:
        old = [] if current is None else current.splitlines(keepends=True)
        lines = difflib.unified_diff(old, self.content.splitlines(keepends=True),
                                     fromfile=self.path if current is not None else "/dev/null",
                                     tofile=self.path)
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def probe(self, runner: Runner) -> Probe:
        info = runner.read_file(self.path)
        if info is None:
            return Probe(True, self.diff(None), "new file")
        text = info.content.decode("utf-8", "replace")
        same = (text == self.content and info.mode == self.mode
                and (info.owner, info.group) == (self.owner, self.group))
        detail = "" if info.mode == self.mode else f"mode {info.mode:o} -> {self.mode:o}"
        return Probe(not same, self.diff(text), detail)

    def commands(self) -> list[str]:
        if not self.validate:
            return []
        return [command_text([w.replace("{}", self.path + ".lvstui-check") for w in self.validate])]

    def _apply(self, runner: Runner, ctx: _ApplyContext) -> list[dict[str, Any]]:
        data = self.content.encode()
        if self.validate:
            check_path = self.path + ".lvstui-check"
            runner.write_file(check_path, data, mode=0o600)
            try:
                result = runner.run([w.replace("{}", check_path) for w in self.validate])
            finally:
                runner.restore_file(check_path, None)
            _must(result, f"checking the new {self.path}")
        existed = runner.read_file(self.path) is not None
        backup = ctx.backup_path(self.path) if existed else None
        runner.write_file(self.path, data, mode=self.mode, owner=self.owner, group=self.group,
                          backup_to=backup)
        return [{"op": "restore", "path": self.path, "backup": backup}, *map(_run_action, self.after_undo)]


@dataclass
class VerifyStep(Step):
    """A check after the changes: *expect* returns None when fine, else why not.

    Retried *attempts* times, *delay* seconds apart (a service may need a moment).
    """

    title: str
    command: Command
    expect: Callable[[RunResult], str | None] = lambda r: None if r.ok else f"exit {r.rc}"
    attempts: int = 1
    delay: float = 1.0
    key: str = ""
    kind = "verify"

    def commands(self) -> list[str]:
        return [command_text(self.command)]

    def probe(self, runner: Runner) -> Probe:
        return Probe(False)

    def check(self, runner: Runner) -> tuple[str | None, str]:
        problem: str | None = "not run"
        output = ""
        for attempt in range(max(1, self.attempts)):
            if attempt:
                time.sleep(self.delay)
            result = runner.run(self.command)
            output = result.output
            problem = self.expect(result)
            if problem is None:
                break
        return problem, output


@dataclass
class _ApplyContext:
    plan: str
    stamp: str
    state_dir: str = STATE_DIR
    changed: set[str] = field(default_factory=set)
    output: str = ""

    def backup_path(self, path: str) -> str:
        return f"{self.state_dir}/backup/{self.plan}/{self.stamp}{path}"


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
    return reports


def undo_journal(runner: Runner, name: str, progress: Progress | None = None,
                 state_dir: str = STATE_DIR) -> ApplyResult:
    """Undo everything plan *name* changed on this host (as recorded in its journal)."""
    entries = read_journal(runner, name, state_dir)
    reports = _run_undo(runner, entries, list(entries), progress, name, state_dir)
    return ApplyResult(runner.host, tuple(reports))


@dataclass
class Plan:
    """An ordered list of steps for one host; *name* keys its journal and backups."""

    name: str
    steps: list[Step]
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
        ctx = _ApplyContext(self.name, stamp, abs_path(self.state_dir))
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

    def _apply_one(self, runner: Runner, step: Step, n: int, ctx: _ApplyContext,
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

