"""Where a plan runs: the :class:`Runner` interface and a shell-based base class.

A runner executes an argv (every word quoted) or a :class:`Script` (shell text
built by lvstui from validated, quoted values only), and reads and writes
files atomically, taking a backup first.  :class:`ShellRunner` implements the
file operations with POSIX shell and coreutils on top of one primitive,
``_exec(shell_text, stdin)``; the SSH runner and the local runner only
provide that primitive.
"""

from __future__ import annotations

import shlex
import subprocess
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from lvstui.safeio import escape_control
from lvstui.setup.validate import abs_path, quote_argv

__all__ = [
    "Command",
    "FileInfo",
    "LocalRunner",
    "RunResult",
    "Runner",
    "RunnerError",
    "Script",
    "ShellRunner",
    "command_text",
]

#: Exit status a read of a missing file returns (chosen to be unlike any tool's).
_ABSENT = 44
ENV = "env LC_ALL=C PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Script(str):
    """Shell text run with ``sh -c``; build it only from quoted, validated values."""


Command = Sequence[str] | Script


class RunnerError(Exception):
    """A host could not be reached or refused us: one line that names the host."""


@dataclass(frozen=True, slots=True)
class RunResult:
    rc: int
    raw_stdout: bytes = b""
    raw_stderr: bytes = b""

    @property
    def ok(self) -> bool:
        return self.rc == 0

    @property
    def stdout(self) -> str:
        return self.raw_stdout.decode("utf-8", "replace")

    @property
    def stderr(self) -> str:
        return self.raw_stderr.decode("utf-8", "replace")

    @property
    def output(self) -> str:
        """stdout and stderr together, for a failure report (control characters escaped: it is shown)."""
        return escape_control((self.stdout + self.stderr).strip())


@dataclass(frozen=True, slots=True)
class FileInfo:
    content: bytes
    mode: int
    owner: str
    group: str


class Runner(Protocol):
    host: str

    def run(self, command: Command, *, stdin: bytes = b"", timeout: float | None = None) -> RunResult: ...

    def read_file(self, path: str) -> FileInfo | None: ...

    def write_file(self, path: str, content: bytes, *, mode: int = 0o644, owner: str = "root",
                   group: str = "root", backup_to: str | None = None) -> None: ...

    def restore_file(self, path: str, backup: str | None) -> None: ...


def command_text(command: Command) -> str:
    """The exact shell text that runs *command* (also what previews show)."""
    if isinstance(command, Script):
        return "sh -c " + shlex.quote(str(command))
    return quote_argv(command)


class ShellRunner(ABC):
    """File operations in POSIX shell over one ``_exec`` primitive."""

    host: str = "localhost"

    @abstractmethod
    def _exec(self, shell_text: str, stdin: bytes, timeout: float | None) -> RunResult:
        """Run *shell_text* (one command line) with root privileges on the host."""

    def run(self, command: Command, *, stdin: bytes = b"", timeout: float | None = None) -> RunResult:
        return self._exec(f"{ENV} {command_text(command)}", stdin, timeout)

    def read_file(self, path: str) -> FileInfo | None:
        p = shlex.quote(abs_path(path))
        result = self.run(Script(f"[ -e {p} ] || exit {_ABSENT}; stat -c '%a %U %G' -- {p} && cat -- {p}"))
        if result.rc == _ABSENT:
            return None
        if not result.ok:
            raise RunnerError(f"{self.host}: cannot read {path}: {result.output or f'exit {result.rc}'}")
        head, _, content = result.raw_stdout.partition(b"\n")
        mode, owner, group = head.decode().split()
        return FileInfo(content, int(mode, 8), owner, group)

    def write_file(self, path: str, content: bytes, *, mode: int = 0o644, owner: str = "root",
                   group: str = "root", backup_to: str | None = None) -> None:
        p = shlex.quote(abs_path(path))
        b = shlex.quote(abs_path(backup_to)) if backup_to else "''"
        script = (
            f"set -e; p={p}; b={b}; mkdir -p -- \"$(dirname -- \"$p\")\"; "
            "t=$(mktemp -- \"$p.lvstui-XXXXXX\"); trap 'rm -f -- \"$t\"' EXIT; "
            f"cat > \"$t\"; chmod {mode:o} -- \"$t\"; "
            f"chown {shlex.quote(owner)}:{shlex.quote(group)} -- \"$t\"; "
            "if [ -n \"$b\" ] && [ -e \"$p\" ]; then mkdir -p -- \"$(dirname -- \"$b\")\"; "
            "cp -a -- \"$p\" \"$b\"; fi; mv -f -- \"$t\" \"$p\"; trap - EXIT"
        )
        result = self.run(Script(script), stdin=content)
        if not result.ok:
            raise RunnerError(f"{self.host}: cannot write {path}: {result.output or f'exit {result.rc}'}")

    def restore_file(self, path: str, backup: str | None) -> None:
        p = shlex.quote(abs_path(path))
        if backup is None:
            script = f"rm -f -- {p}"
        else:
            b = shlex.quote(abs_path(backup))
            script = f"set -e; cp -a -- {b} {p}.lvstui-restore; mv -f -- {p}.lvstui-restore {p}"
        result = self.run(Script(script))
        if not result.ok:
            raise RunnerError(f"{self.host}: cannot restore {path}: {result.output or f'exit {result.rc}'}")


class LocalRunner(ShellRunner):
    """Runs on this machine as the current user (tests on temporary files, lab guests)."""

    def __init__(self, host: str = "localhost") -> None:
        self.host = host

    def _exec(self, shell_text: str, stdin: bytes, timeout: float | None) -> RunResult:
        try:
            done = subprocess.run(["sh", "-c", shell_text], input=stdin, capture_output=True,
                                  timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return RunResult(124, b"", f"timed out after {timeout} s".encode())
        return RunResult(done.returncode, done.stdout, done.stderr)
