"""Strings from the outside world made safe to draw: text, never markup, never terminal control.

Textual's ``Content(text)`` already keeps ``[bold]`` or ``[2001:db8::1]:80`` as text; what it
cannot keep is a control character (an escape, a carriage return, a bell from a remote host's
output or a keepalived name), which would move the cursor or recolour the terminal.  Those are
shown as ``\\xNN`` escapes, so the operator sees what the string holds.
"""

from __future__ import annotations

import re

__all__ = ["visible"]

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def visible(text: str, *, newlines: bool = False) -> str:
    """``text`` with control characters as ``\\xNN`` (with ``newlines``, line breaks and tabs kept)."""
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE
    return pattern.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
