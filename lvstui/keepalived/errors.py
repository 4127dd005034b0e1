"""Errors raised by the keepalived configuration code.  Each names a file and a line."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ConfigChangedError", "EditError", "KeepalivedConfigError", "location"]


def location(path: str | Path | None, line: int | None) -> str:
    """``keepalived.conf:42`` (base name only: messages stay one short line)."""
    name = Path(path).name if path else "<config>"
    return f"{name}:{line}" if line else name


class KeepalivedConfigError(Exception):
    """A configuration that cannot be parsed or written; nothing was written.

    ``str(exc)`` is one line: ``keepalived.conf:42: unbalanced '}'``.
    """

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None) -> None:
        self.path = Path(path) if path else None
        self.line = line
        self.reason = message
        prefix = location(path, line)
        super().__init__(f"{prefix}: {message}" if path or line else message)


class ConfigChangedError(KeepalivedConfigError):
    """The file changed on disk since lvstui read it: refusing to overwrite."""


class EditError(KeepalivedConfigError):
    """An edit that cannot be made (item not found, item built by a $DEFINITION...)."""
