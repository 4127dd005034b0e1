"""Results and errors of the lab (kernel.require_uml checks that the lab can run here)."""

from __future__ import annotations

from dataclasses import dataclass


class LabError(RuntimeError):
    """A lab command failed, timed out, or the guest is gone."""


class LabUnavailable(LabError):
    """This machine cannot run the lab (User-Mode Linux or a tool is missing)."""


@dataclass(frozen=True)
class CommandResult:
    """What a command in the lab did. ``stdout``/``stderr`` are its exact output as UTF-8."""

    host: str | None
    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def describe(self) -> str:
        where = self.host or "guest root"
        text = f"[{where}] {' '.join(self.argv)} exited with status {self.rc}"
        if self.stdout.strip():
            text += f"\n--- stdout ---\n{self.stdout.rstrip()}"
        if self.stderr.strip():
            text += f"\n--- stderr ---\n{self.stderr.rstrip()}"
        return text

    def check(self) -> CommandResult:
        """Returns self if the command succeeded, else raises LabError with its output."""
        if self.rc != 0:
            raise LabError(self.describe())
        return self
