"""Results and errors of the lab, and the check that the lab can run on this machine."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

UML_BINARY = "linux.uml"
UML_MODULES = "/usr/lib/uml/modules"
SETUP_HINT = "run scripts/setup.sh (it installs the Debian package {package})"


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


_TOOLS = (
    ("User-Mode Linux", UML_BINARY, "user-mode-linux"),
    ("ipvsadm", "ipvsadm", "ipvsadm"),
    ("keepalived", "keepalived", "keepalived"),
    ("nsenter", "nsenter", "util-linux"),
    ("ip", "ip", "iproute2"),
    ("modprobe", "modprobe", "kmod"),
)


def require_uml() -> str:
    """Returns the path of linux.uml, or raises LabUnavailable saying what to install."""
    found = ""
    for label, binary, package in _TOOLS:
        path = shutil.which(binary) or shutil.which(binary, path="/usr/local/sbin:/usr/sbin:/sbin")
        if path is None:
            raise LabUnavailable(f"{label} is not installed: {SETUP_HINT.format(package=package)}")
        if binary == UML_BINARY:
            found = path
            if not os.path.isdir(UML_MODULES):
                raise LabUnavailable(
                    f"User-Mode Linux's modules ({UML_MODULES}) are missing: "
                    + SETUP_HINT.format(package=package)
                )
    return found
