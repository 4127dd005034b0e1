"""Errors raised by the keepalived configuration code.  Each names a file and a line."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["ConfigChangedError", "EditError", "KeepalivedConfigError", "location", "shown"]

# C0 and C1 controls, DEL, and the surrogates that stand for bytes that are not UTF-8
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


def _escape(m: re.Match[str]) -> str:
    c = m.group()
    code = ord(c) - 0xDC00 if 0xDC80 <= ord(c) <= 0xDCFF else ord(c)
    return f"\\x{code:02x}"


def shown(text: str) -> str:
    """``text`` safe to print on a terminal and on one line: controls and undecodable bytes as ``\\xNN``.

    A configuration is operator-supplied or, for the running keepalived's, possibly planted:
    an escape sequence in a name must not clear the screen or hide the lines around it.
    """
    return _UNSAFE.sub(_escape, text)


def location(path: str | Path | None, line: int | None) -> str:
    """``keepalived.conf:42`` (base name only: messages stay one short line)."""
    name = shown(Path(path).name) if path else "<config>"
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
        message = shown(message)
        super().__init__(f"{prefix}: {message}" if path or line else message)


class ConfigChangedError(KeepalivedConfigError):
    """The file changed on disk since lvstui read it: refusing to overwrite."""


class EditError(KeepalivedConfigError):
    """An edit that cannot be made (item not found, item built by a $DEFINITION...)."""
