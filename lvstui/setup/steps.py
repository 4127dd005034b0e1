"""Setup plan steps: a command, a sysctl, an address, a file, a verification.

Each step can *probe* the host read-only (is its effect already there? for a
file, the diff against what the host has) and *apply* itself, returning the
undo actions (plain data, kept in the host's journal by lvstui.setup.plan).
"""

from __future__ import annotations

import difflib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from lvstui.setup.runner import Command, Runner, RunResult, Script, command_text
from lvstui.setup.validate import ValidationError, abs_path

__all__ = [
    "STATE_DIR",
    "AddressStep",
    "ApplyContext",
    "CommandStep",
    "FileStep",
    "SetupStep",
    "Status",
    "StepFailed",
    "StepProbe",
    "SysctlStep",
    "VerifyStep",
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
class StepProbe:
    needed: bool
    diff: str = ""
    detail: str = ""


class SetupStep:
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

    def probe(self, runner: Runner) -> StepProbe:
        raise NotImplementedError

    def _apply(self, runner: Runner, ctx: ApplyContext) -> list[dict[str, Any]]:
        """Change the host; return the undo actions; raise StepFailed."""
        raise NotImplementedError

    def forced_by(self) -> tuple[str, ...]:
        return ()


def _must(result: RunResult, what: str) -> RunResult:
    if not result.ok:
        raise StepFailed(f"{what} failed (exit {result.rc})", result.output)
    return result


@dataclass
class CommandStep(SetupStep):
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

    def probe(self, runner: Runner) -> StepProbe:
        if self.check is None:
            return StepProbe(True)
        return StepProbe(not runner.run(self.check).ok)

    def _apply(self, runner: Runner, ctx: ApplyContext) -> list[dict[str, Any]]:
        result = _must(runner.run(self.command, timeout=self.timeout), self.title)
        ctx.output = result.output
        return [_run_action(c) for c in self.undo]


def _run_action(command: Command) -> dict[str, Any]:
    if isinstance(command, Script):
        return {"op": "script", "text": str(command)}
    return {"op": "run", "argv": list(command)}


@dataclass
class SysctlStep(SetupStep):
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

    def probe(self, runner: Runner) -> StepProbe:
        current = self._current(runner)
        return StepProbe(current != self.value, detail=f"now {current}")

    def _apply(self, runner: Runner, ctx: ApplyContext) -> list[dict[str, Any]]:
        old = self._current(runner)
        _must(runner.run(["sysctl", "-w", f"{self.name}={self.value}"]), self.title)
        return [_run_action(["sysctl", "-w", f"{self.name}={old}"])]


@dataclass
class AddressStep(SetupStep):
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

    def probe(self, runner: Runner) -> StepProbe:
        return StepProbe(not self.present(runner))

    def _apply(self, runner: Runner, ctx: ApplyContext) -> list[dict[str, Any]]:
        _must(runner.run(["ip", "addr", "add", self.cidr, "dev", self.ifname]), self.title)
        return [_run_action(["ip", "addr", "del", self.cidr, "dev", self.ifname])]


def _lines(text: str) -> list[str]:
    """Lines as the host's tools read them: ended by a newline only (str.splitlines would also
    break at CR, FF, VT or U+2028, showing one line of a file as two)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


@dataclass
class FileStep(SetupStep):
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
        old = [] if current is None else _lines(current)
        lines = difflib.unified_diff(old, _lines(self.content),
                                     fromfile=self.path if current is not None else "/dev/null",
                                     tofile=self.path)
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)

    def probe(self, runner: Runner) -> StepProbe:
        info = runner.read_file(self.path)
        if info is None:
            return StepProbe(True, self.diff(None), "new file")
        text = info.content.decode("utf-8", "replace")
        same = (text == self.content and info.mode == self.mode
                and (info.owner, info.group) == (self.owner, self.group))
        detail = "" if info.mode == self.mode else f"mode {info.mode:o} -> {self.mode:o}"
        return StepProbe(not same, self.diff(text), detail)

    def commands(self) -> list[str]:
        if not self.validate:
            return []
        return [command_text([w.replace("{}", self.path + ".lvstui-check") for w in self.validate])]

    def _apply(self, runner: Runner, ctx: ApplyContext) -> list[dict[str, Any]]:
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
class VerifyStep(SetupStep):
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

    def probe(self, runner: Runner) -> StepProbe:
        return StepProbe(False)

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
class ApplyContext:
    plan: str
    stamp: str
    state_dir: str = STATE_DIR
    changed: set[str] = field(default_factory=set)
    output: str = ""

    def backup_path(self, path: str) -> str:
        return f"{self.state_dir}/backup/{self.plan}/{self.stamp}{path}"
